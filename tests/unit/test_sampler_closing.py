"""A service's metric samplers that hold something open between scrapes (the lag sampler's Kafka clients) are
closed when its lifespan ends (`shared.http.service_app.closing_samplers`) — also when the lifespan fails, and one
closer failing does not keep the others open. A sampler object that fails at a scrape is named in the log by its
class, as a sampler function is by its name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
from fastapi import FastAPI, Request

from shared.http.service_app import create_service_app
from shared.observability.metrics import sample


class Kept:
    """A sampler with something to close."""

    def __init__(self, fails: bool = False) -> None:
        self.closed, self.fails = 0, fails

    async def __call__(self) -> None:
        if self.fails:
            raise RuntimeError("the broker is gone")

    async def aclose(self) -> None:
        self.closed += 1
        if self.fails:
            raise RuntimeError("the broker is gone")


async def _plain() -> None:
    return None


async def _ready(_: Request) -> dict[str, object]:
    return {}


def _app(samplers: list[Any], *, fail_on_stop: bool = False) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.metric_samplers = samplers
        yield
        if fail_on_stop:
            raise RuntimeError("the pool would not close")

    return create_service_app(title="sampled", description="samplers under test", lifespan=lifespan, readiness=_ready)


async def test_samplers_with_something_open_are_closed_once_when_the_lifespan_ends() -> None:
    kept, failing, other = Kept(), Kept(fails=True), Kept()
    app = _app([kept, _plain, failing, other])
    async with app.router.lifespan_context(app):
        assert (kept.closed, failing.closed, other.closed) == (0, 0, 0), "closed while the service runs"
    assert (kept.closed, failing.closed, other.closed) == (1, 1, 1)


async def test_they_are_closed_when_the_lifespan_fails_on_its_way_out_too() -> None:
    kept = Kept()
    app = _app([kept], fail_on_stop=True)
    with pytest.raises(RuntimeError, match="pool would not close"):
        async with app.router.lifespan_context(app):
            pass
    assert kept.closed == 1


async def test_a_failing_sampler_object_or_function_is_named_in_the_log_and_the_others_still_run() -> None:
    async def failing_function() -> None:
        raise RuntimeError("the database is gone")

    ran: list[str] = []

    async def fine() -> None:
        ran.append("fine")

    with structlog.testing.capture_logs() as logs:
        await sample([Kept(fails=True), failing_function, fine])
    named = sorted(entry["sampler"] for entry in logs if entry["event"] == "metrics sampler failed")
    assert named == [
        "Kept",
        "test_a_failing_sampler_object_or_function_is_named_in_the_log_and_the_others_still_run.<locals>.failing_function",
    ]
    assert ran == ["fine"]
