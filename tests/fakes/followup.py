"""An in-memory `FollowupRepository` and the `Transactions` that hand it out, for unit tests of followup's
use cases through the door (`shared.handling`) without a database or a broker.

Like the real unit of work, a transaction works on a copy of the state and replaces the state only when the
door commits: an exception or a missing `commit()` leaves nothing behind. The outbox (`events`), the
processed-event marks and the notification log live in the same state, so a test sees exactly what a commit
would have published.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from services.followup.model import (
    DEPARTMENT_RUNGS,
    Callback,
    Caller,
    Contact,
    CorrectiveAction,
    DutyCall,
    Escalation,
    EscalationAnswer,
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
from services.followup.repository import FollowupRepository
from shared.contracts import Event, WorkOrderEvent
from tests.fakes.transactions import CopyOnCommit


@dataclass
class StoredTimer:
    timer_id: int
    plan: TimerPlan
    fired_at: datetime | None = None
    fired_by: str | None = None
    cancelled_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.fired_at is None and self.cancelled_at is None


@dataclass
class Case:
    complaint_id: uuid.UUID
    reference_no: str
    dissatisfied_count: int = 0
    closed_at: datetime | None = None
    close_outcome: str | None = None


@dataclass
class FollowupState:
    """Followup's tables, in memory."""

    work_orders: dict[uuid.UUID, TrackedWorkOrder] = field(default_factory=dict)
    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    callers: dict[uuid.UUID, Caller] = field(default_factory=dict)
    incident_work_orders: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    contacts: dict[uuid.UUID, Contact] = field(default_factory=dict)
    timers: list[StoredTimer] = field(default_factory=list)
    escalations: list[EscalationRecord] = field(default_factory=list)
    #: Where each escalation's answer stands, by escalation id (none: open).
    escalation_answers: dict[uuid.UUID, EscalationAnswer] = field(default_factory=dict)
    callbacks: dict[uuid.UUID, Callback] = field(default_factory=dict)
    notifications: list[NotificationRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    processed: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    resolutions: dict[uuid.UUID, str | None] = field(default_factory=dict)
    duty_calls: dict[uuid.UUID, DutyCall] = field(default_factory=dict)
    corrective_actions: dict[uuid.UUID, CorrectiveAction] = field(default_factory=dict)
    invalid: dict[uuid.UUID, InvalidComplaint] = field(default_factory=dict)
    receipts: dict[uuid.UUID, Receipt] = field(default_factory=dict)
    #: Partner hotlines' deadlines kept on their cases.
    partner_deadlines: dict[uuid.UUID, datetime] = field(default_factory=dict)
    #: The receipt locks each transaction took, in the order asked (they must be sorted: no deadlock).
    receipt_locks: list[list[uuid.UUID]] = field(default_factory=list)
    #: The complaints each routing batch asked about their untold invalid notices (`know_untold_invalid`).
    untold_asked: list[list[uuid.UUID]] = field(default_factory=list)
    #: `followup.held_work_order_events`: steps that came before their assignment, by event id.
    held: dict[uuid.UUID, WorkOrderEvent] = field(default_factory=dict)

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.events]

    def pending_timers(self, subject_id: uuid.UUID) -> list[TimerPlan]:
        return [t.plan for t in self.timers if t.plan.subject_id == subject_id and t.pending]


