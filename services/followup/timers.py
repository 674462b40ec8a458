"""The timer worker's loop. Timers are rows (see `repository.py`): scheduled idempotently, cancelled when a
step is done in time, and claimed when due with `FOR UPDATE SKIP LOCKED` — so several followup processes
share them, each fires once, and a restart loses none (a claim that dies with its process rolls back and
the timer is due again). Claiming and firing is the use case `handlers/due_timers.py`, run through the door,
one unit of work per batch; this loop only decides when to run it: at once while batches come back full, on a
NOTIFY when a timer is scheduled, and otherwise every poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.followup.handlers.context import FollowupDoor
from services.followup.handlers.due_timers import FireDueTimers, fire_due_timers
from services.followup.repository import TIMERS_CHANNEL
from shared.logging import get_logger

log = get_logger(__name__)


class TimerWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        door: FollowupDoor,
        *,
        name: str,
        batch_size: int = 200,
        poll_interval: float = 0.5,
    ) -> None:
        #: Only for the LISTEN connection that wakes the loop; the timers themselves go through the door.
        self.pool = pool
        self.door = door
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.fired = 0

    async def fire_due(self) -> int:
        fired = await self.door.run(fire_due_timers, FireDueTimers(self.name, self.batch_size))
        self.fired += fired
        return fired

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()

        def on_notify(*_: object) -> None:
            wake.set()

        listener: PoolConnectionProxy[asyncpg.Record] | None = None
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

    async def _release(self, listener: PoolConnectionProxy[asyncpg.Record], on_notify: Callable[..., None]) -> None:
        with contextlib.suppress(Exception):
            await listener.remove_listener(TIMERS_CHANNEL, on_notify)
        with contextlib.suppress(Exception):
            await self.pool.release(listener)
