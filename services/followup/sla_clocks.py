"""SLA clocks of a work order: scheduled when it is assigned, stopped step by step as the department
acts, and — when they run out — a warning at a share of the limit, then the escalation ladder one
rung per interval, each rung an event and a notification to the people concerned."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from services.followup import callbacks, timers
from services.followup.context import FollowupContext
from services.followup.timers import Timer
from shared.contracts import (
    ComplaintEscalated,
    ComplaintEscalatedPayload,
    Department,
    Event,
    Recipient,
    SlaWarning,
    SlaWarningPayload,
    WorkOrderAssigned,
    WorkOrderEvent,
    new_event,
)
from shared.idempotency import first_delivery
from shared.logging import get_logger

log = get_logger(__name__)
#: Which stages a work-order event completes (their clocks stop).
STOPS = {
    "workorder.acknowledged": ("acknowledge",),
    "workorder.started": ("acknowledge", "on_site"),
    "workorder.resolved": ("acknowledge", "on_site", "resolve", "interim_reply"),
    "workorder.returned": ("acknowledge", "on_site", "resolve", "interim_reply"),
    "workorder.reassigned": ("acknowledge", "on_site", "resolve", "interim_reply"),
}
CONTACT_RETRIES = 12
CONTACT_RETRY_DELAY = timedelta(seconds=5)
STAGE_LABELS = {
    "zh": {"acknowledge": "签收", "on_site": "到场", "resolve": "办结", "callback": "回访", "satisfaction": "满意度"},
    "en": {
        "acknowledge": "acknowledgement",
        "on_site": "on-site",
        "resolve": "resolution",
        "callback": "callback",
        "satisfaction": "satisfaction",
    },
}


async def on_work_order_event(ctx: FollowupContext, conn: asyncpg.Connection, event: WorkOrderEvent) -> list[Event]:
    if not await first_delivery(conn, "followup", "followup.work-orders", event.event_id):
        return []
    p = event.payload
    if isinstance(event, WorkOrderAssigned):
        await _track(ctx, conn, event)
        return []
    stopped = STOPS.get(event.event_type)
    if stopped is None:
        return []  # notes change no clock
    column = {
        "workorder.acknowledged": "acknowledged_at",
        "workorder.started": "started_at",
        "workorder.resolved": "resolved_at",
    }.get(event.event_type)
    updates = f", {column} = COALESCE({column}, $3)" if column else ""
    await conn.execute(
        f"UPDATE followup.work_orders SET status = $2{updates} WHERE work_order_id = $1",
        p.work_order_id,
        p.status.value,
        *([p.at] if column else []),
    )
    await timers.cancel(conn, p.work_order_id, stopped, ctx.clock())
    if event.event_type == "workorder.resolved":
        return await callbacks.schedule_callback(ctx, conn, event)  # type: ignore[arg-type]
    return []


async def _track(ctx: FollowupContext, conn: asyncpg.Connection, event: WorkOrderAssigned) -> None:
    p = event.payload
    d = p.deadlines
    await conn.execute(
        "INSERT INTO followup.cases (complaint_id, reference_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        p.complaint_id,
        p.reference_no,
    )
    await conn.execute(
        "INSERT INTO followup.work_orders (work_order_id, complaint_id, reference_no, department, cycle, category, "
        "severity, channel, starts_at, acknowledge_by, on_site_by, resolve_by, interim_reply_by, callback_limit, "
        "status, correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'assigned', $15) "
        "ON CONFLICT (work_order_id) DO NOTHING",
        p.work_order_id,
        p.complaint_id,
        p.reference_no,
        p.department.value,
        p.cycle,
        p.category.value,
        p.severity.value,
        p.channel.value,
        d.starts_at,
        d.acknowledge_by,
        d.on_site_by,
        d.resolve_by,
        d.interim_reply_by,
        d.callback_limit,
        event.correlation_id,
    )
    share = ctx.sla.warning_share
    for stage, deadline in (("acknowledge", d.acknowledge_by), ("on_site", d.on_site_by), ("resolve", d.resolve_by)):
        if deadline is None:
            continue
        warn_at = d.starts_at + (deadline - d.starts_at) * share
        common = {"complaint_id": p.complaint_id, "subject_id": p.work_order_id, "stage": stage, "deadline": deadline}
        await timers.schedule(conn, kind="warning", due_at=warn_at, **common)
        await timers.schedule(conn, kind="breach", level=1, due_at=deadline, **common)
    if d.interim_reply_by is not None:
        await timers.schedule(
            conn,
            complaint_id=p.complaint_id,
            subject_id=p.work_order_id,
            kind="interim_reply",
            stage="interim_reply",
            due_at=d.interim_reply_by,
            deadline=d.interim_reply_by,
        )


async def fire(ctx: FollowupContext, conn: asyncpg.Connection, timer: Timer, now: datetime) -> list[Event]:
    """What a due timer does. Stages that were completed meanwhile were cancelled, so a timer that fires
    is a clock that really ran out."""
    if timer.stage == "callback":
        subject = await callbacks.subject(conn, timer.subject_id)
    else:
        subject = await conn.fetchrow(
            "SELECT w.complaint_id, w.reference_no, w.department, w.correlation_id, w.status, c.phone "
            "FROM followup.work_orders w LEFT JOIN followup.contacts c ON c.complaint_id = w.complaint_id "
            "WHERE w.work_order_id = $1",
            timer.subject_id,
        )
    if subject is None:
        log.warning("timer for an unknown subject", timer_id=timer.timer_id)
        return []
    if timer.kind == "interim_reply":
        return await _interim_reply(ctx, conn, timer, subject, now)
    if timer.kind == "warning":
        return await _warning(ctx, conn, timer, subject, now)
    if timer.kind == "breach":
        return await _escalate_rung(ctx, conn, timer, subject, now)
    log.warning("unknown timer kind", kind=timer.kind)
    return []


async def _interim_reply(
    ctx: FollowupContext, conn: asyncpg.Connection, timer: Timer, subject: asyncpg.Record, now: datetime
) -> list[Event]:
    if not subject["phone"]:
        # The contact travels on its own topic and may not have arrived yet: look again shortly.
        if timer.level < CONTACT_RETRIES:
            await timers.schedule(
                conn,
                complaint_id=timer.complaint_id,
                subject_id=timer.subject_id,
                kind="interim_reply",
                stage=timer.stage,
                level=timer.level + 1,
                due_at=now + CONTACT_RETRY_DELAY * ctx.time_scale,
                deadline=timer.deadline,
            )
        else:
            log.warning("no contact for the interim reply", attempts=timer.level + 1)
        return []
    return await ctx.notifier.request(
        conn,
        complaint_id=timer.complaint_id,
        correlation_id=subject["correlation_id"],
        template_id="interim_reply",
        recipient=Recipient(kind="customer", phone=subject["phone"]),
        params={"reference_no": subject["reference_no"]},
        at=now,
    )


def _params(subject: asyncpg.Record, stage: str, deadline: datetime | None, ctx: FollowupContext) -> dict[str, str]:
    local = deadline.astimezone(ctx.sla.calendar.tz).strftime("%Y-%m-%d %H:%M") if deadline else "-"
    return {
        "reference_no": subject["reference_no"],
        "department": subject["department"],
        "stage": STAGE_LABELS[ctx.notifier.locale].get(stage, stage),
        "deadline": local,
    }


async def _warning(
    ctx: FollowupContext, conn: asyncpg.Connection, timer: Timer, subject: asyncpg.Record, now: datetime
) -> list[Event]:
    assert timer.deadline is not None
    warning = new_event(
        SlaWarning,
        complaint_id=timer.complaint_id,
        producer="followup",
        correlation_id=subject["correlation_id"],
        occurred_at=now,
        payload=SlaWarningPayload(
            complaint_id=timer.complaint_id,
            reference_no=subject["reference_no"],
            work_order_id=timer.subject_id,
            department=subject["department"],
            stage=timer.stage,
            deadline=timer.deadline,
            warned_at=now,
            share=ctx.sla.warning_share,
        ),
    )
    notify = await ctx.notifier.request(
        conn,
        complaint_id=timer.complaint_id,
        correlation_id=subject["correlation_id"],
        template_id="sla_warning",
        recipient=Recipient(kind="staff", role=ctx.sla.escalation_ladder[0], department=subject["department"]),
        params=_params(subject, timer.stage, timer.deadline, ctx),
        at=now,
    )
    return [warning, *notify]


async def _escalate_rung(
    ctx: FollowupContext, conn: asyncpg.Connection, timer: Timer, subject: asyncpg.Record, now: datetime
) -> list[Event]:
    ladder = ctx.sla.escalation_ladder
    level = min(timer.level, len(ladder))
    events = await escalate(
        ctx,
        conn,
        complaint_id=timer.complaint_id,
        subject_id=timer.subject_id,
        reference_no=subject["reference_no"],
        department=subject["department"],
        correlation_id=subject["correlation_id"],
        stage=timer.stage,
        level=level,
        deadline=timer.deadline,
        reason=f"{timer.stage} deadline passed",
        timer_id=timer.timer_id,
        template_id="escalation",
        now=now,
    )
    if level < len(ladder):
        await timers.schedule(
            conn,
            complaint_id=timer.complaint_id,
            subject_id=timer.subject_id,
            kind="breach",
            stage=timer.stage,
            level=level + 1,
            due_at=ctx.after(timer.due_at, ctx.escalation_interval),
            deadline=timer.deadline,
        )
    return events


async def escalate(
    ctx: FollowupContext,
    conn: asyncpg.Connection,
    *,
    complaint_id: uuid.UUID,
    subject_id: uuid.UUID | None,
    reference_no: str,
    department: str,
    correlation_id: str,
    stage: str,
    level: int,
    deadline: datetime | None,
    reason: str,
    timer_id: int | None,
    template_id: str,
    now: datetime,
) -> list[Event]:
    """One rung of the ladder: recorded, published, and the person at that rung notified."""
    role = ctx.sla.escalation_ladder[level - 1]
    await conn.execute(
        "INSERT INTO followup.escalations (complaint_id, subject_id, stage, level, escalated_to, reason, timer_id, at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        complaint_id,
        subject_id,
        stage,
        level,
        role,
        reason,
        timer_id,
        now,
    )
    log.warning("complaint escalated", stage=stage, level=level, escalated_to=role)
    escalated = new_event(
        ComplaintEscalated,
        complaint_id=complaint_id,
        producer="followup",
        correlation_id=correlation_id,
        occurred_at=now,
        payload=ComplaintEscalatedPayload(
            complaint_id=complaint_id,
            reference_no=reference_no,
            work_order_id=subject_id if stage != "callback" else None,
            department=Department(department),
            stage=stage,
            level=level,
            escalated_to=role,
            deadline=deadline,
            reason=reason,
            escalated_at=now,
        ),
    )
    params = {
        "reference_no": reference_no,
        "department": department,
        "stage": STAGE_LABELS[ctx.notifier.locale].get(stage, stage),
        "deadline": deadline.astimezone(ctx.sla.calendar.tz).strftime("%Y-%m-%d %H:%M") if deadline else "-",
        "escalated_to": role,
    }
    if template_id == "dissatisfied_again":
        params = {"reference_no": reference_no, "department": department}
    notify = await ctx.notifier.request(
        conn,
        complaint_id=complaint_id,
        correlation_id=correlation_id,
        template_id=template_id,
        recipient=Recipient(kind="staff", role=role, department=Department(department)),
        params=params,
        at=now,
    )
    return [escalated, *notify]
