"""Must-show 5 and the customer's status lookup, on channels run in-process against the session's Postgres and Kafka:
every Open311 GeoReport v2 endpoint in JSON and XML with the spec's field lists and error format; a request filed
by POST is found by its token and by GET, and shows `closed` once its case is resolved; no GET answer holds the
filer's name, phone or mail address. Intake runs beside channels: the filed request becomes its complaint and the
reference number comes back over Kafka; dispatch's events (routed, resolved) are built from their contracts and fed
through channels' own read-model use case, as its consumer does.

The status API: the right reference and digits find the case, wrong digits answer like an unknown reference, and
after five wrong tries the reference is locked (429, Retry-After) even for the right digits."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI

from services.channels.handlers.cases import keep_cases
from services.intake import consumers as intake_consumers
from shared.contracts import Event
from tests.support.channels import running_channels
from tests.support.clock import FakeClock
from tests.support.followup_events import Order, resolved, routed
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import start_groups_at_end, wait_until

V2 = "/open311/v2"
KEY = "dev-only-open311-key"
FILER = {"first_name": "明", "last_name": "王", "phone": "13912345678", "email": "wang.ming@example.org"}
REQUEST_FIELDS = [
    *("service_request_id", "status", "status_notes", "service_name", "service_code", "description"),
    *("agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime"),
    *("address", "address_id", "zipcode", "lat", "long", "media_url"),
]
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


@pytest.fixture(scope="module")
async def channels(migrated: Infrastructure) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, FakeClock]]:
    """Channels with intake beside it: a filed request becomes intake's complaint, and its reference number comes
    back into channels' read model over Kafka (as in production)."""
    bootstrap, clock = migrated.kafka_bootstrap_servers, FakeClock()
    intake_group = f"intake-test-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(bootstrap, intake_consumers.SUBSCRIPTIONS, intake_group)
    async with (
        running_intake(migrated.database_url, bootstrap, intake_consumer_group=intake_group) as (intake, _),
        running_channels(migrated.database_url, bootstrap, clock=clock) as (app, client),
    ):
        await wait_until(lambda: intake.state.kafka["kafka"] == app.state.kafka["kafka"] == "connected", timeout=60)
        yield app, client, clock


def _xml(response: httpx.Response) -> ElementTree.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8", response.text
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(response.content)


def _json(response: httpx.Response) -> Any:
    assert response.headers["content-type"] == "application/json; charset=utf-8", response.text
    return response.json()


def _error(response: httpx.Response, status: int, fmt: str) -> list[dict[str, Any]]:
    """The spec's error list, read from either format."""
    assert response.status_code == status, response.text
    if fmt == "json":
        return [{"code": e["code"], "description": e["description"]} for e in _json(response)]
    root = _xml(response)
    assert root.tag == "errors" and all([f.tag for f in e] == ["code", "description"] for e in root)
    return [{"code": int(e.findtext("code") or 0), "description": e.findtext("description")} for e in root]


async def _reference(client: httpx.AsyncClient, token: str) -> str:
    """The token's service_request_id once intake accepted the complaint and its reference came back."""

    async def known() -> str | None:
        found: str | None = _json(await client.get(f"{V2}/tokens/{token}.json"))[0]["service_request_id"]
        return found

    reference_no: str = await wait_until(known, timeout=30)
    return reference_no


