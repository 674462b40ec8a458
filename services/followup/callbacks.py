"""Callbacks: every resolution schedules one; agents work the list and record the outcome.

satisfied → complaint.closed; dissatisfied → complaint.reopened with raised severity (dispatch opens a
new cycle), and the second time also straight to the general manager; unreachable → retried after an
interval up to the configured attempts, then closed as unreachable. A callback not made in time
escalates like any other breach (its own clock: stage "callback")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.followup import timers
from services.followup.context import FollowupContext
from shared import outbox
from shared.contracts import (
    CallbackAttempted,
    CallbackAttemptPayload,
    CallbackFacts,
    CallbackOutcome,
    CallbackScheduled,
    ComplaintClosed,
    ComplaintClosedPayload,
    ComplaintReopened,
    ComplaintReopenedPayload,
    Event,
    Recipient,
    Severity,
    WorkOrderResolved,
    new_event,
)
from shared.db import unit_of_work
from shared.logging import bind_case, get_logger
from shared.sla import parse_limit

log = get_logger(__name__)
_RAISED = {"normal": Severity.SERIOUS, "serious": Severity.EMERGENCY, "emergency": Severity.EMERGENCY}


class CallbackNotFound(Exception):
    pass


class CallbackClosed(Exception):
    """The outcome of this callback was already recorded."""


@dataclass(frozen=True)
class Callback:
    callback_id: uuid.UUID
    complaint_id: uuid.UUID
    work_order_id: uuid.UUID
    reference_no: str
    department: str
    cycle: int
    resolution: str | None
    due_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    completed_at: datetime | None
    last_note: str | None
    last_agent: str | None


_COLUMNS = ", ".join(Callback.__dataclass_fields__)


async def subject(conn: asyncpg.Connection, callback_id: uuid.UUID) -> asyncpg.Record | None:
    """What a callback-stage timer needs, or None once the callback is done (nothing to escalate)."""
    return await conn.fetchrow(
        "SELECT b.complaint_id, b.reference_no, b.department, w.correlation_id, b.status, c.phone "
        "FROM followup.callbacks b JOIN followup.work_orders w ON w.work_order_id = b.work_order_id "
        "LEFT JOIN followup.contacts c ON c.complaint_id = b.complaint_id "
        "WHERE b.callback_id = $1 AND b.status = 'pending'",
        callback_id,
    )


def _facts(cb: Callback | dict[str, Any], at: datetime) -> dict[str, Any]:
    get = cb.get if isinstance(cb, dict) else cb.__getattribute__
    return {
        k: get(k)
        for k in ("callback_id", "complaint_id", "reference_no", "work_order_id", "department", "cycle", "due_at")
    } | {"at": at}


async def schedule_callback(ctx: FollowupContext, conn: asyncpg.Connection, event: WorkOrderResolved) -> list[Event]:
    p = event.payload
    limit = await conn.fetchval(
        "SELECT callback_limit FROM followup.work_orders WHERE work_order_id = $1", p.work_order_id
    )
    await conn.execute(
        "UPDATE followup.work_orders SET resolution = $2 WHERE work_order_id = $1", p.work_order_id, p.resolution
    )
    due_at = ctx.after(p.at, parse_limit(limit or "1wd"))
    callback = {
        "callback_id": uuid.uuid4(),
        "complaint_id": p.complaint_id,
        "work_order_id": p.work_order_id,
        "reference_no": p.reference_no,
        "department": p.department.value,
        "cycle": p.cycle,
        "resolution": p.resolution,
        "due_at": due_at,
    }
    inserted = await conn.fetchval(
        "INSERT INTO followup.callbacks (callback_id, complaint_id, work_order_id, reference_no, department, cycle, "
        "resolution, due_at, status, next_attempt_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) ON CONFLICT (work_order_id) DO NOTHING "
        "RETURNING true",
        *callback.values(),
        p.at,
    )
    if not inserted:
        return []
    warn_at = p.at + (due_at - p.at) * ctx.sla.warning_share
    common = {
        "complaint_id": p.complaint_id,
        "subject_id": callback["callback_id"],
        "stage": "callback",
        "deadline": due_at,
    }
    await timers.schedule(conn, kind="warning", due_at=warn_at, **common)
    await timers.schedule(conn, kind="breach", level=1, due_at=due_at, **common)
    return [
        new_event(
            CallbackScheduled,
            complaint_id=p.complaint_id,
            producer="followup",
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            occurred_at=p.at,
            payload=CallbackFacts(**_facts(callback, p.at)),
        )
    ]


async def worklist(pool: asyncpg.Pool, now: datetime, *, limit: int, offset: int) -> tuple[list[Callback], int]:
    """Callbacks an agent can make now (due, or retry interval passed), oldest deadline first."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM followup.callbacks WHERE status = 'pending' AND next_attempt_at <= $1 "
        "ORDER BY due_at, created_at, callback_id LIMIT $2 OFFSET $3",
        now,
        limit,
        offset,
    )
    total = await pool.fetchval(
        "SELECT count(*) FROM followup.callbacks WHERE status = 'pending' AND next_attempt_at <= $1", now
    )
    return [Callback(**dict(r)) for r in rows], total


