"""`FollowupRepository`: what followup's use cases read and write inside one unit of work (the door's
`HandlingRepository` among it). Postgres implements it (`postgres.py`), tests/fakes/followup.py in memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from services.followup.model import (
    Callback,
    Caller,
    Contact,
    CorrectiveAction,
    DutyCall,
    Escalation,
    EscalationRecord,
    InvalidComplaint,
    NotificationRecord,
    Receipt,
    Subject,
    Timer,
    TimerPlan,
    TimerState,
    TrackedWorkOrder,
)
from shared.contracts import Event, WorkOrderEvent


class FollowupRepository(Protocol):
    """What followup's handlers read and write inside one transaction."""

    # -- consumed events and published ones
    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Mark the events processed by `consumer` (one statement for the batch); those not marked before (the
        others' effects are skipped)."""
        ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    # -- work orders and cases
    async def track(self, order: TrackedWorkOrder) -> bool:
        """Start tracking a work order (and its case); False when it already was (a redelivered assignment
        changes nothing)."""
        ...

    async def track_all(self, orders: Sequence[TrackedWorkOrder]) -> set[uuid.UUID]:
        """`track` for many at once (a batch's assignments); the ids newly tracked (a work order named twice: its
        first copy)."""
        ...

    async def work_order(self, work_order_id: uuid.UUID) -> TrackedWorkOrder | None: ...

    async def adopt_owner(self, complaint_id: uuid.UUID, owner: str) -> int:
        """The case's owner, on its tracked work orders that have none yet; how many took it."""
        ...

    async def tracked_among(self, work_order_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Those of the work orders followup tracks (their assignment came)."""
        ...

    async def hold_events(self, events: Sequence[WorkOrderEvent], at: datetime) -> None:
        """Keep steps that came before their work order's assignment (once per event id); drop long-held ones."""
        ...

    async def take_held(self, work_order_ids: Sequence[uuid.UUID]) -> list[WorkOrderEvent]:
        """The held steps of these work orders, oldest first, and no longer held."""
        ...

    async def record_step(self, work_order_id: uuid.UUID, status: str, step: str | None, at: datetime) -> None:
        """The work order's new status; `step` (acknowledged, started, resolved) keeps its first time."""
        ...

    async def record_resolution(self, work_order_id: uuid.UUID, resolution: str | None) -> TrackedWorkOrder | None:
        """Keep the resolution for the callback agent; returns the work order (its callback limit, owner and
        ladder), None if untracked."""
        ...

    async def work_order_subject(self, work_order_id: uuid.UUID) -> Subject | None: ...

    async def open_case(self, complaint_id: uuid.UUID, reference_no: str) -> None:
        """The case's row (dissatisfied count, closing) without a work order: settled at first contact."""
        ...

    async def knows_complaint(self, complaint_id: uuid.UUID) -> bool: ...

    async def set_partner_deadline(self, complaint_id: uuid.UUID, reference_no: str, deadline: datetime) -> None:
        """Keep a partner hotline's deadline on the case (the earlier one, when it is sent again)."""
        ...

    async def partner_deadlines(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        """The partner deadlines kept for these cases (those that have one)."""
        ...

    async def hold_to_deadline(self, complaint_id: uuid.UUID, deadline: datetime) -> list[TrackedWorkOrder]:
        """Bring the case's tracked work orders' deadlines (acknowledge, on site, resolve) down to `deadline` where
        they are later; the work orders it changed, as they are now."""
        ...

    async def set_resolve_by(self, work_order_id: uuid.UUID, resolve_by: datetime) -> TrackedWorkOrder | None:
        """A tracked work order's deadline to resolve, as the coordinating centre set it; the work order as it is
        now (None: not tracked here)."""
        ...

    async def severity_and_correlation(self, callback: Callback) -> tuple[str, str]:
        """The severity and correlation id the callback's outcome carries on: the caller's own, when stored
        (a linked caller), else those of the work order it follows."""

    # --- callers of incidents, outage notices, duplicated cases ---

    async def add_incident_work_order(self, work_order_id: uuid.UUID, incident_id: uuid.UUID) -> None: ...

    async def is_incident_work_order(self, work_order_id: uuid.UUID) -> bool: ...

    async def add_caller(self, caller: Caller) -> bool:
        """Record a linked caller (and their case, for the dissatisfied count); False if already recorded."""

    async def caller(self, complaint_id: uuid.UUID) -> Caller | None: ...

    async def update_caller(self, complaint_id: uuid.UUID, **changes: object) -> None: ...

    async def dissatisfied_count(self, complaint_id: uuid.UUID) -> int:
        """How often the customer was dissatisfied so far; locks the case until the transaction ends."""
        ...

    async def set_dissatisfied_count(self, complaint_id: uuid.UUID, count: int) -> None: ...

    async def close_case(self, complaint_id: uuid.UUID, at: datetime, outcome: str) -> None: ...

    async def dissatisfied_subject(self, callback_id: uuid.UUID) -> Subject | None:
        """What the still-dissatisfied timer of this callback needs; `status` is how the case closed ('open'
        while it is not)."""
        ...

    # -- the duty manager, corrective actions, invalid complaints
    async def add_duty_call(self, call: DutyCall) -> bool:
        """Record the duty manager's call; False when the complaint already has one."""
        ...

    async def duty_call_for_update(self, complaint_id: uuid.UUID) -> DutyCall | None: ...

    async def acknowledge_duty_call(
        self, complaint_id: uuid.UUID, at: datetime, by: str, note: str | None, *, name: str | None = None
    ) -> None:
        """Stop the call: when, by whom (staff id or credential name; `name`: a person's display name), and why."""
        ...

    async def duty_call_on_the_way(self, complaint_id: uuid.UUID, at: datetime, by: str, name: str | None) -> None:
        """The duty manager (`by`, signed in) is on the way; the clock runs on until they arrive."""
        ...

    async def duty_calls(self, *, open_only: bool, limit: int) -> list[DutyCall]:
        """The duty manager's calls, newest first; `open_only`: those the duty manager has not arrived at."""
        ...

    async def duty_subject(self, complaint_id: uuid.UUID) -> Subject | None:
        """What the duty manager's timers need, or None once acknowledged."""
        ...

    async def add_corrective_action(self, action: CorrectiveAction) -> bool:
        """Hold a new corrective action to its deadline; False when already held (a redelivery)."""
        ...

    async def complete_corrective_action(self, action_id: uuid.UUID, at: datetime) -> None: ...

    async def action_subject(self, action_id: uuid.UUID) -> Subject | None:
        """What a corrective action's timers need (its work order and owner), or None once done."""
        ...

    async def add_invalid(self, invalid: InvalidComplaint) -> bool:
        """Record a complaint closed as invalid; False when already recorded."""
        ...

    async def invalid_complaint(self, complaint_id: uuid.UUID) -> InvalidComplaint | None: ...

    async def mark_told_invalid(self, complaint_id: uuid.UUID, at: datetime) -> None: ...

    async def know_untold_invalid(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        """Read in one statement which of these complaints hold an invalid notice not told yet, so that this unit of
        work's `drop_untold_invalid` of any other needs no statement (a notice it adds itself counts)."""
        ...

    async def drop_untold_invalid(self, complaint_id: uuid.UUID) -> bool:
        """Forget a complaint's invalid notice not sent yet (it was overturned); False when there is none."""
        ...

    # -- contacts
    async def add_contacts(self, contacts: Sequence[Contact]) -> list[Contact]:
        """Keep each complaint's contact (one each), in one statement: a later one (intake's correction) replaces
        the one kept, an earlier one (redelivered, replayed) changes nothing. Returns those kept now."""
        ...

    async def contact(self, complaint_id: uuid.UUID) -> Contact | None: ...

    async def contacts(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        """The contacts kept of these complaints, by complaint (none for a complaint without one)."""
        ...

    async def purge_contacts(self, complaint_ids: Sequence[uuid.UUID]) -> int:
        """Delete the contacts of these complaints (an erased customer's): how many there were."""
        ...

    # -- timers and escalations
    async def schedule(self, plan: TimerPlan) -> None:
        """Idempotent: the same (subject, kind, stage, level) is scheduled once."""
        ...

    async def schedule_all(self, plans: Sequence[TimerPlan]) -> None:
        """`schedule` for many at once: one statement, and the timer worker woken once per transaction."""
        ...

    async def cancel(self, subject_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int: ...

    async def reschedule(self, plans: Sequence[TimerPlan]) -> None:
        """Move the pending timers these plans name (subject, kind, stage, level) to the plans' times; a timer
        fired or cancelled already stays as it is."""
        ...

    async def cancel_for_complaint(self, complaint_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
        """Cancel the complaint's pending timers of these stages, whatever their subject."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[Timer]:
        """Due timers, locked so other processes skip them until this transaction ends."""
        ...

    async def mark_fired(self, timer_ids: Sequence[int], at: datetime, by: str) -> None: ...

    async def timers_of(self, complaint_id: uuid.UUID) -> list[TimerState]: ...

    async def add_escalation(self, record: EscalationRecord) -> None: ...

    async def escalations_of(self, complaint_id: uuid.UUID) -> list[EscalationRecord]: ...

    # -- escalations' answer step (issue 24)
    async def escalation(self, escalation_id: uuid.UUID, *, lock: bool = False) -> Escalation | None:
        """One escalation and where its answer stands; locked for the transaction when asked."""
        ...

    async def escalations_to(
        self, rungs: Sequence[str] | None, department: str | None, *, status: str | None, limit: int
    ) -> list[Escalation]:
        """Escalations to any of `rungs` or of `department`'s cases (both None: every one), newest first."""
        ...

    async def save_escalation(self, escalation: Escalation) -> None:
        """Store where the answer stands and its (possibly moved) answer deadline."""
        ...

    async def climbed_past(self, record: EscalationRecord) -> bool:
        """Whether a higher rung of the same clock was climbed since."""
        ...

    async def rearm(self, plan: TimerPlan) -> None:
        """The plan's timer due at its time: pending, cancelled or new alike; a fired one stays as it is."""
        ...

    # -- callbacks
    async def add_callback(self, callback: Callback) -> bool:
        """Insert the work order's callback; False when it already has one (a redelivery)."""
        ...

    async def callback_for_update(self, callback_id: uuid.UUID) -> Callback | None: ...

    async def save_callback(self, callback: Callback) -> None:
        """Store what a call changed: status, attempts, next attempt, note, agent, completion."""
        ...

    async def callback_subject(self, callback_id: uuid.UUID) -> Subject | None:
        """What a callback-stage timer needs, or None once the callback is done (nothing to escalate)."""
        ...

    async def worklist(
        self, now: datetime, *, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Callback], int]:
        """Callbacks an agent can make now (due, or retry interval passed), oldest deadline first, optionally only
        those of one owner; and how many."""
        ...

    # -- notifications
    async def add_notifications(self, records: Sequence[NotificationRecord]) -> None:
        """The messages requested, for the audit trail, in one statement."""
        ...

    async def notification(self, notification_id: uuid.UUID) -> NotificationRecord | None: ...

    # -- customers' replies (`complaint.customer_replied`)
    async def case_callback(self, complaint_id: uuid.UUID) -> Callback | None:
        """The case's latest callback after a resolution (not an agent's task), whatever its status."""
        ...

    async def record_survey_score(self, callback_id: uuid.UUID, score: int, at: datetime) -> None:
        """Keep the 1-5 mark the customer answered our survey SMS with on the callback."""
        ...

    async def case_department(self, complaint_id: uuid.UUID) -> str | None:
        """The department holding the case (its lead work order's), None before it is routed."""
        ...

    async def case_owner(self, complaint_id: uuid.UUID) -> str | None:
        """Whose the case is (its work orders' owner), for a task about it; None when nobody's yet."""
        ...

    async def corrective_actions_of(self, complaint_id: uuid.UUID) -> list[CorrectiveAction]:
        """The case's corrective actions held so far, oldest first."""
        ...

    # -- receipts (the reference number, once contact and complaint are both known)
    async def lock_receipts(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        """Serialise receipts per complaint until the transaction ends (contact and complaint arrive on two topics,
        possibly in two processes); always taken in one order, so two batches cannot deadlock."""
        ...

    async def add_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Keep received complaints (one each) for their receipts, in one statement; one kept already (a
        redelivery) stays as it is."""
        ...

    async def claim_receipts(self, complaint_ids: Sequence[uuid.UUID], at: datetime) -> list[Receipt]:
        """Claim for sending (told at `at`), in one statement, the receipts of these complaints kept and not told
        yet: those claimed."""
        ...

    # -- health
    async def due_timers(self) -> int: ...

    async def outbox_pending(self) -> int: ...
