"""Intake's abuse paths over HTTP on real Postgres and Kafka (issue 25, must-shows 6 and 7): past the limit per
customer phone or per credential a submission is 429 with Retry-After, and a channel ticket id reused for another
body is 409 — never answered "replayed" while the second complaint is lost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.complaints import complaint, headers
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake

PER_PHONE = 3
PER_CREDENTIAL = 6


@pytest.fixture(scope="module")
async def intake(migrated: Infrastructure) -> AsyncIterator[httpx.AsyncClient]:
    async with running_intake(
        migrated.database_url,
        migrated.kafka_bootstrap_servers,
        intake_rate_limit_per_phone=PER_PHONE,
        intake_rate_limit_per_credential=PER_CREDENTIAL,
    ) as (_, client):
        yield client


def _phone() -> str:
    return f"138{uuid.uuid4().int % 10**8:08d}"


def _of(phone: str, channel: str = "web", **overrides: object) -> dict[str, object]:
    body = complaint(channel, **overrides)
    body["customer"] = {**body["customer"], "phone": phone}  # type: ignore[dict-item]
    return body


async def test_past_the_limit_per_phone_a_submission_is_429_with_retry_after(intake: httpx.AsyncClient) -> None:
    phone = _phone()
    channels = ["web", "app", "wechat"]  # spread over credentials: the phone's limit counts across them
    for channel in channels[:PER_PHONE]:
        ok = await intake.post("/v1/complaints", json=_of(phone, channel), headers=headers(channel))
        assert ok.status_code == 202, ok.text
    refused = await intake.post("/v1/complaints", json=_of(phone, "email"), headers=headers("email"))
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "per customer phone" in refused.json()["detail"]
    other = await intake.post("/v1/complaints", json=_of(_phone(), "email"), headers=headers("email"))
    assert other.status_code == 202, "another customer's phone is not held up"


async def test_past_the_limit_per_credential_a_submission_is_429_with_retry_after(intake: httpx.AsyncClient) -> None:
    answers = [
        await intake.post("/v1/complaints", json=_of(_phone(), "counter"), headers=headers("counter"))
        for _ in range(PER_CREDENTIAL + 1)
    ]
    assert [a.status_code for a in answers] == [202] * PER_CREDENTIAL + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert "per credential" in answers[-1].json()["detail"]
    other_key = await intake.post("/v1/complaints", json=_of(_phone(), "phone"), headers=headers("phone"))
    assert other_key.status_code == 202, "another channel's key is not held up"


async def test_a_channel_ticket_id_reused_for_another_body_is_409(intake: httpx.AsyncClient) -> None:
    first = _of(_phone(), "app")
    accepted = await intake.post("/v1/complaints", json=first, headers=headers("app"))
    assert accepted.status_code == 202, accepted.text
    retry = await intake.post("/v1/complaints", json=first, headers=headers("app"))
    assert retry.status_code == 202 and retry.json()["replayed"] is True
    assert retry.json()["complaint_id"] == accepted.json()["complaint_id"]

    another = {**first, "text": "楼道里的暖气管漏水了，地面全是水。"}
    clash = await intake.post("/v1/complaints", json=another, headers=headers("app"))
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"] == "application/problem+json"
    problem = clash.json()
    assert problem["errors"][0]["field"] == "channel_ticket_id"
    assert problem["channel_ticket_id"] == first["channel_ticket_id"]
