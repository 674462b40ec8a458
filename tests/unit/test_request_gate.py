"""The shared request gate (`shared.http.request_context`): writes take JSON only, except the paths a service
names — CSV imports, uploads, and `raw_body_paths` prefixes whose routes read a vendor's body in its own format."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request, Response

from shared.http.service_app import create_service_app


async def _ready(_: Request) -> dict[str, object]:
    return {}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(
        title="gate",
        description="the request gate under test",
        lifespan=None,
        readiness=_ready,
        metrics=False,
        max_body_bytes=1024,
        raw_body_paths=("/v1/hooks/",),
    )

    @app.post("/v1/hooks/{name}")
    async def hook(name: str, request: Request) -> Response:
        body = await request.body()
        return Response(f"{request.headers.get('content-type')}|{body.decode()}", media_type="text/plain")

    @app.post("/v1/hooksmith")
    async def lookalike() -> dict[str, str]:
        return {"ok": "json only"}

    @app.post("/v1/things")
    async def things(request: Request) -> dict[str, object]:
        return {"got": await request.json()}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield http


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/xml", "<xml><MsgType>event</MsgType></xml>"),
        ("application/x-www-form-urlencoded", "status=bounced&id=1"),
        ("text/plain", '[{"id": "1"}]'),
        ("application/json", '{"a": 1}'),
    ],
)
async def test_a_raw_body_path_takes_any_content_type_as_sent(
    client: httpx.AsyncClient, content_type: str, body: str
) -> None:
    answer = await client.post("/v1/hooks/vendor", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 200
    assert answer.text == f"{content_type}|{body}", "the route sees the caller's own content type and bytes"


async def test_other_paths_still_take_json_only(client: httpx.AsyncClient) -> None:
    for path in ("/v1/things", "/v1/hooksmith"):  # a path merely starting like the prefix is not under it
        refused = await client.post(path, content="<xml/>", headers={"Content-Type": "text/xml"})
        assert refused.status_code == 415
        assert refused.headers["content-type"].startswith("application/problem+json")
    taken = await client.post("/v1/things", json={"a": 1})
    assert taken.status_code == 200 and taken.json() == {"got": {"a": 1}}


async def test_a_raw_body_path_keeps_the_body_limit(client: httpx.AsyncClient) -> None:
    big = await client.post("/v1/hooks/vendor", content="x" * 4096, headers={"Content-Type": "text/plain"})
    assert big.status_code == 413
