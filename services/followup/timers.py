"""Timers are rows: scheduled idempotently, cancelled when a step is done in time, and claimed when due
with `FOR UPDATE SKIP LOCKED` — so several followup processes share them, each fires once, and a
restart loses none (a claim that dies with its process rolls back and the timer is due again)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.contracts import Event
from shared.logging import bind_case, clear_case, get_logger
from shared.outbox import add as add_to_outbox

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    timer_id: int
    complaint_id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    stage: str
    level: int
    due_at: datetime
    deadline: datetime | None


async def schedule(
    conn: asyncpg.Connection,
    *,
    complaint_id: uuid.UUID,
    subject_id: uuid.UUID,
    kind: str,
    stage: str,
    due_at: datetime,
    deadline: datetime | None = None,
    level: int = 0,
) -> None:
    """Idempotent: the same (subject, kind, stage, level) is scheduled once, redeliveries change nothing."""
    await conn.execute(
        "INSERT INTO followup.timers (complaint_id, subject_id, kind, stage, level, due_at, deadline) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subject_id, kind, stage, level) DO NOTHING",
        complaint_id,
        subject_id,
        kind,
        stage,
        level,
        due_at,
        deadline,
    )
    await conn.execute("SELECT pg_notify('followup_timers', '')")


async def cancel(conn: asyncpg.Connection, subject_id: uuid.UUID, stages: Iterable[str], at: datetime) -> int:
    status = await conn.execute(
        "UPDATE followup.timers SET cancelled_at = $3 WHERE subject_id = $1 AND stage = ANY($2::text[]) "
        "AND fired_at IS NULL AND cancelled_at IS NULL",
        subject_id,
        list(stages),
        at,
    )
    return int(status.split()[-1])


FireTimer = Callable[[asyncpg.Connection, Timer, datetime], Awaitable[list[Event]]]


class TimerWorker:
    """Fires due timers in batches, one transaction per batch (claim + effects + outbox)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        fire: FireTimer,
        clock: Callable[[], datetime],
        *,
        name: str,
        batch_size: int = 200,
        poll_interval: float = 0.5,
    ) -> None:
        self.pool = pool
        self.fire = fire
        self.clock = clock
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.fired = 0

    async def fire_due(self) -> int:
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT timer_id, complaint_id, subject_id, kind, stage, level, due_at, deadline FROM followup.timers "
                "WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 "
                "ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                now,
                self.batch_size,
            )
            events: list[Event] = []
            for row in rows:
                timer = Timer(**dict(row))
                bind_case(complaint_id=str(timer.complaint_id))
                events += await self.fire(conn, timer, now)
            clear_case()
            if rows:
                await conn.execute(
                    "UPDATE followup.timers SET fired_at = $2, fired_by = $3 WHERE timer_id = ANY($1::bigint[])",
                    [r["timer_id"] for r in rows],
                    now,
                    self.name,
                )
                await add_to_outbox(conn, "followup", events)
        self.fired += len(rows)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()

        def on_notify(*_: object) -> None:
            wake.set()

        listener: asyncpg.Connection | None = None
        backoff = 0.5
        while not stop.is_set():
            try:
                if listener is None or listener.is_closed():
                    if listener is not None:
                        await self._release(listener, on_notify)
                    listener = await self.pool.acquire()
                    await listener.add_listener("followup_timers", on_notify)
                if await self.fire_due() >= self.batch_size:
                    continue
                backoff = 0.5
                wake.clear()
                waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
                await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
                log.warning("timer worker cannot reach the database, retrying", error=repr(exc))
                listener = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
        if listener is not None:
            await self._release(listener, on_notify)

    async def _release(self, listener: asyncpg.Connection, on_notify: Callable[..., None]) -> None:
        with contextlib.suppress(Exception):
            await listener.remove_listener("followup_timers", on_notify)
        with contextlib.suppress(Exception):
            await self.pool.release(listener)
