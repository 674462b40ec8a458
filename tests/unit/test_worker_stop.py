"""A service's stop is bounded: a background worker that ignores the stop signal is cancelled, by name, so the
process exits (an orphaned service whose runner, Postgres and Kafka are gone must not live for ever)."""

from __future__ import annotations

import asyncio
import time

import structlog

from shared.runtime import stop_workers


async def _finishes_its_batch(stop: asyncio.Event, done: list[str]) -> None:
    await stop.wait()
    await asyncio.sleep(0.01)  # the batch in hand
    done.append("finished")


async def _ignores_stop(stop: asyncio.Event, cancelled: list[str]) -> None:
    try:
        await asyncio.Event().wait()  # e.g. a pool acquire from a database that is gone for good
    except asyncio.CancelledError:
        cancelled.append("cancelled")
        raise


async def test_a_worker_that_ignores_stop_is_cancelled_and_named_and_the_others_finish() -> None:
    stop = asyncio.Event()
    done: list[str] = []
    cancelled: list[str] = []
    tasks = [
        asyncio.create_task(_finishes_its_batch(stop, done), name="svc:relay"),
        asyncio.create_task(_ignores_stop(stop, cancelled), name="svc:sender"),
    ]
    await asyncio.sleep(0)
    stop.set()
    began = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        await stop_workers(tasks, service="svc", within_s=0.3)
    assert 0.3 <= time.monotonic() - began < 2.0
    assert done == ["finished"] and cancelled == ["cancelled"]
    [line] = [entry for entry in logs if entry["event"] == "background workers did not stop in time, cancelled"]
    assert line["workers"] == ["svc:sender"]


async def test_workers_that_stop_are_not_waited_for_until_the_bound() -> None:
    stop = asyncio.Event()
    done: list[str] = []
    tasks = [asyncio.create_task(_finishes_its_batch(stop, done), name=f"svc:{n}") for n in range(3)]
    stop.set()
    began = time.monotonic()
    await stop_workers(tasks, service="svc", within_s=30)
    assert time.monotonic() - began < 1.0
    assert done == ["finished"] * 3


async def test_a_service_without_workers_stops_at_once() -> None:
    began = time.monotonic()
    await stop_workers([], service="svc", within_s=5)  # asyncio.wait refuses an empty set
    assert time.monotonic() - began < 1.0