async def _feed(app: FastAPI, *events: Event) -> None:
    await app.state.door.batch(keep_cases, list(events), consumer=f"test-{uuid.uuid4().hex[:6]}")


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_discovery_services_and_definitions(channels: Any, fmt: str) -> None:
    _, client, _ = channels
    found = await client.get(f"{V2}/discovery.{fmt}")
    if fmt == "json":
        assert _json(found)["endpoints"][0]["url"].endswith(V2)
        listed = _json(await client.get(f"{V2}/services.json", headers={"Accept-Language": "en"}))
        assert listed[0]["service_name"] == "Room not warm enough" and listed[0]["type"] == "batch"
        definition = _json(await client.get(f"{V2}/services/outage.json"))
        assert [a["code"] for a in definition["attributes"]] == ["account_no", "supply"]
    else:
        assert _xml(found).findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
        root = _xml(await client.get(f"{V2}/services.xml"))
        assert [f.tag for f in root[0]] == SERVICE_FIELDS
        definition = _xml(await client.get(f"{V2}/services/outage.xml"))
        assert definition.findtext("attributes/attribute[2]/values/value[1]/key") == "heat"
    unknown = _error(await client.get(f"{V2}/services/pothole.{fmt}"), 404, fmt)
    assert "pothole" in unknown[0]["description"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_errors_are_the_spec_list(channels: Any, fmt: str) -> None:
    _, client, _ = channels
    form = {"service_code": "billing", "address_string": "幸福里3号楼", "description": "账单有误"}
    missing = _error(await client.post(f"{V2}/requests.{fmt}", data=form), 403, fmt)
    assert missing == [{"code": 403, "description": "api_key was not provided: every client system has its own"}]
    wrong = _error(await client.post(f"{V2}/requests.{fmt}", data={**form, "api_key": "nope"}), 403, fmt)
    assert "invalid api_key" in wrong[0]["description"]
    faults = _error(
        await client.post(f"{V2}/requests.{fmt}", data={"api_key": KEY, "service_code": "outage", "lat": "99"}),
        400,
        fmt,
    )
    assert [f["description"].split(":")[0] for f in faults] == ["lat", "attribute[supply]"]
    too_long = await client.get(f"{V2}/requests.{fmt}?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert "90 days" in _error(too_long, 400, fmt)[0]["description"]
    assert _error(await client.get(f"{V2}/requests/TS-00000000-000000.{fmt}"), 404, fmt)
    assert _error(await client.get(f"{V2}/tokens/not-a-token.{fmt}"), 404, fmt)
    assert _error(await client.get(f"{V2}/nowhere.{fmt}"), 404, fmt)
    assert _error(await client.delete(f"{V2}/services.{fmt}"), 400, fmt)[0]["code"] == 405


async def test_a_request_filed_by_post_is_found_and_closes_with_its_case(channels: Any, db: Any) -> None:
    app, client, clock = channels
    form = {
        "api_key": KEY,
        "service_code": "billing",
        "lat": "39.91234",
        "long": "116.40123",
        "address_string": "幸福里3号楼2单元501",
        "description": "本月账单多收了一倍，请回电 13912345678",
        "attribute[account_no]": "A-778899",
        "media_url": "https://photos.example.org/bill.jpg",
        **FILER,
    }
    posted = _xml(await client.post(f"{V2}/requests.xml", data=form))
    token = posted.findtext("request/token")
    assert token and posted.find("request/service_request_id") is None
    again = _json(await client.post(f"{V2}/requests.json", data=form))  # a retried POST: the same request
    assert again[0]["token"] == token
    ref = await _reference(client, token)  # intake accepted it under channels' complaint id
    complaint_id = await db.fetchval(
        "SELECT complaint_id FROM channels.open311_requests WHERE message_id = $1", uuid.UUID(token)
    )
    row = await db.fetchrow("SELECT reference_no, channel FROM intake.complaints WHERE complaint_id = $1", complaint_id)
    assert (row["reference_no"], row["channel"]) == (ref, "app")
    assert _xml(await client.get(f"{V2}/tokens/{token}.xml")).findtext("request/service_request_id") == ref
    order, at = Order(complaint_id, uuid.uuid4(), ref), clock()
    await _feed(app, routed(order, at=at + timedelta(minutes=1)))  # dispatch's, built from its contract

    found = _json(await client.get(f"{V2}/requests.json", params={"service_request_id": ref}))
    assert [list(r) for r in found] == [REQUEST_FIELDS]
    assert found[0]["status"] == "open" and found[0]["agency_responsible"] == "营业收费部"
    assert (found[0]["lat"], found[0]["long"], found[0]["service_code"]) == (39.912, 116.401, "billing")

    await _feed(app, resolved(order, at=at + timedelta(hours=2)))
    one = _xml(await client.get(f"{V2}/requests/{ref}.xml"))
    assert [f.tag for f in one[0]] == REQUEST_FIELDS
    assert one.findtext("request/status") == "closed" and one.findtext("request/status_notes") == "refunded"
    closed = _json(await client.get(f"{V2}/requests.json", params={"status": "closed", "service_code": "billing"}))
    assert ref in [r["service_request_id"] for r in closed]
    still_open = _json(await client.get(f"{V2}/requests.json", params={"status": "open"}))
    assert ref not in [r["service_request_id"] for r in still_open]

    answers = [
        (await client.get(f"{V2}/requests.{fmt}", params=q)).text
        for fmt in ("json", "xml")
        for q in ({"service_request_id": ref}, {})
    ]
    for text in answers:
        for personal in ("13912345678", "wang.ming@example.org", "王", "幸福里"):
            assert personal not in text


async def test_the_status_api_finds_a_case_by_reference_and_last_four_digits(channels: Any) -> None:
    _, client, clock = channels
    form = {"api_key": KEY, "service_code": "heating_temperature", "address_string": "x", "description": "暖气不热"}
    token = _json(await client.post(f"{V2}/requests.json", data={**form, **FILER}))[0]["token"]
    ref = await _reference(client, token)

    found = await client.post("/v1/status", json={"reference_no": ref, "phone_last4": "5678", "lang": "en"})
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["reference_no"], body["status"], body["status_text"]) == (ref, "received", "Received")
    assert "13912345678" not in found.text and "phone" not in json.dumps(body)
    wrong = await client.post("/v1/status", json={"reference_no": ref, "phone_last4": "0000"})
    unknown = await client.post("/v1/status", json={"reference_no": "TS-00000000-999999", "phone_last4": "5678"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json()["detail"] == unknown.json()["detail"]
    for _ in range(4):
        await client.post("/v1/status", json={"reference_no": ref, "phone_last4": "1111"})
    locked = await client.post("/v1/status", json={"reference_no": ref, "phone_last4": "5678"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert (await client.post("/v1/status", json={"reference_no": ref, "phone_last4": "5678"})).status_code == 200
