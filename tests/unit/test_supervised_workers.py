"""Background workers (outbox relay, timers) are restarted when an unexpected error kills them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from shared.runtime import supervised


async def _until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_crashed_worker_is_logged_and_restarted() -> None:
    stop, runs = asyncio.Event(), []

    async def worker(stop: asyncio.Event) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("a bug in the relay")
        await stop.wait()

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(supervised("intake:OutboxRelay.run", worker, stop, first_backoff=0.01))
        await _until(lambda: len(runs) == 2)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert runs == [0, 1]
    crashes = [entry for entry in logs if entry["event"] == "background worker crashed, restarting"]
    assert [c["worker"] for c in crashes] == ["intake:OutboxRelay.run"]
    assert crashes[0]["log_level"] == "error"


async def test_a_worker_that_returns_is_not_restarted_and_stop_ends_the_backoff() -> None:
    stop, runs = asyncio.Event(), []

    async def finishes(stop: asyncio.Event) -> None:
        runs.append("finished")

    await asyncio.wait_for(supervised("w", finishes, stop), timeout=5)
    assert runs == ["finished"]

    async def always_fails(stop: asyncio.Event) -> None:
        runs.append("failed")
        raise RuntimeError("again")

    task = asyncio.create_task(supervised("w", always_fails, stop, first_backoff=60))
    await _until(lambda: "failed" in runs)
    stop.set()
    await asyncio.wait_for(task, timeout=5)  # not the 60 s backoff
    assert runs == ["finished", "failed"]
