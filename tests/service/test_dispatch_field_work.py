"""Field work against real Postgres and the real broker: a work order through crew → appointment → arrival → findings
(17 °C) → photo → resolution with the customer's acceptance, each step an event on workorders.repair naming the
person (actor, actor_name); photos are images by their bytes and within the size limit; bad windows and implausible
temperatures are 422s naming the field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from tests.support.dispatch import as_, as_person, contact_for, dispatch_for_staff, received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, read_topic, wait_until
from tests.support.tokens import LocalIssuer

HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
#: The smallest valid PNG: a 1×1 transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
Running = tuple[FastAPI, httpx.AsyncClient]


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer()


@pytest.fixture(scope="module")
async def dispatch(
    migrated: Infrastructure, issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    photos = tmp_path_factory.mktemp("photos")
    async with dispatch_for_staff(migrated.database_url, migrated.kafka_bootstrap_servers, issuer, photos) as running:
        yield running


async def _routed(bootstrap: str, db: asyncpg.Pool) -> tuple[Any, str]:
    event = received(HEATING, channel="phone", account_no=f"HT-{uuid.uuid4().hex[:6]}")
    await publish(bootstrap, event, contact_for(event))
    row = await wait_until(
        lambda: db.fetchrow(
            "SELECT work_order_id FROM dispatch.work_orders WHERE complaint_id = $1", event.complaint_id
        ),
        timeout=30,
    )
    return event, f"/v1/work-orders/{row['work_order_id']}"


def _at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_a_job_from_crew_to_the_customers_acceptance(
    dispatch: Running, migrated: Infrastructure, db: asyncpg.Pool, issuer: LocalIssuer
) -> None:
    _, client = dispatch
    event, wo = await _routed(migrated.kafka_bootstrap_servers, db)
    zhao, chen = as_person(issuer, "repair.zhao"), as_person(issuer, "crew1.chen")

    crews = (await client.get("/v1/crews?department=repair", headers=zhao)).json()["items"]
    assert [(c["crew"], c["name_zh"], c["name_en"]) for c in crews] == [
        ("repair-crew-1", "维修一班", "Repair crew 1"),
        ("repair-crew-2", "维修二班", "Repair crew 2"),
    ]
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("acknowledge", "repair.zhao", None),
        ("crew", "repair.zhao", {"crew": "repair-crew-1", "note": "带测温枪"}),
        ("appointment", "repair.zhao", {"window_start": _at(1), "window_end": _at(3), "note": "下午在家"}),
        ("arrive", "crew1.chen", {}),
        ("findings", "crew1.chen", {"indoor_temperature_c": 17, "note": "卧室实测17℃"}),
    ]
    for step, who, body in steps:
        answer = await client.post(f"{wo}/{step}", headers=as_person(issuer, who), json=body)
        assert answer.status_code == 200, (step, answer.text)
    upload = await client.post(f"{wo}/photos", headers=chen, files={"file": ("radiator.jpg", PNG, "image/jpeg")})
    assert upload.status_code == 201, upload.text
    photo = upload.json()
    assert (photo["content_type"], photo["size_bytes"], photo["actor_name"]) == ("image/png", len(PNG), "陈刚")
    resolved = await client.post(
        f"{wo}/resolve",
        headers=chen,
        json={
            "resolution": "调节单元阀门并排气，室温回升",
            "root_cause": "repair.valve_failure",
            "acceptance": {"customer_name": "王小明", "confirmed": True},
        },
    )
    assert resolved.status_code == 200, resolved.text

    read = (await client.get(wo, headers=zhao)).json()
    assert (read["status"], read["crew"], read["reference_no"]) == (
        "resolved",
        "repair-crew-1",
        event.payload.reference_no,
    )
    assert read["appointment"]["note"] == "下午在家"
    assert [(f["indoor_temperature_c"], f["actor_name"]) for f in read["findings"]] == [(17.0, "陈刚")]
    assert [p["photo_id"] for p in read["photos"]] == [photo["photo_id"]]
    assert read["acceptance"] == {"customer_name": "王小明", "confirmed": True, "note": None}
    assert [(h["action"], h["actor"], h["actor_name"]) for h in read["history"]] == [
        ("assign", "dispatch", "dispatch"),
        ("acknowledge", "repair.zhao", "赵磊"),
        ("assign_crew", "repair.zhao", "赵磊"),
        ("agree_appointment", "repair.zhao", "赵磊"),
        ("start", "crew1.chen", "陈刚"),
        ("record_findings", "crew1.chen", "陈刚"),
        ("add_photo", "crew1.chen", "陈刚"),
        ("resolve", "crew1.chen", "陈刚"),
    ]

    image = await client.get(f"{wo}/photos/{photo['photo_id']}", headers=chen)
    assert (image.status_code, image.content, image.headers["content-type"]) == (200, PNG, "image/png")
    assert image.headers["x-content-type-options"] == "nosniff"
    assert (
        await client.get(f"{wo}/photos/{photo['photo_id']}", headers=as_person(issuer, "crew2.yang"))
    ).status_code == 403
    assert (await client.get(f"{wo}/photos/{uuid.uuid4()}", headers=chen)).status_code == 404

    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.WORKORDERS_REPAIR,
        until=lambda rs: sum(1 for r in rs if r.key == event.key) >= 8,
    )
    published = [r.json() for r in records if r.key == event.key]
    assert [
        (e["event_type"], e["schema_version"], e["payload"]["actor"], e["payload"]["actor_name"]) for e in published
    ] == [
        ("workorder.assigned", 4, "dispatch", "dispatch"),
        ("workorder.acknowledged", 3, "repair.zhao", "赵磊"),
        ("workorder.crew_assigned", 1, "repair.zhao", "赵磊"),
        ("workorder.appointment_agreed", 1, "repair.zhao", "赵磊"),
        ("workorder.started", 2, "crew1.chen", "陈刚"),
        ("workorder.findings_recorded", 1, "crew1.chen", "陈刚"),
        ("workorder.photo_added", 1, "crew1.chen", "陈刚"),
        ("workorder.resolved", 3, "crew1.chen", "陈刚"),
    ]
    by_type = {e["event_type"]: e["payload"] for e in published}
    assert by_type["workorder.crew_assigned"]["crew_name_zh"] == "维修一班"
    assert by_type["workorder.started"]["crew"] == "repair-crew-1"
    assert by_type["workorder.findings_recorded"]["indoor_temperature_c"] == 17.0
    assert by_type["workorder.photo_added"]["photo_id"] == photo["photo_id"]
    assert by_type["workorder.resolved"]["acceptance"] == {"customer_name": "王**", "confirmed": True, "note": None}
    assert "王小明" not in str(by_type["workorder.crew_assigned"]), "contact never goes on the department topic"


async def test_photos_are_images_within_the_limit_and_field_input_is_checked(
    dispatch: Running, migrated: Infrastructure, db: asyncpg.Pool, issuer: LocalIssuer
) -> None:
    _, client = dispatch
    _, wo = await _routed(migrated.kafka_bootstrap_servers, db)
    zhao, chen = as_person(issuer, "repair.zhao"), as_person(issuer, "crew1.chen")
    assert (await client.post(f"{wo}/acknowledge", headers=as_("repair"))).status_code == 200
    assert (await client.post(f"{wo}/crew", headers=zhao, json={"crew": "repair-crew-1"})).status_code == 200

    early = await client.post(f"{wo}/photos", headers=chen, files={"file": ("a.png", PNG, "image/png")})
    assert early.status_code == 409, "photos are taken on site"
    assert (await client.post(f"{wo}/arrive", headers=chen, json={})).status_code == 200

    large = await client.post(
        f"{wo}/photos", headers=chen, files={"file": ("big.png", PNG + b"\x00" * (6 * 1024 * 1024), "image/png")}
    )
    assert large.status_code == 413 and large.headers["content-type"] == "application/problem+json"
    text = await client.post(
        f"{wo}/photos", headers=chen, files={"file": ("photo.png", b"not an image at all", "image/png")}
    )
    assert text.status_code == 415 and text.json()["errors"][0]["field"] == "file"
    missing = await client.post(f"{wo}/photos", headers=chen, files={"other": ("a.png", PNG, "image/png")})
    assert missing.status_code == 422
    assert (
        await db.fetchval(
            "SELECT count(*) FROM dispatch.photos WHERE work_order_id = $1", uuid.UUID(wo.rsplit("/", 1)[1])
        )
    ) == 0

    backwards = await client.post(
        f"{wo}/appointment", headers=zhao, json={"window_start": _at(3), "window_end": _at(1)}
    )
    assert backwards.status_code == 422 and "window_end" in backwards.text
    hot = await client.post(f"{wo}/findings", headers=chen, json={"indoor_temperature_c": 61})
    assert hot.status_code == 422 and "indoor_temperature_c" in hot.text
    other = await client.post(f"{wo}/crew", headers=zhao, json={"crew": "billing-team-1"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "crew"

    nobody_home = await client.post(
        f"{wo}/not-at-home",
        headers=chen,
        json={"next_visit_start": _at(24), "next_visit_end": _at(26), "note": "敲门无人"},
    )
    assert nobody_home.status_code == 200, nobody_home.text
    assert (nobody_home.json()["status"], nobody_home.json()["appointment"]["note"]) == ("acknowledged", "敲门无人")
    assert (await client.post(f"{wo}/arrive", headers=chen, json={})).status_code == 200, "the next visit"
