"""Issue 24 in reporting, against real Postgres and the real broker: a complaint waiting in triage counts in the
KPIs' `received` from the moment it arrives (60 posted, 8 in triage → 60, not 52), acknowledgement in time is a share
of the acknowledgements that fell due, and a surge of 30 complaints
about one compound in 20 minutes shows on `/metrics` as a surging asset and district x category (must-show 5; the
alert rules that fire on those series are tested with promtool in `deploy/observability/prometheus/alerts_test.yml`).

One reporting, one fresh database; the day (2024-09-17) is one no other test uses, so its KPIs and its hotspots'
week of baseline are exactly these events, though the session broker holds other tests' events too.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.contracts import ComplaintAwaitingTriage, Event, new_event
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, wait_until
from tests.support.reporting import MANAGER, fresh_database, running_reporting
from tests.support.reporting_events.incidents import Caller, Storm

T0 = datetime(2024, 9, 17, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
DAY = "2024-09-17"
NOW = T0 + timedelta(minutes=20)  # reporting's clock: the surge's last complaint came a minute ago
COMPOUND = {"type": "building", "id": "changqing-compound-3"}
POSTED, IN_TRIAGE, SURGE = 60, 8, 30
#: Where the 30 others live: at most four in any one (five would be a surge against an empty baseline).
ELSEWHERE = ("tiexi", "shenhe", "dadong", "huanggu", "hunnan", "yuhong", "sujiatun", "shenbei")
#: Routed, never acknowledged: the first called 40 minutes before the others (its 30-minute acknowledge deadline
#: has passed: due, against the rate); the other two are not due yet.
UNACKNOWLEDGED, LATE = (38, 39, 40), 38


def clock() -> datetime:
    return NOW


def awaiting_triage(storm: Storm, caller: Caller, minutes: float, district: str) -> Event:
    """dispatch's complaint.awaiting_triage: doubtful, a supervisor decides (no department, no category yet)."""
    event = new_event(
        ComplaintAwaitingTriage,
        complaint_id=caller.complaint_id,
        payload={
            "complaint_id": caller.complaint_id,
            "reference_no": caller.reference_no,
            "channel": "phone",
            "district": district,
            "account_no": caller.account_no,
            "severity": "normal",
            "suggestions": [{"category": "billing", "department": "billing", "probability": 0.41}],
            "reasons": ["model confidence 0.41 below 0.6"],
            "model_version": "test",
            "accepted_at": storm.at(minutes),
            "queued_at": storm.at(minutes),
        },
        producer="test",
        correlation_id="surge",
        occurred_at=storm.at(minutes),
    )
    storm.events.append(event)
    return event


def the_day() -> Storm:
    """30 complaints about one compound's building in 19 minutes, each routed to repair; 30 others across the town,
    22 routed (3 of them never acknowledged) and 8 waiting in triage."""
    storm = Storm(T0, seed=2409)
    for n in range(SURGE):
        storm.route(storm.call(n, n * 19 / SURGE, asset=COMPOUND), n * 19 / SURGE + 0.5)
    for n in range(SURGE, POSTED):
        district, at = ELSEWHERE[n % len(ELSEWHERE)], -40 if n == LATE else (n - SURGE) * 0.5
        caller = storm.call(n, at, district=district)
        if n < SURGE + IN_TRIAGE:
            awaiting_triage(storm, caller, at + 0.2, district)
            continue
        storm.route(caller, at + 0.2)
        if n in UNACKNOWLEDGED:
            storm.events.pop()  # its acknowledgement never came
    return storm


@pytest.fixture(scope="module")
async def reporting(migrated: Infrastructure) -> AsyncIterator[httpx.AsyncClient]:
    bootstrap = migrated.kafka_bootstrap_servers
    async with (
        fresh_database(migrated.database_url) as dsn,
        running_reporting(dsn, bootstrap, clock=clock) as (app, client),
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        before = (await client.get("/metrics")).text
        assert COMPOUND["id"] not in before  # nothing surges before the complaints come
        storm = the_day()
        await publish(bootstrap, *storm.events)

        async def projected() -> bool:
            totals = await _total(client)  # the work orders' topic is read at a pace of its own
            routed = POSTED - IN_TRIAGE
            expected = (POSTED, routed, routed - len(UNACKNOWLEDGED))
            return bool((totals["received"], totals["routed"], totals["acknowledged"]) == expected)

        await wait_until(projected, timeout=60)
        yield client


async def _total(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/v1/kpis", params={"from": DAY, "to": DAY}, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    totals: dict[str, Any] = answer.json()["totals"]
    return totals


async def test_complaints_in_triage_count_as_received(reporting: httpx.AsyncClient) -> None:
    totals = await _total(reporting)
    assert (totals["received"], totals["routed"]) == (POSTED, POSTED - IN_TRIAGE)
    by_department = await reporting.get("/v1/kpis", params={"from": DAY, "to": DAY}, headers=MANAGER)
    rows = {row["key"]: row["received"] for row in by_department.json()["rows"]}
    # Until a supervisor routes them they count under "unrouted"; the rows still add up to the total.
    assert rows == {"repair": POSTED - IN_TRIAGE, "unrouted": IN_TRIAGE}


async def test_acknowledgement_in_time_counts_only_what_fell_due(reporting: httpx.AsyncClient) -> None:
    """49 acknowledged in time, one missing past its deadline, two not due yet: 49 / 50, not 49 / 52; the triage
    queue's row has nothing due and no rate (the dashboard's "—", not a red 0 %)."""
    assert (await _total(reporting))["ack_in_time_rate"] == 0.98
    by_department = await reporting.get("/v1/kpis", params={"from": DAY, "to": DAY}, headers=MANAGER)
    rates = {row["key"]: row["ack_in_time_rate"] for row in by_department.json()["rows"]}
    assert rates == {"repair": 0.98, "unrouted": None}


async def test_a_compound_surge_shows_on_metrics_by_asset_and_by_area(reporting: httpx.AsyncClient) -> None:
    text = (await reporting.get("/metrics")).text
    asset = _sample(text, "reporting_asset_surge_complaints", asset_id=COMPOUND["id"], asset_type="building")
    area = _sample(text, "reporting_area_surge_complaints", category="heating_temperature", district="heping")
    assert (asset, area) == (SURGE, SURGE)
    # The 22 others, spread over the town, and the triage queue's 8 (no category yet) surge nowhere.
    elsewhere = "|".join(ELSEWHERE)
    assert not re.search(rf'reporting_area_surge_complaints\{{[^}}]*district="({elsewhere})"', text)
    hotspots = (await reporting.get("/v1/hotspots", params={"window_hours": 1}, headers=MANAGER)).json()
    assert [(h["asset_id"], h["count"], h["surge"]) for h in hotspots["assets"]] == [(COMPOUND["id"], SURGE, True)]
    # The same surges for the managers' pages (the console's banner): what, how many, since when.
    now = (await reporting.get("/v1/surges", headers=MANAGER)).json()
    found = {(s["kind"], s["asset_id"] or s["district"], s["count"], s["since"]) for s in now["surges"]}
    assert found == {
        ("asset", COMPOUND["id"], SURGE, "2024-09-17T01:00:00Z"),
        ("area", "heping", SURGE, "2024-09-17T01:00:00Z"),
    }


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in the Prometheus text format (labels as prometheus_client writes them: sorted)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{{{wanted}}} not in /metrics"
    return float(found.group(1))
