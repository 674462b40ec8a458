"""One fault, many callers, on the real platform (`python -m embedded`: every service its own process, embedded
Postgres and Apache Kafka, the SLA drill's time scale).

- A storm: 200 households call about one heat-exchange station (many never name it: the registry finds it from
  their address) → one incident, one work order in the repair queue, escalations only on it, one message per
  caller; resolving that work order puts 200 callbacks in the agents' worklist. A billing complaint about the same
  station is routed on its own.
- An outage notice: 50 callers in its area get no work order and one message carrying the ETA, one message
  when the ETA changes, and after "restored" a callback each.
- A same-account duplicate is called back and closes when the case it duplicates is resolved.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from shared import topics
from tests.support import chromium
from tests.support.complaints import complaint, headers
from tests.support.dispatch import serious_resolution
from tests.support.kafka import read_topic, wait_until
from tests.support.metrics import scrape
from tests.support.platform import Platform

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR = {"X-API-Key": "dev-only-supervisor-key"}
REPAIR = {"X-API-Key": "dev-only-repair-key"}
BILLING = {"X-API-Key": "dev-only-billing-key"}
OUTAGE_SYSTEM = {"X-API-Key": "dev-only-outage-system-key"}
AGENT = {"X-API-Key": "dev-only-agent-key"}
MANAGER = {"X-API-Key": "dev-only-manager-key"}
CHANNELS = ("phone", "web", "wechat", "app")
COLD_TEXTS = (
    "从早上开始暖气一点都不热，室温只有15度。",
    "家里暖气片冰凉，整栋楼都停暖了，老人冻得受不了。",
    "暖气温乎乎的，屋里才16度，孩子感冒了，请尽快处理。",
    "Radiators have been cold since this morning, only 14 degrees inside.",
    "The heating stopped in our building, the flat is freezing.",
    "暖气不热 heating 太差了，室温 15°C，please fix ASAP。",
)
STATION = {"type": "heat_exchange_station", "id": "HES-0231"}


async def _post_all(intake: str, bodies: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """POST every complaint (ten at a time, as a call centre's agents would); their complaint ids, in order."""
    gate = asyncio.Semaphore(10)
    async with httpx.AsyncClient(base_url=intake, timeout=30) as client:

        async def post(channel: str, body: dict[str, Any]) -> str:
            async with gate:
                response = await client.post("/v1/complaints", json=body, headers=headers(channel))
            assert response.status_code == 202, response.text
            return str(response.json()["complaint_id"])

        return list(await asyncio.gather(*(post(channel, body) for channel, body in bodies)))


def _caller(i: int, text: str, location: dict[str, Any], *, prefix: str) -> tuple[str, dict[str, Any]]:
    channel = CHANNELS[i % len(CHANNELS)]
    customer = {"account_no": f"{prefix}-{i:04d}", "phone": f"139{uuid.uuid4().int % 10**8:08d}"}
    return channel, complaint(channel, text=text, category_hint=None, customer=customer, location=location)


async def _count(db: asyncpg.Pool, sql: str, *args: Any) -> int:
    return int(await db.fetchval(sql, *args))


async def _at_least(db: asyncpg.Pool, n: int, sql: str, *args: Any, timeout: float = 120) -> int:
    async def reached() -> int | None:
        found = await _count(db, sql, *args)
        return found if found >= n else None

    return await wait_until(reached, timeout=timeout, interval=0.5)


async def test_a_storm_on_one_station_is_one_incident_and_every_caller_is_told_and_called_back(
    platform: Platform,
) -> None:
    services = platform.services
    db = await asyncpg.create_pool(platform.dsn, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(base_url=services["dispatch"], timeout=30) as dispatch:
            csv = (ROOT / "deploy" / "demo-city" / "assets.csv").read_bytes()
            imported = await dispatch.post(
                "/v1/assets/import", content=csv, headers={**SUPERVISOR, "content-type": "text/csv"}
            )
            assert imported.status_code == 200 and imported.json()["imported"] == 12, imported.text

            bodies = []
            for i in range(200):
                building = f"{i % 11 + 1}号楼{i % 6 + 1}单元{100 + i}室"  # building 12 has a station of its own
                location: dict[str, Any] = {"address": f"和平区长青小区{building}", "district": "heping"}
                if i % 3 == 0:
                    location["asset"] = STATION  # the agent picked the station; most callers never name it
                bodies.append(_caller(i, COLD_TEXTS[i % len(COLD_TEXTS)], location, prefix="STORM"))
            callers = [uuid.UUID(c) for c in await _post_all(services["intake"], bodies)]
            (bill_id,) = await _post_all(
                services["intake"],
                [
                    _caller(
                        0,
                        "这个月取暖费账单多收了一倍，要求核实退费。",
                        {"address": "和平区长青小区3号楼", "district": "heping", "asset": STATION},
                        prefix="BILL",
                    )
                ],
            )

            async def storm_incident() -> dict[str, Any] | None:
                listed = (await dispatch.get("/v1/incidents", params={"status": "open"}, headers=REPAIR)).json()
                found = [i for i in listed["items"] if i["asset"] == STATION and i["family"] == "no_heat"]
                return found[0] if found and found[0]["complaint_count"] == 200 else None

            incident = await wait_until(storm_incident, timeout=180, interval=1)
            incident_id = uuid.UUID(incident["incident_id"])
            assert incident["households"] == 200 and incident["severity"] == "emergency", incident
            observed = await scrape(dispatch, services["dispatch"])
            assert observed.total("complaints_linked_to_incident_total") == 200
            assert observed.value("incidents_open") >= 1
            detail = (await dispatch.get(f"/v1/incidents/{incident_id}", headers=SUPERVISOR)).json()
            assert sorted(uuid.UUID(c["complaint_id"]) for c in detail["complaints"]) == sorted(callers)

            # One work order for the fault: the callers' own (the first, before the threshold) were merged.
            assert (
                await _count(
                    db,
                    "SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = ANY($1::uuid[]) "
                    "AND status IN ('assigned', 'acknowledged', 'in_progress')",
                    callers,
                )
                == 0
            )
            queue = (await dispatch.get("/v1/queues/repair", params={"page_size": 200}, headers=REPAIR)).json()
            storm_orders = [o for o in queue["items"] if uuid.UUID(o["complaint_id"]) in {incident_id, *callers}]
            assert [o["work_order_id"] for o in storm_orders] == [incident["work_order_id"]]
            bill_order = await wait_until(
                lambda: db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", uuid.UUID(bill_id)),
                timeout=60,
            )
            assert bill_order["department"] == "billing", "a billing question about the station is not swallowed"

            # Every caller one immediate message; the clock runs out on the incident's work order only.
            joined = "template_id IN ('group_joined', 'group_joined_no_eta')"
            await _at_least(
                db,
                200,
                f"SELECT count(DISTINCT complaint_id) FROM followup.notifications WHERE {joined} "
                "AND complaint_id = ANY($1::uuid[])",
                callers,
            )
            assert (
                await _count(
                    db,
                    f"SELECT count(*) FROM followup.notifications WHERE {joined} AND complaint_id = ANY($1::uuid[])",
                    callers,
                )
                == 200
            )
            await _each_delivered_once(platform, db, callers)
            await _at_least(db, 1, "SELECT count(*) FROM followup.escalations WHERE complaint_id = $1", incident_id)
            assert (
                await _count(
                    db, "SELECT count(*) FROM followup.escalations WHERE complaint_id = ANY($1::uuid[])", callers
                )
                == 0
            )

            await _reporting_shows_the_storm(services["reporting"], incident, callers[1])

            order = incident["work_order_id"]
            for step, body in (
                ("acknowledge", None),
                ("start", None),
                (
                    "resolve",
                    serious_resolution(
                        "循环泵更换",
                        "repair.pump_failure",
                        analysis="循环泵轴承磨损未在检修计划内",
                        action="换热站循环泵纳入季度检修",
                        owner="热力二所",
                    ),
                ),
            ):
                response = await dispatch.post(f"/v1/work-orders/{order}/{step}", json=body, headers=REPAIR)
                assert response.status_code == 200, response.text

        # 200 callbacks in the agents' worklist, one per caller, none for the incident itself.
        await _at_least(
            db, 200, "SELECT count(*) FROM followup.callbacks WHERE complaint_id = ANY($1::uuid[])", callers
        )
        async with httpx.AsyncClient(base_url=services["followup"], timeout=30) as followup:
            listed: set[uuid.UUID] = set()
            page = 1
            while True:
                worklist = (
                    await followup.get("/v1/callbacks", params={"page": page, "page_size": 200}, headers=AGENT)
                ).json()
                listed |= {uuid.UUID(c["complaint_id"]) for c in worklist["items"]}
                if page * 200 >= worklist["total"]:
                    break
                page += 1
        assert set(callers) <= listed and incident_id not in listed
        assert (
            await _count(db, "SELECT count(*) FROM followup.callbacks WHERE complaint_id = ANY($1::uuid[])", callers)
            == 200
        )
    finally:
        await db.close()


async def _each_delivered_once(platform: Platform, db: asyncpg.Pool, callers: list[uuid.UUID]) -> None:
    """Notify delivered each caller's "you are part of a known fault" SMS: 200 delivered after the gateway's status
    reports, each taken by the SMS gateway (the stand-in, counted by our idempotency key) exactly once."""
    joined = "template_id IN ('group_joined', 'group_joined_no_eta')"
    await _at_least(
        db,
        200,
        f"SELECT count(*) FROM notify.deliveries WHERE {joined} AND status = 'delivered' "
        "AND complaint_id = ANY($1::uuid[])",
        callers,
    )
    rows = await db.fetch(
        f"SELECT notification_id, complaint_id FROM notify.deliveries WHERE {joined} "
        "AND complaint_id = ANY($1::uuid[])",
        callers,
    )
    assert len(rows) == 200 and len({r["complaint_id"] for r in rows}) == 200, "one each"
    async with httpx.AsyncClient(timeout=30) as client:
        taken = (await client.get(f"{platform.gateways['sms']}/_standin/messages")).json()
    counted = Counter(m["idempotency_key"] for m in taken)
    assert all(counted[str(r["notification_id"])] == 1 for r in rows), "each at the gateway exactly once"


async def _reporting_shows_the_storm(reporting: str, incident: dict[str, Any], caller: uuid.UUID) -> None:
    """Reporting's incidents read model, a caller's case and the dashboard (in Chromium) show the open storm."""
    async with httpx.AsyncClient(base_url=reporting, timeout=30) as client:

        async def counted() -> dict[str, Any] | None:
            listed = (await client.get("/v1/reports/incidents", params={"status": "open"}, headers=MANAGER)).json()
            mine = [i for i in listed["items"] if i["incident_id"] == incident["incident_id"]]
            return mine[0] if mine and mine[0]["households"] == 200 else None

        row = await wait_until(counted, timeout=120, interval=1)
        assert (row["asset_id"], row["family"], row["complaint_count"]) == ("HES-0231", "no_heat", 200)
        kpis = (await client.get("/v1/kpis", headers=MANAGER)).json()
        assert kpis["totals"]["incident_households"] >= 200, kpis["totals"]

        async def case_joined() -> dict[str, Any] | None:
            found = await client.get(f"/v1/cases/{caller}", headers=MANAGER)
            return found.json() if found.status_code == 200 and found.json().get("incident_id") else None

        case = await wait_until(case_joined, timeout=60, interval=0.5)
        assert case["incident_id"] == incident["incident_id"]
    screenshot = ROOT / "test-artifacts" / "dashboard-storm-platform.png"
    dom = await asyncio.to_thread(
        chromium.render, f"{reporting}/dashboard/?key=dev-only-manager-key&lang=en", screenshot=screenshot
    )
    assert 'data-rendered="true"' in dom, dom[-2000:]
    assert 'data-row="incident"' in dom and "HES-0231" in dom, "the open incident is on the dashboard"
    assert screenshot.stat().st_size > 20_000


async def test_an_outage_notice_tells_its_callers_the_eta_and_calls_them_back_without_a_work_order(
    platform: Platform,
) -> None:
    services = platform.services
    now = datetime.now(UTC)
    eta = now + timedelta(hours=3)
    db = await asyncpg.create_pool(platform.dsn, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(base_url=services["dispatch"], timeout=30) as dispatch:
            notice = {
                "district": "tiexi",
                "compound": "卫工花园",
                "family": "water_outage",
                "kind": "unplanned",
                "starts_at": (now - timedelta(minutes=5)).isoformat(),
                "expected_end": eta.isoformat(),
                "description": "卫工供水干管爆管抢修",
                "description_en": "an emergency repair of the Weigong water main",
            }
            declared = await dispatch.post("/v1/outage-notices", json=notice, headers=OUTAGE_SYSTEM)
            assert declared.status_code == 201, declared.text
            outage_id = declared.json()["outage_id"]
            active = (await dispatch.get("/v1/outage-notices", params={"active": "true"}, headers=REPAIR)).json()
            assert outage_id in [o["outage_id"] for o in active["items"]]

            texts = (
                "家里停水了，一滴水都没有。",
                "我们楼从中午开始停水，什么时候来水？",
                "No water at all since noon.",
            )
            bodies = [
                _caller(
                    i, texts[i % 3], {"address": f"铁西区卫工花园{i % 9 + 1}号楼", "district": "tiexi"}, prefix="WATER"
                )
                for i in range(50)
            ]
            callers = [uuid.UUID(c) for c in await _post_all(services["intake"], bodies)]
            await _at_least(
                db,
                50,
                "SELECT count(*) FROM dispatch.cases WHERE complaint_id = ANY($1::uuid[]) AND outage_id = $2",
                callers,
                uuid.UUID(outage_id),
            )
            assert (
                await _count(
                    db, "SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = ANY($1::uuid[])", callers
                )
                == 0
            )

            expected = eta.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
            messages = await _notifications(platform, callers, "group_joined")
            assert sorted(messages) == sorted(callers) and all(expected in t for t in messages.values()), messages

            later = eta + timedelta(hours=2)
            updated = await dispatch.post(
                f"/v1/outage-notices/{outage_id}/eta", json={"expected_end": later.isoformat()}, headers=OUTAGE_SYSTEM
            )
            assert updated.status_code == 200, updated.text
            await _at_least(
                db,
                50,
                "SELECT count(*) FROM followup.notifications WHERE template_id = 'eta_changed' "
                "AND complaint_id = ANY($1::uuid[])",
                callers,
            )
            restored = await dispatch.post(f"/v1/outage-notices/{outage_id}/restored", headers=OUTAGE_SYSTEM)
            assert restored.status_code == 200 and restored.json()["status"] == "ended", restored.text

        await _at_least(db, 50, "SELECT count(*) FROM followup.callbacks WHERE complaint_id = ANY($1::uuid[])", callers)
        assert (
            await _count(
                db,
                "SELECT count(*) FROM followup.notifications WHERE template_id = 'eta_changed' "
                "AND complaint_id = ANY($1::uuid[])",
                callers,
            )
            == 50
        )
    finally:
        await db.close()


async def _notifications(platform: Platform, callers: list[uuid.UUID], prefix: str) -> dict[uuid.UUID, str]:
    """The text of each caller's message whose template starts with `prefix`, read from notification.requested."""
    wanted = {str(c).encode() for c in callers}

    def complete(records: list[Any]) -> bool:
        return {
            r.key for r in records if r.key in wanted and r.json()["payload"]["template_id"].startswith(prefix)
        } == wanted

    records = await read_topic(platform.bootstrap, topics.NOTIFICATION_REQUESTED, until=complete, timeout=120)
    return {
        uuid.UUID(r.key.decode()): r.json()["payload"]["text"]
        for r in records
        if r.key in wanted and r.json()["payload"]["template_id"].startswith(prefix)
    }


async def test_a_same_account_duplicate_is_called_back_and_closes_when_its_case_is_resolved(
    platform: Platform,
) -> None:
    services = platform.services
    text = "这个月电费账单比上个月多了三倍，怀疑电表抄错了，要求核实退费。"
    account = {"account_no": f"DUP-{uuid.uuid4().hex[:6]}", "phone": f"137{uuid.uuid4().int % 10**8:08d}"}
    first, again = (complaint("web", text=text, category_hint=None, customer=account) for _ in range(2))
    (first_id,) = await _post_all(services["intake"], [("web", first)])
    db = await asyncpg.create_pool(platform.dsn, min_size=1, max_size=2)
    try:
        order = await wait_until(
            lambda: db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", uuid.UUID(first_id)),
            timeout=60,
        )
        (again_id,) = await _post_all(services["intake"], [("web", again)])
        linked = await wait_until(
            lambda: db.fetchval("SELECT linked_to FROM dispatch.cases WHERE complaint_id = $1", uuid.UUID(again_id)),
            timeout=60,
        )
        assert linked == uuid.UUID(first_id)
        async with httpx.AsyncClient(base_url=services["dispatch"], timeout=30) as dispatch:
            for step, body in (
                ("acknowledge", None),
                ("resolve", {"resolution": "按实际读数退费", "root_cause": "billing.meter_misread"}),
            ):
                response = await dispatch.post(
                    f"/v1/work-orders/{order['work_order_id']}/{step}", json=body, headers=BILLING
                )
                assert response.status_code == 200, response.text
        callback_id = await wait_until(
            lambda: db.fetchval(
                "SELECT callback_id FROM followup.callbacks WHERE complaint_id = $1", uuid.UUID(again_id)
            ),
            timeout=60,
        )
        async with httpx.AsyncClient(base_url=services["followup"], timeout=30) as followup:
            response = await followup.post(
                f"/v1/callbacks/{callback_id}/outcome", json={"outcome": "satisfied"}, headers=AGENT
            )
            assert response.status_code == 200, response.text
        closed = await wait_until(
            lambda: db.fetchval(
                "SELECT close_outcome FROM followup.cases WHERE complaint_id = $1", uuid.UUID(again_id)
            ),
            timeout=30,
        )
        assert closed == "satisfied"
    finally:
        await db.close()
