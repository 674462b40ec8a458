"""What every service shows a browser or a stranger (`shared.http.exposure`, issue 25): the security headers on
every HTML answer (a page's own policy kept), and /docs, /openapi.json and /metrics served in dev and test, 404
in prod unless a setting opens them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse

from shared.http.service_app import create_service_app
from shared.settings import ServiceSettings


async def _ready(_: Request) -> dict[str, object]:
    return {}


@asynccontextmanager
async def _service(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(title="exposed", description="exposure under test", lifespan=None, readiness=_ready)
    app.state.settings = settings

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse("<p>hello</p>")

    @app.get("/own-policy", response_class=HTMLResponse)
    async def own_policy() -> HTMLResponse:
        return HTMLResponse("<p>mine</p>", headers={"Content-Security-Policy": "default-src 'none'"})

    @app.get("/v1/thing")
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
        yield http


async def test_every_html_answer_carries_the_security_headers_and_a_pages_own_policy_wins() -> None:
    async with _service(ServiceSettings(app_env="prod")) as http:
        page = await http.get("/page")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"], "default-src 'self' covers scripts"
        assert (page.headers["x-frame-options"], page.headers["x-content-type-options"]) == ("DENY", "nosniff")
        own = await http.get("/own-policy")
        assert own.headers["content-security-policy"] == "default-src 'none'"
        assert own.headers["x-frame-options"] == "DENY"
        api = await http.get("/v1/thing")
        assert api.headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in api.headers


@pytest.mark.parametrize(
    ("settings", "docs", "metrics"),
    [
        (lambda: ServiceSettings(app_env="test"), 200, 200),
        (lambda: ServiceSettings(app_env="prod"), 404, 404),
        (lambda: ServiceSettings(app_env="prod", expose_metrics=True), 404, 200),
        (lambda: ServiceSettings(app_env="dev", expose_api_docs=False), 404, 200),
    ],
)
async def test_docs_and_metrics_are_served_only_where_the_settings_expose_them(
    settings: Callable[[], ServiceSettings], docs: int, metrics: int
) -> None:
    async with _service(settings()) as http:
        for path in ("/docs", "/openapi.json", "/redoc"):
            assert (await http.get(path)).status_code == docs, path
        assert (await http.get("/metrics")).status_code == metrics
        assert (await http.get("/healthz")).status_code == 200
        if docs == 200:
            assert (await http.get("/docs")).headers["content-security-policy"] == "frame-ancestors 'none'"
