"""Reporting run in-process behind an httpx client, and a fresh database for isolated scenarios."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from fastapi import FastAPI

from operations.migrations import apply_all
from services.reporting.bootstrap import create_app
from services.reporting.settings import ReportingSettings
from shared.http.person import PersonTokens
from tests.support.apps import running_app

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


@asynccontextmanager
async def fresh_database(database_url: str) -> AsyncIterator[str]:
    """A new, migrated database on the same server, dropped afterwards."""
    name = f"scenario_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(database_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    await apply_all(url)
    try:
        yield url
    finally:
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