async def contact(pool: asyncpg.Pool | asyncpg.Connection, complaint_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT name, phone, email, wechat_openid, preferred_contact FROM followup.contacts WHERE complaint_id = $1",
        complaint_id,
    )


async def record_outcome(
    ctx: FollowupContext, callback_id: uuid.UUID, outcome: CallbackOutcome, *, agent: str, note: str | None
) -> Callback:
    from services.followup.sla_clocks import escalate  # the ladder lives with the clocks

    async with unit_of_work(ctx.pool) as uow:
        conn = uow.conn
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM followup.callbacks WHERE callback_id = $1 FOR UPDATE", callback_id
        )
        if row is None:
            raise CallbackNotFound(f"no callback {callback_id}")
        cb = Callback(**dict(row))
        if cb.status != "pending":
            raise CallbackClosed(f"callback {callback_id} is already {cb.status}")
        bind_case(complaint_id=str(cb.complaint_id))
        now = ctx.clock()
        order = await conn.fetchrow(
            "SELECT severity, correlation_id FROM followup.work_orders WHERE work_order_id = $1", cb.work_order_id
        )
        correlation_id = order["correlation_id"]
        attempts = cb.attempts + 1
        final = outcome != "unreachable" or attempts >= ctx.callback_max_attempts
        status = outcome if final else "pending"
        next_attempt = now if final else now + ctx.retry_interval
        await conn.execute(
            "UPDATE followup.callbacks SET status = $2, attempts = $3, next_attempt_at = $4, last_note = $5, "
            "last_agent = $6, completed_at = CASE WHEN $7::boolean THEN $8::timestamptz END WHERE callback_id = $1",
            callback_id,
            status,
            attempts,
            next_attempt,
            note,
            agent,
            final,
            now,
        )
        envelope = {
            "complaint_id": cb.complaint_id,
            "producer": "followup",
            "correlation_id": correlation_id,
            "occurred_at": now,
        }
        events: list[Event] = [
            new_event(
                CallbackAttempted,
                **envelope,
                payload=CallbackAttemptPayload(
                    **_facts(cb, now), outcome=outcome, attempt=attempts, agent=agent, final=final
                ),
            )
        ]
        if final:
            await timers.cancel(conn, callback_id, ["callback"], now)
        if outcome == "satisfied" or (outcome == "unreachable" and final):
            events += await _close(
                ctx, conn, cb, "satisfied" if outcome == "satisfied" else "unreachable", now, envelope
            )
        elif outcome == "dissatisfied":
            count = await conn.fetchval(
                "UPDATE followup.cases SET dissatisfied_count = dissatisfied_count + 1 WHERE complaint_id = $1 "
                "RETURNING dissatisfied_count",
                cb.complaint_id,
            )
            events.append(
                new_event(
                    ComplaintReopened,
                    **envelope,
                    payload=ComplaintReopenedPayload(
                        complaint_id=cb.complaint_id,
                        reference_no=cb.reference_no,
                        reason=f"customer dissatisfied: {note or 'no note'}",
                        previous_work_order_id=cb.work_order_id,
                        severity=_RAISED[order["severity"]],
                        reopen_count=count,
                        reopened_at=now,
                    ),
                )
            )
            if count >= 2:
                events += await escalate(
                    ctx,
                    conn,
                    complaint_id=cb.complaint_id,
                    subject_id=cb.callback_id,
                    reference_no=cb.reference_no,
                    department=cb.department,
                    correlation_id=correlation_id,
                    stage="satisfaction",
                    level=len(ctx.sla.escalation_ladder),
                    deadline=None,
                    reason=f"customer dissatisfied {count} times",
                    timer_id=None,
                    template_id="dissatisfied_again",
                    now=now,
                )
        await outbox.add(conn, "followup", events)
        uow.commit()
    log.info("callback outcome recorded", outcome=outcome, attempt=attempts, final=final)
    return Callback(
        **{
            **cb.__dict__,
            "status": status,
            "attempts": attempts,
            "next_attempt_at": next_attempt,
            "last_note": note,
            "last_agent": agent,
            "completed_at": now if final else None,
        }
    )


async def _close(
    ctx: FollowupContext,
    conn: asyncpg.Connection,
    cb: Callback,
    outcome: str,
    now: datetime,
    envelope: dict[str, Any],
) -> list[Event]:
    await conn.execute(
        "UPDATE followup.cases SET closed_at = $2, close_outcome = $3 WHERE complaint_id = $1",
        cb.complaint_id,
        now,
        outcome,
    )
    events: list[Event] = [
        new_event(
            ComplaintClosed,
            **envelope,
            payload=ComplaintClosedPayload(
                complaint_id=cb.complaint_id,
                reference_no=cb.reference_no,
                work_order_id=cb.work_order_id,
                outcome=outcome,
                cycles=cb.cycle,
                closed_at=now,
            ),
        )
    ]
    phone = await conn.fetchval("SELECT phone FROM followup.contacts WHERE complaint_id = $1", cb.complaint_id)
    if outcome == "satisfied" and phone:
        events += await ctx.notifier.request(
            conn,
            complaint_id=cb.complaint_id,
            correlation_id=envelope["correlation_id"],
            template_id="case_closed",
            recipient=Recipient(kind="customer", phone=phone),
            params={"reference_no": cb.reference_no},
            at=now,
        )
    return events
