"""`Idempotency-Key` is documented where it is honoured (issue 25): every POST, PUT and PATCH of dispatch and
followup (whose apps carry `shared.http.idempotency_keys`) lists the header in the served `/openapi.json`, with a
description of the retry contract and a schema the middleware's own check agrees with, and documents the 409 of a
retry racing its first request. Intake keeps its own declaration (its submissions dedupe in its handler)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.dispatch.bootstrap import create_app as create_dispatch
from services.dispatch.settings import DispatchSettings
from services.followup.bootstrap import create_app as create_followup
from services.followup.settings import FollowupSettings
from services.intake.bootstrap import create_app as create_intake
from services.intake.settings import IntakeSettings
from shared.http.idempotency_keys import _KEY

HONOURED = ("post", "put", "patch")


async def _served_openapi(app: FastAPI) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def _writes(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HONOURED
    ]


def _idempotency_keys(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(lambda: create_dispatch(DispatchSettings(app_env="test")), id="dispatch"),
        pytest.param(lambda: create_followup(FollowupSettings(app_env="test")), id="followup"),
    ],
)
async def test_every_write_of_dispatch_and_followup_lists_the_header(app: Any) -> None:
    writes = _writes(await _served_openapi(app()))
    assert len(writes) >= 2, "the services' POSTs (notes, steps, outage notices, callback outcomes, ...)"
    for name, operation in writes:
        declared = _idempotency_keys(operation)
        assert len(declared) == 1, f"{name}: Idempotency-Key listed {len(declared)} times"
        header = declared[0]
        assert header["required"] is False, name
        for says in ("same key and same method, path and body", "Idempotent-Replayed", "another body: 422", "409"):
            assert says in header["description"], f"{name}: the description does not say {says!r}"
        assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"}
        assert "409" in operation["responses"] and "422" in operation["responses"], name


def test_the_documented_pattern_is_the_one_the_middleware_checks() -> None:
    pattern = re.compile(r"^[!-~]+$")
    for value in ("a", "8c1d2e7a-6f4b-4a51-9d0e-2b7c5f3e9a10", "~" * 128, "!"):
        assert pattern.match(value) and _KEY.match(value.encode())
    for value in ("", "with space", "\u00e9t\u00e9", "tab\there", "x" * 129):
        assert not (pattern.match(value) and 1 <= len(value) <= 128), value
        assert not _KEY.match(value.encode()), value


async def test_intake_keeps_its_own_single_declaration() -> None:
    document = await _served_openapi(create_intake(IntakeSettings(app_env="test")))
    submit = document["paths"]["/v1/complaints"]["post"]
    assert len(_idempotency_keys(submit)) == 1
