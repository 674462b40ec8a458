"""What every service's process shares: a database pool that waits for Postgres, Kafka consumers started
in the background so HTTP serves (and the outbox fills) while Kafka is down, background workers stopped
in order, and the uvicorn entry point."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from faststream.kafka import KafkaBroker

from shared.db import create_pool, refuse_unverified_database
from shared.http.request_context import configure_access_log
from shared.logging import configure_logging, get_logger
from shared.pending_tasks import pending_tasks
from shared.settings import ServiceSettings

log = get_logger(__name__)


async def connect_with_retry(settings: ServiceSettings, deadline_s: float = 60) -> asyncpg.Pool:
    """The service's pool, once Postgres answers; outside dev only over verified TLS (a refusal is not retried)."""
    refuse_unverified_database(settings.app_env, settings.database_url)
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return await create_pool(
                settings.database_url,
                min_size=settings.database_pool_min,
                max_size=settings.database_pool_max,
                server_settings=session_settings(settings),
            )
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database not reachable yet", error=repr(exc))
            await asyncio.sleep(1)


def session_settings(settings: ServiceSettings) -> dict[str, str]:
    """What the service's database sessions set at connection (startup parameters): nothing unless a setting asks,
    so a connection pooler in front of Postgres that refuses unknown startup parameters still takes the others'."""
    mode = settings.database_plan_cache_mode
    return {} if mode == "auto" else {"plan_cache_mode": mode}


#: How long stopping waits for the database pool's connections to come back (`close_pool`).
POOL_CLOSE_TIMEOUT_S = 10.0


async def close_pool(pool: asyncpg.Pool, *, within_s: float = POOL_CLOSE_TIMEOUT_S) -> None:
    """Close the pool politely (each connection released, then closed) for at most `within_s`; then terminate it.

    Why: `Pool.close` waits for every acquired connection to come back, and one never came back when the database
    went away mid-shutdown (the runner stopped, and its Postgres with it): CI74 left a dispatch process alive after
    its runner, its log ending in "service stopped" and asyncpg's "Pool.close() is taking over 60 seconds"."""
    in_use = pool.get_size() - pool.get_idle_size()  # a cancelled close terminates the pool: counted before
    try:
        await asyncio.wait_for(pool.close(), timeout=within_s)
    except TimeoutError:
        log.error(
            "database pool did not close in time, terminated",
            timeout_s=within_s,
            in_use_when_closing=in_use,
            tasks=pending_tasks(exclude=asyncio.current_task()),  # who may still hold a connection
        )
        pool.terminate()


async def run_broker(broker: KafkaBroker, stop: asyncio.Event, state: dict[str, str]) -> None:
    """Start the Kafka consumers, retrying while the broker is down; `state["kafka"]` says how it went."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await broker.start()
            state["kafka"] = "connected"
            log.info("kafka consumers started")
            return
        except Exception as exc:
            state["kafka"] = "unavailable"
            log.warning("kafka not reachable yet, retrying", error=repr(exc))
            with contextlib.suppress(Exception):
                await broker.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 10)


Worker = Callable[[asyncio.Event], Awaitable[None]]
BROKER_STOP_TIMEOUT_S = 5.0
#: How long stopping waits for the background workers to finish their batches (`stop_workers`).
WORKERS_STOP_TIMEOUT_S = 15.0
WORKER_MAX_BACKOFF_S = 30.0


async def supervised(name: str, worker: Worker, stop: asyncio.Event, *, first_backoff: float = 1.0) -> None:
    """Run a background worker (outbox relay, timers) until `stop`, restarting it when it dies.

    Workers retry the failures they expect (database or broker down) themselves; this catches the rest — a
    bug, an unforeseen error — which would otherwise end the task silently while HTTP keeps answering 202
    and events pile up unpublished. Each crash is logged with its traceback; restarts back off up to 30 s."""
    backoff = first_backoff
    while not stop.is_set():
        try:
            await worker(stop)
            return
        except Exception:
            log.exception("background worker crashed, restarting", worker=name, backoff_s=backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, WORKER_MAX_BACKOFF_S)


def _name(worker: Worker) -> str:
    return getattr(worker, "__qualname__", repr(worker))


@asynccontextmanager
async def background_work(
    service: str, broker: KafkaBroker, kafka_state: dict[str, str], *workers: Worker
) -> AsyncIterator[None]:
    """Run a service's Kafka consumers and background workers (outbox relay, timers) for the lifespan
    of its app, and stop them in order: consumers first, then the workers, each finishing its batch."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(supervised(f"{service}:{_name(worker)}", worker, stop), name=f"{service}:{_name(worker)}")
        for worker in workers
    ]
    kafka = asyncio.create_task(run_broker(broker, stop, kafka_state), name=f"{service}-kafka")
    log.info("service started", service_name=service)
    try:
        yield
    finally:
        stop.set()
        # Consumers may still be joining their groups (seconds on a slow broker): stop starting them, and
        # give stop() a bound — offsets are committed after every handled batch, so nothing is lost.
        kafka.cancel()
        await asyncio.gather(kafka, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.stop(), timeout=BROKER_STOP_TIMEOUT_S)
        await stop_workers(tasks, service=service)
        log.info("service stopped", service_name=service)


