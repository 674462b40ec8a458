"""Dispatch's incident, outage and asset-registry API and the outage systems' ingress topic, against real Postgres
and Kafka: who may do what, what a bad request is told, and the ingress messages' effects (and dead letters)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from tests.support.dispatch import as_, received, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until

OUTAGE_SYSTEM = {"X-API-Key": "dev-only-outage-system-key"}
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
async def dispatch(migrated: Infrastructure) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_dispatch(migrated.database_url, migrated.kafka_bootstrap_servers) as running:
        app, _ = running
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
        yield running


def _compound() -> str:
    return f"接口{uuid.uuid4().int % 10**6:06d}小区"


async def test_supervisors_declare_incidents_departments_read_them_and_set_their_eta(
    dispatch: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = dispatch
    body = {"family": "no_heat", "district": "heping", "compound": _compound(), "description": "二次网主管破裂"}
    assert (await client.post("/v1/incidents", json=body, headers=as_("repair"))).status_code == 403
    assert (await client.post("/v1/incidents", json=body, headers=OUTAGE_SYSTEM)).status_code == 403
    declared = await client.post("/v1/incidents", json=body, headers=as_("supervisor"))
    assert declared.status_code == 201, declared.text
    incident = declared.json()
    assert (incident["status"], incident["opened_by"], incident["description"]) == (
        "open",
        "operator",
        "二次网主管破裂",
    )
    again = await client.post("/v1/incidents", json=body, headers=as_("supervisor"))
    assert again.status_code == 409 and incident["reference_no"] in again.json()["detail"]

    listed = await client.get("/v1/incidents", params={"status": "open"}, headers=as_("billing"))
    assert incident["incident_id"] in [i["incident_id"] for i in listed.json()["items"]]
    for field in ("incident_id", "asset", "family", "status", "complaint_count", "work_order_id", "eta", "opened_at"):
        assert field in listed.json()["items"][0]
    assert (await client.get("/v1/incidents", headers=OUTAGE_SYSTEM)).status_code == 403
    assert (await client.get("/v1/incidents", params={"status": "closed"}, headers=as_("repair"))).status_code == 422

    eta = (NOW + timedelta(hours=4)).isoformat()
    path = f"/v1/incidents/{incident['incident_id']}/eta"
    assert (await client.post(path, json={"eta": eta}, headers=as_("billing"))).status_code == 404, "not theirs"
    updated = await client.post(path, json={"eta": eta, "note": "管材已到"}, headers=as_("repair"))
    assert updated.status_code == 200 and updated.json()["eta"] is not None
    missing = await client.post(f"/v1/incidents/{uuid.uuid4()}/eta", json={"eta": eta}, headers=as_("supervisor"))
    assert missing.status_code == 404
    detail = await client.get(f"/v1/incidents/{incident['incident_id']}", headers=as_("customer_service"))
    assert detail.status_code == 200 and detail.json()["complaints"] == []


async def test_a_declaration_without_a_place_or_a_known_family_is_refused_with_the_reason(
    dispatch: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = dispatch
    no_place = await client.post("/v1/incidents", json={"family": "no_heat"}, headers=as_("supervisor"))
    assert no_place.status_code == 422 and "asset, or the district and the compound" in no_place.text
    unknown = await client.post(
        "/v1/incidents", json={"family": "meteor", "district": "heping", "compound": "x"}, headers=as_("supervisor")
    )
    assert unknown.status_code == 422 and "family" in unknown.text
    # A control character cannot name a place: it would reach the work order's address (found by the fuzzer).
    for place in (
        {"asset": {"type": "heat_exchange_station", "id": "HX\u0013-7"}},
        {"district": "heping", "compound": "长青\u0000小区"},
    ):
        bad = await client.post("/v1/incidents", json={"family": "no_heat", **place}, headers=as_("supervisor"))
        assert bad.status_code == 422 and "control characters" in bad.text, bad.text


async def test_outage_notices_from_the_outage_system_inform_callers_and_refuse_what_cannot_be(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    compound = _compound()
    notice: dict[str, Any] = {
        "district": "heping",
        "compound": compound,
        "family": "water_outage",
        "kind": "planned",
        "starts_at": (NOW - timedelta(minutes=1)).isoformat(),
        "expected_end": (NOW + timedelta(hours=2)).isoformat(),
        "description": "管网改造计划停水",
    }
    assert (await client.post("/v1/outage-notices", json=notice, headers=as_("repair"))).status_code == 403
    backwards = {**notice, "expected_end": (NOW - timedelta(hours=2)).isoformat()}
    refused = await client.post("/v1/outage-notices", json=backwards, headers=OUTAGE_SYSTEM)
    assert refused.status_code == 422 and "after starts_at" in refused.text
    no_family = {k: v for k, v in notice.items() if k != "family"}
    assert "names its family" in (await client.post("/v1/outage-notices", json=no_family, headers=OUTAGE_SYSTEM)).text
    declared = await client.post("/v1/outage-notices", json=notice, headers=OUTAGE_SYSTEM)
    assert declared.status_code == 201, declared.text
    outage_id = declared.json()["outage_id"]

    caller = received(
        "家里停水了", account_no="W-1", location={"address": f"和平区{compound}3号楼", "district": "heping"}
    )
    await produce(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_RECEIVED, [(caller.key, caller.model_dump_json().encode())]
    )
    joined = await wait_until(
        lambda: db.fetchval("SELECT outage_id FROM dispatch.cases WHERE complaint_id = $1", caller.complaint_id),
        timeout=30,
    )
    assert str(joined) == outage_id
    assert (
        await db.fetchval("SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = $1", caller.complaint_id) == 0
    )

    detail = await client.get(f"/v1/outage-notices/{outage_id}", headers=as_("billing"))
    assert [c["complaint_id"] for c in detail.json()["complaints"]] == [str(caller.complaint_id)], "its callers"
    active = await client.get("/v1/outage-notices", params={"active": "true"}, headers=as_("billing"))
    assert outage_id in [o["outage_id"] for o in active.json()["items"]]
    restored = await client.post(f"/v1/outage-notices/{outage_id}/restored", headers=OUTAGE_SYSTEM)
    assert restored.status_code == 200 and restored.json()["status"] == "ended"
    assert (await client.post(f"/v1/outage-notices/{outage_id}/restored", headers=OUTAGE_SYSTEM)).status_code == 409
    ended = await client.get("/v1/outage-notices", params={"active": "true"}, headers=as_("billing"))
    assert outage_id not in [o["outage_id"] for o in ended.json()["items"]]


async def test_the_outage_ingress_topic_declares_updates_and_restores_and_dead_letters_the_impossible(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    ref = f"SCADA-{uuid.uuid4().hex[:8]}"

    def message(action: str, **fields: Any) -> bytes:
        return json.dumps(
            {"message_id": str(uuid.uuid4()), "source": "scada-power", "source_ref": ref, "action": action, **fields}
        ).encode()

    declare = message(
        "declare",
        kind="unplanned",
        asset={"type": "feeder", "id": "FDR-0107"},
        starts_at=NOW.isoformat(),
        expected_end=(NOW + timedelta(hours=1)).isoformat(),
        description="10kV线路跳闸",
    )
    key = ref.encode()
    await produce(
        migrated.kafka_bootstrap_servers,
        topics.OUTAGE_NOTICES,
        [
            (key, b"{"),
            (key, message("eta", source_ref="never-declared", expected_end=NOW.isoformat())),  # unknown outage
            (key, declare),
            (key, declare),  # redelivered: one notice
            (key, message("eta", expected_end=(NOW + timedelta(hours=3)).isoformat())),
            (key, message("restored")),
            (key, message("restored")),  # already ended
        ],
    )

    async def ended() -> asyncpg.Record | None:
        row = await db.fetchrow("SELECT * FROM dispatch.outages WHERE source_ref = $1", ref)
        return row if row and row["status"] == "ended" else None

    outage = await wait_until(ended, timeout=30)
    assert (outage["family"], outage["source"], outage["expected_end"]) == (
        "power_outage",
        "scada-power",
        NOW + timedelta(hours=3),
    )
    assert await db.fetchval("SELECT count(*) FROM dispatch.outages WHERE source_ref = $1", ref) == 1
    letters = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.dead_letter_topic(topics.OUTAGE_NOTICES),
        until=lambda rs: sum(1 for r in rs if r.key == key) >= 3,
        settle=0.5,
    )
    reasons = [r.headers["dlq.reason"] for r in letters if r.key == key]
    assert len(reasons) == 3, reasons
    assert "Invalid JSON" in reasons[0] or "JSON" in reasons[0]
    assert "NotFound" in reasons[1] and "never-declared" in reasons[1]
    assert "Conflict" in reasons[2] and "ended" in reasons[2]


async def test_the_asset_registry_imports_csv_and_json_and_lists_every_problem(
    dispatch: tuple[FastAPI, httpx.AsyncClient], db: asyncpg.Pool
) -> None:
    _, client = dispatch
    asset_id = f"HES-T{uuid.uuid4().int % 10**4:04d}"
    csv = (
        "asset_id,type,name_zh,name_en,district,compound,compound_en,building\n"
        f"{asset_id},heat_exchange_station,测试站,Test,tiexi,测试小区,Test Compound,\n"
    )
    upload = {**as_("supervisor"), "content-type": "text/csv"}
    assert (
        await client.post("/v1/assets/import", content=csv, headers={**as_("repair"), "content-type": "text/csv"})
    ).status_code == 403
    loaded = await client.post("/v1/assets/import", content=csv.encode(), headers=upload)
    assert loaded.status_code == 200 and loaded.json() == {"imported": 1}
    assert await db.fetchval("SELECT district FROM dispatch.assets WHERE asset_id = $1", asset_id) == "tiexi"

    bad = "asset_id,type,district,compound\n,pump,heping,长青小区\nX-1,feeder,,长青小区\n"
    refused = await client.post("/v1/assets/import", content=bad, headers=upload)
    assert refused.status_code == 422
    problems = refused.json()["problems"]
    assert any(p.startswith("row 2:") for p in problems) and any(p.startswith("row 3:") for p in problems), problems

    as_json = [
        {
            "asset_id": asset_id,
            "type": "heat_exchange_station",
            "name_zh": "测试站",
            "name_en": "Test",
            "district": "tiexi",
            "serves": [{"compound": "测试小区"}, {"compound": "另一小区"}],
        }
    ]
    replaced = await client.post("/v1/assets/import", json=as_json, headers=as_("supervisor"))
    assert replaced.status_code == 200
    serves = await db.fetchval("SELECT serves FROM dispatch.assets WHERE asset_id = $1", asset_id)
    assert len(serves) == 2
    xml = await client.post(
        "/v1/assets/import", content="<a/>", headers={**as_("supervisor"), "content-type": "application/xml"}
    )
    assert xml.status_code == 415
