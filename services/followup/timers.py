"""The timer worker's loop. Timers are rows (see `repository.py`): scheduled idempotently, cancelled when a
step is done in time, and claimed when due with `FOR UPDATE SKIP LOCKED` — so several followup processes
share them, each fires once, and a restart loses none (a claim that dies with its process rolls back and
the timer is due again). Claiming and firing is `FollowupHandlers.fire_due_timers`, one unit of work per
batch; this loop only decides when to call it: at once while batches come back full, on a NOTIFY when a
timer is scheduled, and otherwise every poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

from services.followup.repository import TIMERS_CHANNEL
from shared.logging import get_logger

log = get_logger(__name__)


class TimerWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        fire_due: Callable[..., Awaitable[int]],
        *,
        name: str,
        batch_size: int = 200,
        poll_interval: float = 0.5,
    ) -> None:
        #: Only for the LISTEN connection that wakes the loop; the timers themselves go through `fire_due`.
        self.pool = pool
        self._fire_due = fire_due
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.fired = 0

    async def fire_due(self) -> int:
        fired = await self._fire_due(worker=self.name, batch_size=self.batch_size)
        self.fired += fired
        return fired

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
                    await listener.add_listener(TIMERS_CHANNEL, on_notify)
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
            await listener.remove_listener(TIMERS_CHANNEL, on_notify)
        with contextlib.suppress(Exception):
            await self.pool.release(listener)
