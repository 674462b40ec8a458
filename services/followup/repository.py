"""All SQL of followup's own tables (schema `followup`), behind `FollowupRepository`.

The repository works on the connection of one unit of work and never commits: `handlers.py` does. The
outbox rows and processed-event marks go through it too, so they commit with the effect — and an
in-memory fake (tests/fakes/followup.py) sees everything a handler writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Protocol, TypeVar

import asyncpg

from services.followup.model import (
    Callback,
    Caller,
    Contact,
    CorrectiveAction,
    DutyCall,
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
from shared import outbox
from shared.contracts import Event
from shared.idempotency import first_delivery

SCHEMA = "followup"
#: Woken on every scheduled timer, so a due-soon timer does not wait for the next poll.
TIMERS_CHANNEL = "followup_timers"


class FollowupRepository(Protocol):
    """What followup's handlers read and write inside one transaction."""

    # -- consumed events and published ones
    async def first_delivery(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Mark the event processed by `consumer`; False when it already was (skip the effect)."""
        ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    # -- work orders and cases
    async def track(self, order: TrackedWorkOrder) -> bool:
        """Start tracking a work order (and its case); False when it already was (a redelivered assignment
        changes nothing)."""
        ...

    async def work_order(self, work_order_id: uuid.UUID) -> TrackedWorkOrder | None: ...

    async def adopt_owner(self, complaint_id: uuid.UUID, owner: str) -> int:
        """The case's owner, on its tracked work orders that have none yet; how many took it."""
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

    async def drop_untold_invalid(self, complaint_id: uuid.UUID) -> bool:
        """Forget a complaint's invalid notice not sent yet (it was overturned); False when there is none."""
        ...

    # -- contacts
    async def add_contact(self, contact: Contact) -> None: ...

    async def contact(self, complaint_id: uuid.UUID) -> Contact | None: ...

    # -- timers and escalations
    async def schedule(self, plan: TimerPlan) -> None:
        """Idempotent: the same (subject, kind, stage, level) is scheduled once."""
        ...

    async def cancel(self, subject_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int: ...

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
    async def add_notification(self, record: NotificationRecord) -> None: ...

    async def notification(self, notification_id: uuid.UUID) -> NotificationRecord | None: ...

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

    async def add_receipt(self, receipt: Receipt) -> bool:
        """Keep a received complaint for its receipt; False when already kept (a redelivery)."""
        ...

    async def receipt(self, complaint_id: uuid.UUID) -> Receipt | None: ...

    async def mark_receipt_told(self, complaint_id: uuid.UUID, at: datetime) -> bool:
        """Claim the receipt for sending; False when it was told already."""
        ...

    # -- health
    async def due_timers(self) -> int: ...

    async def outbox_pending(self) -> int: ...


_CALLBACK_COLUMNS = ", ".join(Callback.__dataclass_fields__)
_ORDER_COLUMNS = ", ".join(TrackedWorkOrder.__dataclass_fields__)
_Row = TypeVar("_Row")


def _placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


def _values(record: object) -> tuple[object, ...]:
    """A dataclass's fields in declaration order, for an INSERT that lists its columns in the same order."""
    return tuple(getattr(record, f.name) for f in fields(record))  # type: ignore[arg-type]


def _subject(row: asyncpg.Record | None) -> Subject | None:
    return Subject(**dict(row)) if row is not None else None


class PostgresFollowupRepository:
    """`FollowupRepository` on one asyncpg connection (or the pool, for single statements outside a unit of work)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def first_delivery(self, consumer: str, event_id: uuid.UUID) -> bool:
        return await first_delivery(self.conn, SCHEMA, consumer, event_id)  # type: ignore[arg-type]

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)  # type: ignore[arg-type]

    async def track(self, order: TrackedWorkOrder) -> bool:
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            order.complaint_id,
            order.reference_no,
        )
        return await self._insert_new("work_orders", order, conflict="work_order_id")

    async def work_order(self, work_order_id: uuid.UUID) -> TrackedWorkOrder | None:
        return await self._get(TrackedWorkOrder, "work_orders", "work_order_id", work_order_id)

    async def adopt_owner(self, complaint_id: uuid.UUID, owner: str) -> int:
        status = await self.conn.execute(
            "UPDATE followup.work_orders SET owner = $2 WHERE complaint_id = $1 AND owner IS NULL",
            complaint_id,
            owner,
        )
        return int(status.split()[-1])

    async def record_step(self, work_order_id: uuid.UUID, status: str, step: str | None, at: datetime) -> None:
        if step is None:
            await self.conn.execute(
                "UPDATE followup.work_orders SET status = $2 WHERE work_order_id = $1", work_order_id, status
            )
            return
        column = {"acknowledged": "acknowledged_at", "started": "started_at", "resolved": "resolved_at"}[step]
        await self.conn.execute(
            f"UPDATE followup.work_orders SET status = $2, {column} = COALESCE({column}, $3) WHERE work_order_id = $1",
            work_order_id,
            status,
            at,
        )

    async def record_resolution(self, work_order_id: uuid.UUID, resolution: str | None) -> TrackedWorkOrder | None:
        row = await self.conn.fetchrow(
            f"UPDATE followup.work_orders SET resolution = $2 WHERE work_order_id = $1 RETURNING {_ORDER_COLUMNS}",
            work_order_id,
            resolution,
        )
        return TrackedWorkOrder(**dict(row)) if row is not None else None

    async def open_case(self, complaint_id: uuid.UUID, reference_no: str) -> None:
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            complaint_id,
            reference_no,
        )

    async def knows_complaint(self, complaint_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM followup.cases WHERE complaint_id = $1) "
                "OR EXISTS (SELECT 1 FROM followup.duty_calls WHERE complaint_id = $1) "
                "OR EXISTS (SELECT 1 FROM followup.invalid_complaints WHERE complaint_id = $1)",
                complaint_id,
            )
        )

    async def work_order_subject(self, work_order_id: uuid.UUID) -> Subject | None:
        return _subject(
            await self.conn.fetchrow(
                "SELECT w.complaint_id, w.reference_no, w.department, w.correlation_id, w.status, c.phone, "
                "w.work_order_id, w.owner, w.severity "
                "FROM followup.work_orders w LEFT JOIN followup.contacts c ON c.complaint_id = w.complaint_id "
                "WHERE w.work_order_id = $1",
                work_order_id,
            )
        )

    async def severity_and_correlation(self, callback: Callback) -> tuple[str, str]:
        if callback.severity is not None and callback.correlation_id is not None:
            return callback.severity, callback.correlation_id
        row = await self.conn.fetchrow(
            "SELECT severity, correlation_id FROM followup.work_orders WHERE work_order_id = $1",
            callback.work_order_id,
        )
        if row is None:
            raise LookupError(f"work order {callback.work_order_id} is not tracked")
        return row["severity"], row["correlation_id"]

    async def add_incident_work_order(self, work_order_id: uuid.UUID, incident_id: uuid.UUID) -> None:
        await self.conn.execute(
            "INSERT INTO followup.incident_work_orders (work_order_id, incident_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            work_order_id,
            incident_id,
        )

    async def is_incident_work_order(self, work_order_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM followup.incident_work_orders WHERE work_order_id = $1", work_order_id
            )
        )

    async def add_caller(self, caller: Caller) -> bool:
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            caller.complaint_id,
            caller.reference_no,
        )
        return await self._insert_new("callers", caller, conflict="complaint_id")

    async def caller(self, complaint_id: uuid.UUID) -> Caller | None:
        return await self._get(Caller, "callers", "complaint_id", complaint_id)

    async def update_caller(self, complaint_id: uuid.UUID, **changes: object) -> None:
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await self.conn.execute(
            f"UPDATE followup.callers SET {sets} WHERE complaint_id = $1", complaint_id, *changes.values()
        )

    async def dissatisfied_count(self, complaint_id: uuid.UUID) -> int:
        count = await self.conn.fetchval(
            "SELECT dissatisfied_count FROM followup.cases WHERE complaint_id = $1 FOR UPDATE", complaint_id
        )
        if count is None:
            raise LookupError(f"complaint {complaint_id} is not tracked")
        return int(count)

    async def set_dissatisfied_count(self, complaint_id: uuid.UUID, count: int) -> None:
        await self.conn.execute(
            "UPDATE followup.cases SET dissatisfied_count = $2 WHERE complaint_id = $1", complaint_id, count
        )

    async def close_case(self, complaint_id: uuid.UUID, at: datetime, outcome: str) -> None:
        await self.conn.execute(
            "UPDATE followup.cases SET closed_at = $2, close_outcome = $3 WHERE complaint_id = $1",
            complaint_id,
            at,
            outcome,
        )

    async def dissatisfied_subject(self, callback_id: uuid.UUID) -> Subject | None:
        return _subject(
            await self.conn.fetchrow(
                "SELECT b.complaint_id, b.reference_no, b.department, "
                "COALESCE(b.correlation_id, w.correlation_id, '') AS correlation_id, "
                "COALESCE(k.close_outcome, 'open') AS status, c.phone, b.work_order_id, b.owner "
                "FROM followup.callbacks b JOIN followup.cases k ON k.complaint_id = b.complaint_id "
                "LEFT JOIN followup.work_orders w ON w.work_order_id = b.work_order_id "
                "LEFT JOIN followup.contacts c ON c.complaint_id = b.complaint_id WHERE b.callback_id = $1",
                callback_id,
            )
        )

    async def add_duty_call(self, call: DutyCall) -> bool:
        return await self._insert_new("duty_calls", call, conflict="complaint_id")

    async def duty_call_for_update(self, complaint_id: uuid.UUID) -> DutyCall | None:
        return await self._get(DutyCall, "duty_calls", "complaint_id", complaint_id, lock=True)

    async def acknowledge_duty_call(
        self, complaint_id: uuid.UUID, at: datetime, by: str, note: str | None, *, name: str | None = None
    ) -> None:
        await self.conn.execute(
            "UPDATE followup.duty_calls SET acknowledged_at = $2, acknowledged_by = $3, note = $4, "
            "acknowledged_by_name = $5 WHERE complaint_id = $1",
            complaint_id,
            at,
            by,
            note,
            name,
        )

    async def duty_subject(self, complaint_id: uuid.UUID) -> Subject | None:
        return _subject(
            await self.conn.fetchrow(
                "SELECT d.complaint_id, d.reference_no, 'customer_service' AS department, d.correlation_id, "
                "'called' AS status, c.phone FROM followup.duty_calls d "
                "LEFT JOIN followup.contacts c ON c.complaint_id = d.complaint_id "
                "WHERE d.complaint_id = $1 AND d.acknowledged_at IS NULL",
                complaint_id,
            )
        )

    async def add_corrective_action(self, action: CorrectiveAction) -> bool:
        return await self._insert_new("corrective_actions", action, conflict="action_id")

    async def complete_corrective_action(self, action_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE followup.corrective_actions SET status = 'done', completed_at = $2 WHERE action_id = $1",
            action_id,
            at,
        )

    async def action_subject(self, action_id: uuid.UUID) -> Subject | None:
        return _subject(
            await self.conn.fetchrow(
                "SELECT complaint_id, reference_no, department, correlation_id, status, NULL AS phone, "
                "work_order_id, owner FROM followup.corrective_actions WHERE action_id = $1 AND status = 'open'",
                action_id,
            )
        )

    async def add_invalid(self, invalid: InvalidComplaint) -> bool:
        return await self._insert_new("invalid_complaints", invalid, conflict="complaint_id")

    async def invalid_complaint(self, complaint_id: uuid.UUID) -> InvalidComplaint | None:
        return await self._get(InvalidComplaint, "invalid_complaints", "complaint_id", complaint_id)

    async def mark_told_invalid(self, complaint_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE followup.invalid_complaints SET told_at = $2 WHERE complaint_id = $1", complaint_id, at
        )

    async def drop_untold_invalid(self, complaint_id: uuid.UUID) -> bool:
        dropped = await self.conn.fetchval(
            "DELETE FROM followup.invalid_complaints WHERE complaint_id = $1 AND told_at IS NULL RETURNING true",
            complaint_id,
        )
        return bool(dropped)

    async def add_contact(self, contact: Contact) -> None:
        await self.conn.execute(
            "INSERT INTO followup.contacts (complaint_id, name, phone, email, wechat_openid, preferred_contact) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (complaint_id) DO NOTHING",
            *_values(contact),
        )

    async def contact(self, complaint_id: uuid.UUID) -> Contact | None:
        row = await self.conn.fetchrow(
            "SELECT complaint_id, name, phone, email, wechat_openid, preferred_contact FROM followup.contacts "
            "WHERE complaint_id = $1",
            complaint_id,
        )
        return Contact(**dict(row)) if row is not None else None

    async def schedule(self, plan: TimerPlan) -> None:
        await self.conn.execute(
            "INSERT INTO followup.timers (complaint_id, subject_id, kind, stage, level, due_at, deadline, ladder) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (subject_id, kind, stage, level) DO NOTHING",
            plan.complaint_id,
            plan.subject_id,
            plan.kind,
            plan.stage,
            plan.level,
            plan.due_at,
            plan.deadline,
            plan.ladder,
        )
        await self.conn.execute(f"SELECT pg_notify('{TIMERS_CHANNEL}', '')")

    async def cancel(self, subject_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
        status = await self.conn.execute(
            "UPDATE followup.timers SET cancelled_at = $3 WHERE subject_id = $1 AND stage = ANY($2::text[]) "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            subject_id,
            list(stages),
            at,
        )
        return int(status.split()[-1])

    async def cancel_for_complaint(self, complaint_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
        status = await self.conn.execute(
            "UPDATE followup.timers SET cancelled_at = $3 WHERE complaint_id = $1 AND stage = ANY($2::text[]) "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            complaint_id,
            list(stages),
            at,
        )
        return int(status.split()[-1])

    async def claim_due(self, now: datetime, limit: int) -> list[Timer]:
        rows = await self.conn.fetch(
            "SELECT timer_id, complaint_id, subject_id, kind, stage, level, due_at, deadline, ladder "
            "FROM followup.timers "
            "WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 "
            "ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            now,
            limit,
        )
        return [Timer(**dict(r)) for r in rows]

    async def mark_fired(self, timer_ids: Sequence[int], at: datetime, by: str) -> None:
        await self.conn.execute(
            "UPDATE followup.timers SET fired_at = $2, fired_by = $3 WHERE timer_id = ANY($1::bigint[])",
            list(timer_ids),
            at,
            by,
        )

    async def timers_of(self, complaint_id: uuid.UUID) -> list[TimerState]:
        rows = await self.conn.fetch(
            "SELECT kind, stage, level, due_at, deadline, fired_at, cancelled_at FROM followup.timers "
            "WHERE complaint_id = $1 ORDER BY due_at, timer_id",
            complaint_id,
        )
        return [TimerState(**dict(r)) for r in rows]

    async def add_escalation(self, record: EscalationRecord) -> None:
        await self.conn.execute(
            "INSERT INTO followup.escalations (complaint_id, subject_id, stage, level, escalated_to, reason, "
            "timer_id, at, ladder) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            record.complaint_id,
            record.subject_id,
            record.stage,
            record.level,
            record.escalated_to,
            record.reason,
            record.timer_id,
            record.at,
            record.ladder,
        )

    async def escalations_of(self, complaint_id: uuid.UUID) -> list[EscalationRecord]:
        rows = await self.conn.fetch(
            "SELECT complaint_id, subject_id, stage, level, escalated_to, reason, timer_id, at, ladder "
            "FROM followup.escalations WHERE complaint_id = $1 ORDER BY id",
            complaint_id,
        )
        return [EscalationRecord(**dict(r)) for r in rows]

    async def add_callback(self, callback: Callback) -> bool:
        return await self._insert_new("callbacks", callback, conflict="complaint_id, work_order_id")

    async def callback_for_update(self, callback_id: uuid.UUID) -> Callback | None:
        return await self._get(Callback, "callbacks", "callback_id", callback_id, lock=True)

    async def save_callback(self, callback: Callback) -> None:
        await self.conn.execute(
            "UPDATE followup.callbacks SET status = $2, attempts = $3, next_attempt_at = $4, last_note = $5, "
            "last_agent = $6, completed_at = $7, scores = $8, last_agent_name = $9, last_method = $10 "
            "WHERE callback_id = $1",
            callback.callback_id,
            callback.status,
            callback.attempts,
            callback.next_attempt_at,
            callback.last_note,
            callback.last_agent,
            callback.completed_at,
            callback.scores,
            callback.last_agent_name,
            callback.last_method,
        )

    async def callback_subject(self, callback_id: uuid.UUID) -> Subject | None:
        return _subject(
            await self.conn.fetchrow(
                "SELECT b.complaint_id, b.reference_no, b.department, "
                "COALESCE(b.correlation_id, w.correlation_id, '') AS correlation_id, b.status, c.phone "
                "FROM followup.callbacks b LEFT JOIN followup.work_orders w ON w.work_order_id = b.work_order_id "
                "LEFT JOIN followup.contacts c ON c.complaint_id = b.complaint_id "
                "WHERE b.callback_id = $1 AND b.status = 'pending'",
                callback_id,
            )
        )

    async def worklist(
        self, now: datetime, *, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Callback], int]:
        where = "status = 'pending' AND next_attempt_at <= $1 AND ($2::text IS NULL OR owner = $2)"
        rows = await self.conn.fetch(
            f"SELECT {_CALLBACK_COLUMNS} FROM followup.callbacks WHERE {where} "
            "ORDER BY due_at, created_at, callback_id LIMIT $3 OFFSET $4",
            now,
            owner,
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM followup.callbacks WHERE {where}", now, owner)
        return [Callback(**dict(r)) for r in rows], total

    async def add_notification(self, record: NotificationRecord) -> None:
        await self.conn.execute(
            "INSERT INTO followup.notifications (notification_id, complaint_id, template_id, recipient_kind, "
            "urgency, reference_no, correlation_id, text, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            *_values(record),
        )

    async def notification(self, notification_id: uuid.UUID) -> NotificationRecord | None:
        row = await self.conn.fetchrow(
            "SELECT notification_id, complaint_id, template_id, recipient_kind, urgency, reference_no, "
            "coalesce(correlation_id, '') AS correlation_id, coalesce(text, '') AS text, at "
            "FROM followup.notifications WHERE notification_id = $1",
            notification_id,
        )
        return NotificationRecord(**dict(row)) if row is not None else None

    async def case_owner(self, complaint_id: uuid.UUID) -> str | None:
        owner: str | None = await self.conn.fetchval(
            "SELECT owner FROM followup.work_orders WHERE complaint_id = $1 AND owner IS NOT NULL "
            "ORDER BY starts_at LIMIT 1",
            complaint_id,
        )
        return owner

    async def corrective_actions_of(self, complaint_id: uuid.UUID) -> list[CorrectiveAction]:
        columns = ", ".join(f.name for f in fields(CorrectiveAction))
        rows = await self.conn.fetch(
            f"SELECT {columns} FROM followup.corrective_actions WHERE complaint_id = $1 ORDER BY set_at, action_id",
            complaint_id,
        )
        return [CorrectiveAction(**dict(r)) for r in rows]

    async def lock_receipts(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext('followup-receipt:' || id::text) AS k "
            "FROM unnest($1::uuid[]) AS id ORDER BY k) AS keys",
            list(complaint_ids),
        )

    async def add_receipt(self, receipt: Receipt) -> bool:
        return await self._insert_new("receipts", receipt, conflict="complaint_id")

    async def receipt(self, complaint_id: uuid.UUID) -> Receipt | None:
        return await self._get(Receipt, "receipts", "complaint_id", complaint_id)

    async def mark_receipt_told(self, complaint_id: uuid.UUID, at: datetime) -> bool:
        told = await self.conn.fetchval(
            "UPDATE followup.receipts SET told_at = $2 WHERE complaint_id = $1 AND told_at IS NULL RETURNING true",
            complaint_id,
            at,
        )
        return bool(told)

    async def due_timers(self) -> int:
        due = await self.conn.fetchval(
            "SELECT count(*) FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()"
        )
        return int(due)

    async def outbox_pending(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM followup.outbox"))

    async def _insert_new(self, table: str, record: object, *, conflict: str) -> bool:
        """One dataclass as one row, unless its key (`conflict`) is there already: False for a redelivery."""
        names = [f.name for f in fields(record)]  # type: ignore[arg-type]
        inserted = await self.conn.fetchval(
            f"INSERT INTO followup.{table} ({', '.join(names)}) VALUES ({_placeholders(len(names))}) "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING true",
            *_values(record),
        )
        return bool(inserted)

    async def _get(self, model: type[_Row], table: str, key: str, value: object, *, lock: bool = False) -> _Row | None:
        """One row by a unique key as its dataclass; locked for the transaction when asked."""
        columns = ", ".join(f.name for f in fields(model))  # type: ignore[arg-type]
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(f"SELECT {columns} FROM followup.{table} WHERE {key} = $1{suffix}", value)
        return model(**dict(row)) if row is not None else None


async def timer_backlog(pool: asyncpg.Pool) -> list[tuple[str, int, int, float]]:
    """Per timer kind: scheduled and not yet fired or cancelled, how many of those are past due, and how long
    the oldest of them is late — for the timer gauges (read at scrape time; the partial index covers it)."""
    rows = await pool.fetch(
        "SELECT kind, count(*) AS pending, count(*) FILTER (WHERE due_at <= now()) AS overdue, "
        "coalesce(extract(epoch FROM now() - min(due_at) FILTER (WHERE due_at <= now())), 0) AS late "
        "FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL GROUP BY kind"
    )
    return [(r["kind"], r["pending"], r["overdue"], float(r["late"])) for r in rows]