async def stop_workers(
    tasks: list[asyncio.Task[None]], *, service: str, within_s: float = WORKERS_STOP_TIMEOUT_S
) -> None:
    """Let each worker finish its batch, for at most `within_s`; then cancel the ones still running, by name.

    Why a bound: a worker waiting on a dependency that is gone for good (the embedded runner crashed, and its
    Postgres and Kafka with it) would keep the process alive for ever after SIGTERM — an orphan holding its port
    and its consumer group. Nothing is lost by the cancel: offsets and outbox rows move only after a commit."""
    _, pending = await asyncio.wait(tasks, timeout=within_s) if tasks else (set(), set())
    if pending:
        log.error(
            "background workers did not stop in time, cancelled",
            service_name=service,
            workers=sorted(task.get_name() for task in pending),
            timeout_s=within_s,
        )
        for task in pending:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


#: Allocations (net of deallocations) between two collections of the youngest generation, once a service is up;
#: Python's default is 700. See `FrozenAfterStartup`.
GC_YOUNG_THRESHOLD = 50_000


class FrozenAfterStartup(uvicorn.Server):
    """uvicorn's server, which, once the app's lifespan has started (its pools, consumers, models and indexes built),
    moves everything alive into the collector's permanent generation and collects the youngest one less often.

    Why (issue 27, measured with a gc callback in a drain of 30,000): the cyclic collector took a fifth to a third
    of dispatch's, followup's and reporting's CPU, 0.8 ms per complaint. Every batch allocates tens of thousands
    of short-lived objects; at Python's default of a young collection every 700 allocations, a batch's objects are
    still alive when it runs, survive, and are promoted, so the full collections came every second or so, and each
    walked everything the lifespan had built (classifier, asset index, clients) again: 100-160 ms a time. Frozen,
    that is no longer walked; with a young collection every 50,000 allocations, a batch's objects mostly die
    before one, and few are promoted. Reference cycles are still collected, a little later."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        gc.collect()
        gc.freeze()
        _, middle, oldest = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


def serve(app: Any, *, service: str, host: str, port: int, log_level: str) -> None:
    """`python -m services.<name>`: JSON logs, a sampled access log (the rate from the settings every service's
    app keeps in `app.state.settings`), uvicorn without its own logging, graceful shutdown. With
    `SERVICE_LISTEN_FD` (the embedded runner's), it serves the listening socket it was handed instead of binding
    `host:port` itself: the runner bound the port first, so no other process can take it in between.

    Everything imported and built so far (modules, the app, its routes and models) lives as long as the process:
    `gc.freeze()` moves it out of the collector's generations, and again once the lifespan has run
    (`FrozenAfterStartup`)."""
    configure_logging(service, log_level)
    settings = getattr(app.state, "settings", None)
    configure_access_log(getattr(settings, "access_log_sample_rate", 1.0))
    gc.collect()
    gc.freeze()
    server = FrozenAfterStartup(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=10)
    )
    handed = os.environ.get("SERVICE_LISTEN_FD")
    server.run(sockets=[socket.socket(fileno=int(handed))] if handed else None)
