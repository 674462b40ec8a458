"""Writes per credential on every service (`shared.http.write_limits`, issue 25, must-show 6): past the limit a
key's POST is 429 with Retry-After; another key, reads and requests without a key are not held up; off in dev and
test unless set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Request

from shared.http.service_app import create_service_app
from shared.settings import ServiceSettings


async def _ready(_: Request) -> dict[str, object]:
    return {}


@asynccontextmanager
async def _service(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(title="limited", description="write limits under test", lifespan=None, readiness=_ready)
    app.state.settings = settings

    @app.post("/v1/notices")
    async def notice() -> dict[str, str]:
        return {"sent": "yes"}

    @app.get("/v1/notices")
    async def notices() -> dict[str, str]:
        return {"read": "yes"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
        yield http


async def test_past_the_limit_a_credentials_writes_are_429_with_retry_after() -> None:
    async with _service(ServiceSettings(app_env="prod", write_rate_limit_per_credential=3)) as http:
        mine = {"X-API-Key": "key-a"}
        answers = [await http.post("/v1/notices", headers=mine) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and "per credential" in refused.json()["detail"]
        bearer = await http.post("/v1/notices", headers={"Authorization": "Bearer key-a"})
        assert bearer.status_code == 200, "a different credential header is another credential"
        assert (await http.post("/v1/notices", headers={"X-API-Key": "key-b"})).status_code == 200
        assert (await http.get("/v1/notices", headers=mine)).status_code == 200, "reads are not writes"
        anonymous = [await http.post("/v1/notices") for _ in range(5)]
        assert {a.status_code for a in anonymous} == {200}, "no key: not counted"


async def test_writes_are_not_limited_in_dev_and_test_unless_set() -> None:
    assert ServiceSettings(app_env="prod").write_limit_per_minute == 600
    async with _service(ServiceSettings(app_env="test")) as http:
        answers = [await http.post("/v1/notices", headers={"X-API-Key": "key-a"}) for _ in range(20)]
        assert {a.status_code for a in answers} == {200}
