"""Channels' background workers (the mailbox reader, the partner pushes), as one table (`WORKERS`), started in the
app's lifespan with the consumers and the outbox relay, and stopped with them (`shared.runtime.background_work`:
each runs until its `stop` event is set, restarted with backoff if it crashes).

Registration point (shared): an area adds one import and one line, a factory that gets what the service built
(`deps.Running`) and returns its worker — `async def run(stop: asyncio.Event) -> None` — or None when it is not
configured (no mailbox, no partner endpoint), e.g.

    from services.channels.mail.reader import mailbox_reader
    ...
    WORKERS = (mailbox_reader, ...)

A worker does its units of work through `running.door` (`await door.run(use_case, command)`), never on the pool.
"""

from __future__ import annotations

from services.channels.deps import Running, WorkerFactory
from services.channels.mail.worker import mailbox_reader
from services.channels.partners.worker import partner_pusher
from shared.runtime import Worker

WORKERS: tuple[WorkerFactory, ...] = (mailbox_reader, partner_pusher)


def started(running: Running) -> list[Worker]:
    """The configured workers of `WORKERS`, in order."""
    return [worker for factory in WORKERS if (worker := factory(running)) is not None]
