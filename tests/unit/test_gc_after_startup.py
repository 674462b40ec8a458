"""A service's server freezes what its lifespan built and collects the youngest generation less often
(`shared.runtime.FrozenAfterStartup`): the cyclic collector had been a fifth to a third of the consumers' CPU."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from fastapi import FastAPI

from shared.runtime import GC_YOUNG_THRESHOLD, FrozenAfterStartup


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """The test process's collector as it was: thresholds, and nothing left frozen by this test."""
    thresholds = gc.get_threshold()
    frozen = gc.get_freeze_count()
    yield
    gc.set_threshold(*thresholds)
    if gc.get_freeze_count() != frozen:
        gc.unfreeze()


async def test_what_the_lifespan_built_is_frozen_and_young_collections_are_rarer(collector_restored: None) -> None:
    built: list[object] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A model's or an index's worth of long-lived container objects, made while the service starts.
        built.extend({"term": i, "pieces": [i, i + 1]} for i in range(20_000))
        yield

    server = FrozenAfterStartup(uvicorn.Config(FastAPI(lifespan=lifespan), host="127.0.0.1", port=0, log_config=None))
    before = gc.get_freeze_count()
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        assert not serving.done() and time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.01)
    try:
        assert built, "the lifespan ran"
        # Each dict and its list, at least: everything the lifespan built is out of the collector's generations.
        assert gc.get_freeze_count() - before >= 2 * len(built)
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        oldest = {id(o) for o in gc.get_objects(generation=2)}
        assert not any(id(x) in oldest for x in built), "a frozen object is no longer in the oldest generation"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