class FakeFollowupRepository:
    """`FollowupRepository` over a `FollowupState`; locks are no-ops (one test, one task)."""

    def __init__(self, state: FollowupState) -> None:
        self.state = state

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {i for i in event_ids if (consumer, i) not in self.state.processed}
        self.state.processed.update((consumer, i) for i in fresh)
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.state.events.extend(events)

    async def track(self, order: TrackedWorkOrder) -> bool:
        self.state.cases.setdefault(order.complaint_id, Case(order.complaint_id, order.reference_no))
        if order.work_order_id in self.state.work_orders:
            return False
        self.state.work_orders[order.work_order_id] = order
        return True

    async def track_all(self, orders: Sequence[TrackedWorkOrder]) -> set[uuid.UUID]:
        return {o.work_order_id for o in orders if await self.track(o)}

    async def work_order(self, work_order_id: uuid.UUID) -> TrackedWorkOrder | None:
        return self.state.work_orders.get(work_order_id)

    async def adopt_owner(self, complaint_id: uuid.UUID, owner: str) -> int:
        unowned = [o for o in self.state.work_orders.values() if o.complaint_id == complaint_id and o.owner is None]
        for order in unowned:
            self.state.work_orders[order.work_order_id] = replace(order, owner=owner)
        return len(unowned)

    async def tracked_among(self, work_order_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return {i for i in work_order_ids if i in self.state.work_orders}

    async def hold_events(self, events: Sequence[WorkOrderEvent], at: datetime) -> None:
        for event in events:
            self.state.held.setdefault(event.event_id, event)

    async def take_held(self, work_order_ids: Sequence[uuid.UUID]) -> list[WorkOrderEvent]:
        taken = [e for e in self.state.held.values() if e.payload.work_order_id in set(work_order_ids)]
        for event in taken:
            del self.state.held[event.event_id]
        return sorted(taken, key=lambda e: e.occurred_at)

    async def record_step(self, work_order_id: uuid.UUID, status: str, step: str | None, at: datetime) -> None:
        if work_order_id in self.state.work_orders:
            self.state.work_orders[work_order_id] = replace(self.state.work_orders[work_order_id], status=status)

    async def record_resolution(self, work_order_id: uuid.UUID, resolution: str | None) -> TrackedWorkOrder | None:
        order = self.state.work_orders.get(work_order_id)
        if order is None:
            return None
        self.state.resolutions[work_order_id] = resolution
        return order

    async def open_case(self, complaint_id: uuid.UUID, reference_no: str) -> None:
        self.state.cases.setdefault(complaint_id, Case(complaint_id, reference_no))

    async def set_partner_deadline(self, complaint_id: uuid.UUID, reference_no: str, deadline: datetime) -> None:
        await self.open_case(complaint_id, reference_no)
        kept = self.state.partner_deadlines.get(complaint_id)
        self.state.partner_deadlines[complaint_id] = min(kept, deadline) if kept else deadline

    async def partner_deadlines(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        return {i: self.state.partner_deadlines[i] for i in complaint_ids if i in self.state.partner_deadlines}

    async def hold_to_deadline(self, complaint_id: uuid.UUID, deadline: datetime) -> list[TrackedWorkOrder]:
        held = []
        for order in list(self.state.work_orders.values()):
            if order.complaint_id == complaint_id and order.resolve_by > deadline:
                on_site = min(order.on_site_by, deadline) if order.on_site_by else None
                changed = replace(
                    order, acknowledge_by=min(order.acknowledge_by, deadline), on_site_by=on_site, resolve_by=deadline
                )
                self.state.work_orders[order.work_order_id] = changed
                held.append(changed)
        return held

    async def set_resolve_by(self, work_order_id: uuid.UUID, resolve_by: datetime) -> TrackedWorkOrder | None:
        order = self.state.work_orders.get(work_order_id)
        if order is None:
            return None
        changed = self.state.work_orders[work_order_id] = replace(order, resolve_by=resolve_by)
        return changed

    async def knows_complaint(self, complaint_id: uuid.UUID) -> bool:
        return any(complaint_id in t for t in (self.state.cases, self.state.duty_calls, self.state.invalid))

    async def work_order_subject(self, work_order_id: uuid.UUID) -> Subject | None:
        order = self.state.work_orders.get(work_order_id)
        if order is None:
            return None
        return Subject(
            order.complaint_id,
            order.reference_no,
            order.department,
            order.correlation_id,
            order.status,
            self._phone(order.complaint_id),
            order.work_order_id,
            order.owner,
            order.severity,
        )

    async def severity_and_correlation(self, callback: Callback) -> tuple[str, str]:
        if callback.severity is not None and callback.correlation_id is not None:
            return callback.severity, callback.correlation_id
        order = self.state.work_orders[callback.work_order_id]
        return order.severity, order.correlation_id

    async def add_incident_work_order(self, work_order_id: uuid.UUID, incident_id: uuid.UUID) -> None:
        self.state.incident_work_orders.setdefault(work_order_id, incident_id)

    async def is_incident_work_order(self, work_order_id: uuid.UUID) -> bool:
        return work_order_id in self.state.incident_work_orders

    async def add_caller(self, caller: Caller) -> bool:
        self.state.cases.setdefault(caller.complaint_id, Case(caller.complaint_id, caller.reference_no))
        if caller.complaint_id in self.state.callers:
            return False
        self.state.callers[caller.complaint_id] = caller
        return True

    async def caller(self, complaint_id: uuid.UUID) -> Caller | None:
        return self.state.callers.get(complaint_id)

    async def update_caller(self, complaint_id: uuid.UUID, **changes: object) -> None:
        self.state.callers[complaint_id] = replace(self.state.callers[complaint_id], **changes)  # type: ignore[arg-type]

    async def dissatisfied_count(self, complaint_id: uuid.UUID) -> int:
        return self.state.cases[complaint_id].dissatisfied_count

    async def set_dissatisfied_count(self, complaint_id: uuid.UUID, count: int) -> None:
        self.state.cases[complaint_id].dissatisfied_count = count

    async def close_case(self, complaint_id: uuid.UUID, at: datetime, outcome: str) -> None:
        case = self.state.cases[complaint_id]
        case.closed_at, case.close_outcome = at, outcome

    async def dissatisfied_subject(self, callback_id: uuid.UUID) -> Subject | None:
        cb = self.state.callbacks.get(callback_id)
        if cb is None or cb.complaint_id not in self.state.cases:
            return None
        order = self.state.work_orders.get(cb.work_order_id)
        case = self.state.cases[cb.complaint_id]
        return Subject(
            cb.complaint_id,
            cb.reference_no,
            cb.department,
            cb.correlation_id or (order.correlation_id if order else ""),
            case.close_outcome or "open",
            self._phone(cb.complaint_id),
            cb.work_order_id,
            cb.owner,
        )

    async def add_duty_call(self, call: DutyCall) -> bool:
        if call.complaint_id in self.state.duty_calls:
            return False
        self.state.duty_calls[call.complaint_id] = call
        return True

    async def duty_call_for_update(self, complaint_id: uuid.UUID) -> DutyCall | None:
        return self.state.duty_calls.get(complaint_id)

    async def acknowledge_duty_call(
        self, complaint_id: uuid.UUID, at: datetime, by: str, note: str | None, *, name: str | None = None
    ) -> None:
        call = self.state.duty_calls[complaint_id]
        self.state.duty_calls[complaint_id] = replace(
            call, acknowledged_at=at, acknowledged_by=by, acknowledged_by_name=name, note=note
        )

    async def duty_call_on_the_way(self, complaint_id: uuid.UUID, at: datetime, by: str, name: str | None) -> None:
        call = self.state.duty_calls[complaint_id]
        self.state.duty_calls[complaint_id] = replace(call, on_the_way_at=at, on_the_way_by=by, on_the_way_by_name=name)

    async def duty_calls(self, *, open_only: bool, limit: int) -> list[DutyCall]:
        calls = [c for c in self.state.duty_calls.values() if not open_only or c.acknowledged_at is None]
        return sorted(calls, key=lambda c: (c.called_at, str(c.complaint_id)), reverse=True)[:limit]

    async def duty_subject(self, complaint_id: uuid.UUID) -> Subject | None:
        call = self.state.duty_calls.get(complaint_id)
        if call is None or call.acknowledged_at is not None:
            return None
        phone = self._phone(complaint_id)
        return Subject(complaint_id, call.reference_no, "customer_service", call.correlation_id, "called", phone)

    async def add_corrective_action(self, action: CorrectiveAction) -> bool:
        if action.action_id in self.state.corrective_actions:
            return False
        self.state.corrective_actions[action.action_id] = action
        return True

    async def complete_corrective_action(self, action_id: uuid.UUID, at: datetime) -> None:
        if action_id in self.state.corrective_actions:
            action = self.state.corrective_actions[action_id]
            self.state.corrective_actions[action_id] = replace(action, status="done", completed_at=at)

    async def action_subject(self, action_id: uuid.UUID) -> Subject | None:
        a = self.state.corrective_actions.get(action_id)
        if a is None or a.status != "open":
            return None
        return Subject(
            a.complaint_id, a.reference_no, a.department, a.correlation_id, a.status, None, a.work_order_id, a.owner
        )

    async def add_invalid(self, invalid: InvalidComplaint) -> bool:
        if invalid.complaint_id in self.state.invalid:
            return False
        self.state.invalid[invalid.complaint_id] = invalid
        return True

    async def invalid_complaint(self, complaint_id: uuid.UUID) -> InvalidComplaint | None:
        return self.state.invalid.get(complaint_id)

    async def mark_told_invalid(self, complaint_id: uuid.UUID, at: datetime) -> None:
        self.state.invalid[complaint_id] = replace(self.state.invalid[complaint_id], told_at=at)

    async def know_untold_invalid(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        self.state.untold_asked.append(list(complaint_ids))

    async def drop_untold_invalid(self, complaint_id: uuid.UUID) -> bool:
        invalid = self.state.invalid.get(complaint_id)
        if invalid is None or invalid.told_at is not None:
            return False
        del self.state.invalid[complaint_id]
        return True

    async def add_contacts(self, contacts: Sequence[Contact]) -> list[Contact]:
        assert len({c.complaint_id for c in contacts}) == len(contacts), "one row per complaint in a statement"
        written = []
        for contact in contacts:
            kept = self.state.contacts.get(contact.complaint_id)
            if kept is None or kept.contact_at is None or (contact.contact_at and kept.contact_at < contact.contact_at):
                self.state.contacts[contact.complaint_id] = contact
                written.append(contact)
        return written

    async def contact(self, complaint_id: uuid.UUID) -> Contact | None:
        return self.state.contacts.get(complaint_id)

    async def contacts(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        return {i: self.state.contacts[i] for i in complaint_ids if i in self.state.contacts}

    async def purge_contacts(self, complaint_ids: Sequence[uuid.UUID]) -> int:
        return sum(self.state.contacts.pop(i, None) is not None for i in complaint_ids)

    async def schedule(self, plan: TimerPlan) -> None:
        key = (plan.subject_id, plan.kind, plan.stage, plan.level)
        if any((t.plan.subject_id, t.plan.kind, t.plan.stage, t.plan.level) == key for t in self.state.timers):
            return
        next_id = max((t.timer_id for t in self.state.timers), default=0) + 1
        self.state.timers.append(StoredTimer(next_id, plan))

    async def schedule_all(self, plans: Sequence[TimerPlan]) -> None:
        for plan in plans:
            await self.schedule(plan)

    async def reschedule(self, plans: Sequence[TimerPlan]) -> None:
        moves = {(p.subject_id, p.kind, p.stage, p.level): p for p in plans}
        for timer in self.state.timers:
            plan = moves.get((timer.plan.subject_id, timer.plan.kind, timer.plan.stage, timer.plan.level))
            if plan is not None and timer.pending:
                timer.plan = replace(timer.plan, due_at=plan.due_at, deadline=plan.deadline)

    async def cancel(self, subject_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
        stopped = set(stages)
        hits = [
            t for t in self.state.timers if t.plan.subject_id == subject_id and t.plan.stage in stopped and t.pending
        ]
        for timer in hits:
            timer.cancelled_at = at
        return len(hits)

    async def cancel_for_complaint(self, complaint_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
        stopped = set(stages)
        hits = [
            t
            for t in self.state.timers
            if t.plan.complaint_id == complaint_id and t.plan.stage in stopped and t.pending
        ]
        for timer in hits:
            timer.cancelled_at = at
        return len(hits)

    async def claim_due(self, now: datetime, limit: int) -> list[Timer]:
        due = sorted((t for t in self.state.timers if t.pending and t.plan.due_at <= now), key=lambda t: t.plan.due_at)
        return [
            Timer(
                t.timer_id,
                t.plan.complaint_id,
                t.plan.subject_id,
                t.plan.kind,
                t.plan.stage,
                t.plan.level,
                t.plan.due_at,
                t.plan.deadline,
                t.plan.ladder,
            )
            for t in due[:limit]
        ]

    async def mark_fired(self, timer_ids: Sequence[int], at: datetime, by: str) -> None:
        for timer in self.state.timers:
            if timer.timer_id in timer_ids:
                timer.fired_at, timer.fired_by = at, by

    async def timers_of(self, complaint_id: uuid.UUID) -> list[TimerState]:
        mine = sorted(
            (t for t in self.state.timers if t.plan.complaint_id == complaint_id),
            key=lambda t: (t.plan.due_at, t.timer_id),
        )
        return [
            TimerState(
                t.plan.kind, t.plan.stage, t.plan.level, t.plan.due_at, t.plan.deadline, t.fired_at, t.cancelled_at
            )
            for t in mine
        ]

    async def add_escalation(self, record: EscalationRecord) -> None:
        if record.timer_id is not None and any(e.timer_id == record.timer_id for e in self.state.escalations):
            raise ValueError(f"timer {record.timer_id} escalated twice")
        self.state.escalations.append(record)

    async def escalations_of(self, complaint_id: uuid.UUID) -> list[EscalationRecord]:
        return [e for e in self.state.escalations if e.complaint_id == complaint_id]

    def _escalation(self, record: EscalationRecord) -> Escalation:
        return Escalation(record, self.state.escalation_answers.get(record.escalation_id, EscalationAnswer()))

    async def escalation(self, escalation_id: uuid.UUID, *, lock: bool = False) -> Escalation | None:
        found = [e for e in self.state.escalations if e.escalation_id == escalation_id]
        return self._escalation(found[0]) if found else None

    async def escalations_to(
        self, rungs: Sequence[str] | None, department: str | None, *, status: str | None, limit: int
    ) -> list[Escalation]:
        def reaches(e: EscalationRecord) -> bool:
            if rungs is None or e.department == department:
                return True
            return e.escalated_to in rungs and e.escalated_to not in DEPARTMENT_RUNGS

        mine = [
            self._escalation(e)
            for e in reversed(self.state.escalations)
            if e.reference_no is not None and reaches(e) and not await self.climbed_past(e)
        ]
        return [e for e in mine if status is None or e.answer.status == status][:limit]

    async def save_escalation(self, escalation: Escalation) -> None:
        self.state.escalations = [
            escalation.record if e.escalation_id == escalation.escalation_id else e for e in self.state.escalations
        ]
        self.state.escalation_answers[escalation.escalation_id] = escalation.answer

    async def climbed_past(self, record: EscalationRecord) -> bool:
        return any(
            (e.subject_id, e.stage) == (record.subject_id, record.stage) and e.level > record.level
            for e in self.state.escalations
        )

    async def rearm(self, plan: TimerPlan) -> None:
        key = (plan.subject_id, plan.kind, plan.stage, plan.level)
        for timer in self.state.timers:
            if (timer.plan.subject_id, timer.plan.kind, timer.plan.stage, timer.plan.level) == key:
                if timer.fired_at is None:
                    timer.plan, timer.cancelled_at = replace(timer.plan, due_at=plan.due_at), None
                return
        await self.schedule(plan)

    async def add_callback(self, callback: Callback) -> bool:
        if any(
            (c.complaint_id, c.work_order_id) == (callback.complaint_id, callback.work_order_id)
            for c in self.state.callbacks.values()
        ):
            return False
        self.state.callbacks[callback.callback_id] = callback
        return True

    async def callback_for_update(self, callback_id: uuid.UUID) -> Callback | None:
        return self.state.callbacks.get(callback_id)

    async def save_callback(self, callback: Callback) -> None:
        self.state.callbacks[callback.callback_id] = callback

    async def callback_subject(self, callback_id: uuid.UUID) -> Subject | None:
        cb = self.state.callbacks.get(callback_id)
        if cb is None or cb.status != "pending":
            return None
        order = self.state.work_orders.get(cb.work_order_id)
        return Subject(
            cb.complaint_id,
            cb.reference_no,
            cb.department,
            cb.correlation_id or (order.correlation_id if order else ""),
            cb.status,
            self._phone(cb.complaint_id),
        )

    async def worklist(
        self, now: datetime, *, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Callback], int]:
        ready = sorted(
            (
                c
                for c in self.state.callbacks.values()
                if c.status == "pending" and c.next_attempt_at <= now and (owner is None or c.owner == owner)
            ),
            key=lambda c: (c.due_at, c.created_at, c.callback_id),
        )
        return ready[offset : offset + limit], len(ready)

    async def add_notifications(self, records: Sequence[NotificationRecord]) -> None:
        self.state.notifications.extend(records)

    async def notification(self, notification_id: uuid.UUID) -> NotificationRecord | None:
        return next((n for n in self.state.notifications if n.notification_id == notification_id), None)

    async def case_callback(self, complaint_id: uuid.UUID) -> Callback | None:
        mine = [c for c in self.state.callbacks.values() if c.complaint_id == complaint_id and c.kind == "callback"]
        return max(mine, key=lambda c: (c.cycle, c.created_at), default=None)

    async def record_survey_score(self, callback_id: uuid.UUID, score: int, at: datetime) -> None:
        callback = self.state.callbacks[callback_id]
        self.state.callbacks[callback_id] = replace(callback, survey_score=score, survey_scored_at=at)

    async def case_department(self, complaint_id: uuid.UUID) -> str | None:
        mine = [o for o in self.state.work_orders.values() if o.complaint_id == complaint_id]
        return min(mine, key=lambda o: (o.role != "lead", o.starts_at)).department if mine else None

    async def case_owner(self, complaint_id: uuid.UUID) -> str | None:
        owned = [o for o in self.state.work_orders.values() if o.complaint_id == complaint_id and o.owner]
        return min(owned, key=lambda o: o.starts_at).owner if owned else None

    async def corrective_actions_of(self, complaint_id: uuid.UUID) -> list[CorrectiveAction]:
        mine = [a for a in self.state.corrective_actions.values() if a.complaint_id == complaint_id]
        return sorted(mine, key=lambda a: (a.set_at, a.action_id))

    async def lock_receipts(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        self.state.receipt_locks.append(list(complaint_ids))

    async def add_receipts(self, receipts: Sequence[Receipt]) -> None:
        assert len({r.complaint_id for r in receipts}) == len(receipts), "one row per complaint in a statement"
        for receipt in receipts:
            self.state.receipts.setdefault(receipt.complaint_id, receipt)

    async def claim_receipts(self, complaint_ids: Sequence[uuid.UUID], at: datetime) -> list[Receipt]:
        claimed = []
        for complaint_id in complaint_ids:
            receipt = self.state.receipts.get(complaint_id)
            if receipt is not None and receipt.told_at is None:
                self.state.receipts[complaint_id] = replace(receipt, told_at=at)
                claimed.append(self.state.receipts[complaint_id])
        return claimed

    async def due_timers(self) -> int:
        now = datetime.now(UTC)
        return sum(1 for t in self.state.timers if t.pending and t.plan.due_at <= now)

    async def outbox_pending(self) -> int:
        return len(self.state.events)

    def _phone(self, complaint_id: uuid.UUID) -> str | None:
        contact = self.state.contacts.get(complaint_id)
        return contact.phone if contact else None


class FakeTransactions(CopyOnCommit[FollowupState, FakeFollowupRepository]):
    """`Transactions[FollowupRepository]` in memory: `state` is what has been committed so far."""

    def __init__(self, state: FollowupState | None = None) -> None:
        super().__init__(state or FollowupState(), FakeFollowupRepository)


def _conforms(repo: FakeFollowupRepository) -> FollowupRepository:
    """Type-checks that the fake implements the same Protocol as the Postgres repository."""
    return repo
