"""A service's FastAPI app run in-process with its real lifespan (pool, consumers, workers), behind an
httpx client — and the settings every test instance shares."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def running_app(
    create_app: Callable[..., FastAPI],
    settings_class: type[Any],
    *,
    name: str,
    database_url: str,
    bootstrap: str,
    group_setting: str | None = None,
    create_kwargs: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    defaults: dict[str, Any] = {"app_env": "test", "database_url": database_url, "kafka_bootstrap_servers": bootstrap}
    if group_setting:
        # A consumer group of its own: no waiting for members other tests' instances left behind.
        defaults[group_setting] = f"{name}-test-{uuid.uuid4().hex[:8]}"
    app = create_app(settings_class(**{**defaults, **overrides}), **(create_kwargs or {}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=30) as client:
            yield app, client
