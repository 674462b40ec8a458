"""What followup shows over HTTP: the agents' worklist, one callback, a case's SLA clocks, the escalations a
person may answer or send back, and the duty manager's calls.

Read-only: each view reads through the repository in a unit of work it never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Literal

from services.followup.escalation_answers import HELD_BY, EscalationActor, holders, late, reached
from services.followup.model import Callback, Contact, DutyCall, Escalation
from services.followup.repository import FollowupRepository
from services.followup.schemas import (
    CallbackRead,
    ContactRead,
    DutyCallList,
    DutyCallStatusRead,
    EscalationCaseRead,
    EscalationList,
    EscalationRead,
    SlaRead,
    TimerRead,
    Worklist,
)
from shared.db import Transactions


def callback_read(callback: Callback, contact: Contact | None, now: datetime) -> CallbackRead:
    return CallbackRead(
        **{k: v for k, v in asdict(callback).items() if k in CallbackRead.model_fields},
        overdue=callback.status == "pending" and callback.due_at < now,
        contact=ContactRead(**{k: v for k, v in asdict(contact).items() if k in ContactRead.model_fields})
        if contact
        else None,
    )


def held_rungs(roles: frozenset[str]) -> list[str]:
    """The rungs a person's roles hold (leadership holds the general and project managers')."""
    return sorted({rung for rung in (*roles, *HELD_BY) if roles & holders(rung)})


def escalation_read(escalation: Escalation, now: datetime) -> EscalationCaseRead:
    record, answer = escalation.record, escalation.answer
    assert record.reference_no is not None and record.department is not None
    unanswered = answer.status != "answered"
    return EscalationCaseRead(
        **asdict(answer),
        escalation_id=record.escalation_id,
        complaint_id=record.complaint_id,
        reference_no=record.reference_no,
        department=record.department,
        work_order_id=record.work_order_id,
        stage=record.stage,
        level=record.level,
        escalated_to=record.escalated_to,
        ladder=record.ladder,
        reason=record.reason,
        escalated_at=record.at,
        deadline=record.deadline,
        answer_by=record.answer_by,
        overdue=unanswered and record.answer_by is not None and record.answer_by < now,
        late=late(escalation),
    )


def duty_call_read(call: DutyCall, now: datetime) -> DutyCallStatusRead:
    arrived = call.acknowledged_at
    status: Literal["called", "on_the_way", "arrived"] = (
        "arrived" if arrived is not None else "on_the_way" if call.on_the_way_at is not None else "called"
    )
    return DutyCallStatusRead(
        complaint_id=call.complaint_id,
        reference_no=call.reference_no,
        channel=call.channel,
        reason=call.reason,
        called_at=call.called_at,
        go_by=call.acknowledge_by,
        on_the_way_at=call.on_the_way_at,
        on_the_way_by=call.on_the_way_by,
        on_the_way_by_name=call.on_the_way_by_name,
        arrived_at=arrived,
        arrived_by=call.acknowledged_by,
        arrived_by_name=call.acknowledged_by_name,
        status=status,
        late=(arrived or now) > call.acknowledge_by,
    )


class FollowupViews:
    def __init__(self, transactions: Transactions[FollowupRepository], clock: Callable[[], datetime]) -> None:
        self.transactions = transactions
        self.clock = clock

    async def worklist(self, *, page: int, page_size: int, owner: str | None = None) -> Worklist:
        """Callbacks to make now (due, or retry interval passed), oldest deadline first, with whom to call;
        optionally one owner's only."""
        async with self.transactions() as work:
            now = self.clock()
            offset = (page - 1) * page_size
            items, total = await work.repo.worklist(now, limit=page_size, offset=offset, owner=owner)
            reads = [callback_read(cb, await work.repo.contact(cb.complaint_id), now) for cb in items]
        return Worklist(items=reads, page=page, page_size=page_size, total=total)

    async def callback(self, callback: Callback) -> CallbackRead:
        async with self.transactions() as work:
            contact = await work.repo.contact(callback.complaint_id)
        return callback_read(callback, contact, self.clock())

    async def sla(self, complaint_id: uuid.UUID) -> SlaRead | None:
        """The case's timers and escalations; None when followup has neither."""
        async with self.transactions() as work:
            timers = await work.repo.timers_of(complaint_id)
            escalations = await work.repo.escalations_of(complaint_id)
        if not timers and not escalations:
            return None
        return SlaRead(
            complaint_id=complaint_id,
            timers=[TimerRead(**asdict(t)) for t in timers],
            escalations=[
                EscalationRead(
                    stage=e.stage,
                    level=e.level,
                    escalated_to=e.escalated_to,
                    reason=e.reason,
                    at=e.at,
                    ladder=e.ladder,
                    escalation_id=e.escalation_id if e.reference_no is not None else None,
                )
                for e in escalations
            ],
        )

    async def escalations(self, actor: EscalationActor, *, status: str | None, limit: int) -> EscalationList:
        """The escalations `actor` may act on (answer for its department, or send back as the rung reached), newest
        first; a supervisor credential sees every one."""
        rungs = None if actor.credential_supervisor else held_rungs(actor.roles)
        async with self.transactions() as work:
            found = await work.repo.escalations_to(rungs, actor.department, status=status, limit=limit)
        now = self.clock()
        return EscalationList(items=[escalation_read(e, now) for e in found if reached(actor, e)])

    async def escalation(self, escalation_id: uuid.UUID, actor: EscalationActor) -> EscalationCaseRead | None:
        """One escalation, when `actor` may act on it (None otherwise, as if there were none)."""
        async with self.transactions() as work:
            found = await work.repo.escalation(escalation_id)
        if found is None or found.record.reference_no is None or not reached(actor, found):
            return None
        return escalation_read(found, self.clock())

    async def duty_calls(self, *, open_only: bool, limit: int) -> DutyCallList:
        """The duty manager's calls, newest first (`open_only`: not arrived yet), each with where it stands."""
        async with self.transactions() as work:
            calls = await work.repo.duty_calls(open_only=open_only, limit=limit)
        now = self.clock()
        return DutyCallList(items=[duty_call_read(c, now) for c in calls])

    async def health(self) -> dict[str, int]:
        """Timers due and not fired, events not yet published: what the readiness probe shows."""
        async with self.transactions() as work:
            return {"timers_due": await work.repo.due_timers(), "outbox_pending": await work.repo.outbox_pending()}
