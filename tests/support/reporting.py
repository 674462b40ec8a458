"""Reporting run in-process behind an httpx client, a fresh database for isolated scenarios, and the two together
with a scenario's events published and projected (the module fixture of the scripted-period tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from operations.migrations import apply_all
from services.reporting.bootstrap import create_app
from services.reporting.settings import ReportingSettings
from shared.contracts import Event
from shared.http.person import PersonTokens
from tests.support.apps import running_app
from tests.support.databases import scratch_database
from tests.support.kafka import publish, wait_until

MANAGER = {"X-API-Key": "dev-only-manager-key"}
AGENT = {"X-API-Key": "dev-only-reporting-agent-key"}


@asynccontextmanager
async def running_reporting(
    database_url: str,
    bootstrap: str,
    *,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(
        create_app,
        ReportingSettings,
        name="reporting",
        database_url=database_url,
        bootstrap=bootstrap,
        group_setting="reporting_consumer_group",
        create_kwargs={"clock": clock, "persons": persons},
        **{**overrides},
    ) as running:
        yield running


def fresh_database(database_url: str) -> AbstractAsyncContextManager[str]:
    """A new database on the same server with every service's migrations, dropped afterwards."""
    return scratch_database(database_url, "scenario", apply_all)


async def wait_until_in_timeline(dsn: str, events: Sequence[Event], *, timeout: float = 90) -> None:
    """Until every one of `events` is in reporting's timeline: the topics are read at different paces behind the
    session's other traffic, so a figure read earlier could miss some of them."""
    ids = [e.event_id for e in events]
    conn = await asyncpg.connect(dsn)
    try:

        async def projected() -> bool:
            seen = await conn.fetchval("SELECT count(*) FROM reporting.timeline WHERE event_id = ANY($1::uuid[])", ids)
            return bool(seen == len(ids))

        await wait_until(projected, timeout=timeout, interval=0.3)
    finally:
        await conn.close()


@asynccontextmanager
async def reporting_with_projected(
    database_url: str, bootstrap: str, published: Sequence[Event], **running: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """Reporting (`running`: what `running_reporting` takes) on a fresh database, with `published` on the session
    broker and all of it projected: (the client, the database's URL)."""
    async with (
        fresh_database(database_url) as dsn,
        running_reporting(dsn, bootstrap, **running) as (app, client),
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        await publish(bootstrap, *published)
        await wait_until_in_timeline(dsn, published)
        yield client, dsn
