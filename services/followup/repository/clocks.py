"""Timers and escalations: every clock as rows, claimed when due with `FOR UPDATE SKIP LOCKED`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime

import asyncpg

from services.followup.model import (
    EscalationRecord,
    Timer,
    TimerPlan,
    TimerState,
)
from services.followup.repository.rows import (
    TIMERS_CHANNEL,
    Rows,
    placeholders,
    values_of,
)

#: A timer's columns as `schedule_all` sends them (one array per column), with their Postgres types.
_TIMER_COLUMNS = (
    ("complaint_id", "uuid"),
    ("subject_id", "uuid"),
    ("kind", "text"),
    ("stage", "text"),
    ("level", "integer"),
    ("due_at", "timestamptz"),
    ("deadline", "timestamptz"),
    ("ladder", "text"),
)


class ClockTables(Rows):
    """Timers and escalations: every clock as rows, claimed when due with `FOR UPDATE SKIP LOCKED`."""

    #: Whether this unit of work already woke the timer worker (one NOTIFY per transaction).
    _timers_notified = False

    async def schedule(self, plan: TimerPlan) -> None:
        await self.schedule_all([plan])

    async def schedule_all(self, plans: Sequence[TimerPlan]) -> None:
        """All the plans in one multi-row INSERT (one round trip); the timer worker is woken once per unit of work
        (the first schedule of the transaction carries the NOTIFY in the same statement; Postgres delivers it on
        commit, and a later one in the same transaction would add nothing)."""
        if not plans:
            return
        columns = [[getattr(p, name) for p in plans] for name, _ in _TIMER_COLUMNS]
        insert = (
            f"INSERT INTO followup.timers ({', '.join(name for name, _ in _TIMER_COLUMNS)}) "
            f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, (_, t) in enumerate(_TIMER_COLUMNS, 1))}) "
            "ON CONFLICT (subject_id, kind, stage, level) DO NOTHING"
        )
        if self._timers_notified:
            await self.conn.execute(insert, *columns)
            return
        await self.conn.execute(f"WITH scheduled AS ({insert}) SELECT pg_notify('{TIMERS_CHANNEL}', '')", *columns)
        self._timers_notified = True

    async def cancel(self, subject_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
        status = await self.conn.execute(
            "UPDATE followup.timers SET cancelled_at = $3 WHERE subject_id = $1 AND stage = ANY($2::text[]) "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            subject_id,
            list(stages),
            at,
        )
        return int(status.split()[-1])

    async def reschedule(self, plans: Sequence[TimerPlan]) -> None:
        if not plans:
            return
        await self.conn.executemany(
            "UPDATE followup.timers SET due_at = $5, deadline = $6 WHERE subject_id = $1 AND kind = $2 AND stage = $3 "
            "AND level = $4 AND fired_at IS NULL AND cancelled_at IS NULL",
            [(p.subject_id, p.kind, p.stage, p.level, p.due_at, p.deadline) for p in plans],
        )
        if not self._timers_notified:  # a timer brought forward may be due before the worker's next poll
            await self.conn.execute(f"SELECT pg_notify('{TIMERS_CHANNEL}', '')")
            self._timers_notified = True

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
        names = [f.name for f in fields(record)]
        await self.conn.execute(
            f"INSERT INTO followup.escalations ({', '.join(names)}) VALUES ({placeholders(len(names))})",
            *values_of(record),
        )

    async def escalations_of(self, complaint_id: uuid.UUID) -> list[EscalationRecord]:
        names = ", ".join(f.name for f in fields(EscalationRecord))
        rows = await self.conn.fetch(
            f"SELECT {names} FROM followup.escalations WHERE complaint_id = $1 ORDER BY id", complaint_id
        )
        return [EscalationRecord(**dict(r)) for r in rows]

    async def due_timers(self) -> int:
        due = await self.conn.fetchval(
            "SELECT count(*) FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()"
        )
        return int(due)


async def timer_backlog(pool: asyncpg.Pool) -> list[tuple[str, int, int, float]]:
    """Per timer kind: scheduled and not yet fired or cancelled, how many of those are past due, and how long
    the oldest of them is late — for the timer gauges (read at scrape time; the partial index covers it)."""
    rows = await pool.fetch(
        "SELECT kind, count(*) AS pending, count(*) FILTER (WHERE due_at <= now()) AS overdue, "
        "coalesce(extract(epoch FROM now() - min(due_at) FILTER (WHERE due_at <= now())), 0) AS late "
        "FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL GROUP BY kind"
    )
    return [(r["kind"], r["pending"], r["overdue"], float(r["late"])) for r in rows]
