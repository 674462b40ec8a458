"""Channels run in-process (its real lifespan: pool, consumers, workers, outbox relay) behind an httpx client, with
consumer groups of its own that start at the topics' current end (it reads what the test publishes, not the
session's history). Every part's service tests share it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.channels import consumers
from services.channels.bootstrap import create_app
from services.channels.settings import ChannelsSettings
from shared.http.person import PersonTokens
from tests.support.apps import running_app
from tests.support.kafka import start_groups_at_end


@asynccontextmanager
async def running_channels(
    database_url: str,
    bootstrap: str,
    *,
    persons: PersonTokens | None = None,
    clock: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    group = overrides.pop("channels_consumer_group", f"channels-test-{uuid.uuid4().hex[:8]}")
    await start_groups_at_end(bootstrap, consumers.SUBSCRIPTIONS, group)
    kwargs: dict[str, Any] = {"persons": persons}
    if clock is not None:
        kwargs["clock"] = clock
    async with running_app(
        create_app,
        ChannelsSettings,
        name="channels",
        database_url=database_url,
        bootstrap=bootstrap,
        create_kwargs=kwargs,
        channels_consumer_group=group,
        **overrides,
    ) as running:
        yield running
