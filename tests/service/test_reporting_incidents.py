"""Reporting against real Postgres and the real broker, fed a storm as dispatch and followup publish it: the
subscription reads the incident and outage topics, an unknown event type on them is dead-lettered without
stopping the partition, and the served answers (case view, incidents, outage notices, KPIs, hotspots by asset,
overdue, CSV) say what the events imply.

The storm happens on a day no other test uses (2025-03-04), so the KPIs of that day are exactly its own, even
though the session broker holds other tests' events too.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.reporting.rebuild import rebuild
from shared import topics
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, publish, read_topic, wait_until
from tests.support.reporting import MANAGER, fresh_database, running_reporting
from tests.support.reporting_events.incidents import CAUSE_ANALYSIS, FEEDER, PUMP, STATION, storm

T0 = datetime(2025, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
DAY = "2025-03-04"
NOW = T0 + timedelta(hours=30)  # reporting's clock: past the merged callers' own (24 h) deadlines


def clock() -> datetime:
    return NOW


@pytest.fixture(scope="module")
async def served(migrated: Infrastructure) -> AsyncIterator[dict[str, Any]]:
    late = storm(T0, seed=41)  # resolved 20 min past its deadline, two callers called back
    # Its resolution set corrective actions (it is serious): one done in time, one still open past its deadline
    # (escalated a minute after it).
    late.corrective_action(1, 300, "service every station pump", deadline=2000, completed=1500)
    late.corrective_action(2, 300, "fit a standby pump", deadline=600)
    still_open = storm(T0 + timedelta(hours=1), seed=42, resolved=False)
    bootstrap = migrated.kafka_bootstrap_servers
    async with (
        fresh_database(migrated.database_url) as dsn,
        running_reporting(dsn, bootstrap, clock=clock) as (app, client),
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        # A later event type nobody told reporting about, ahead of the incident's events on its partition.
        unknown = {
            "event_id": str(uuid.uuid4()),
            "event_type": "incident.severity_raised",
            "schema_version": 1,
            "occurred_at": T0.isoformat(),
            "producer": "dispatch",
            "correlation_id": "c",
            "complaint_id": str(late.incident_id),
            "payload": {"incident_id": str(late.incident_id)},
        }
        await produce(
            bootstrap, topics.INCIDENT_EVENTS, [(str(late.incident_id).encode(), json.dumps(unknown).encode())]
        )
        published = [*late.events, *still_open.events]
        await publish(bootstrap, *published)
        conn = await asyncpg.connect(dsn)

        async def projected() -> bool:
            found = await _incidents(client, "resolved")
            closed = await client.get(f"/v1/cases/{late.callers[0].reference_no}", headers=MANAGER)
            outage = await client.get(
                "/v1/reports/outages", params={"active": "true", "page_size": 500}, headers=MANAGER
            )
            # Every event of both storms in the timeline: the topics are read at different paces behind the
            # session's other traffic, and the KPIs below count all of them.
            seen = await conn.fetchval(
                "SELECT count(*) FROM reporting.timeline WHERE event_id = ANY($1::uuid[])",
                [e.event_id for e in published],
            )
            return (
                seen == len(published)
                and late.incident_id in found
                # its warning and escalations travel on complaint.escalated, behind the session's other traffic
                and found[late.incident_id]["escalations"] == 2
                and found[late.incident_id]["sla_warnings"] == 1
                and closed.status_code == 200
                and closed.json()["status"] == "closed"
                and str(still_open.outage_id) in {o["outage_id"] for o in outage.json()["items"]}
                and still_open.incident_id in await _incidents(client, "open")
            )

        try:
            await wait_until(projected, timeout=90, interval=0.3)
        finally:
            await conn.close()
        yield {
            "client": client,
            "late": late,
            "open": still_open,
            "unknown": unknown,
            "bootstrap": bootstrap,
            "dsn": dsn,
        }


async def _incidents(client: httpx.AsyncClient, status: str | None) -> dict[uuid.UUID, dict[str, Any]]:
    params = {"page_size": 500} | ({"status": status} if status else {})
    response = await client.get("/v1/reports/incidents", params=params, headers=MANAGER)
    assert response.status_code == 200, response.text
    return {uuid.UUID(i["incident_id"]): i for i in response.json()["items"]}


async def test_an_unknown_event_type_is_dead_lettered_and_the_partition_moves_on(served: dict[str, Any]) -> None:
    """The incident's later events (same key, same partition) were projected (the fixture waited for them);
    the unknown one waits in the dead-letter topic, with the reason, for a replay once reporting knows it."""
    event_id = served["unknown"]["event_id"]
    records = await read_topic(
        served["bootstrap"],
        topics.dead_letter_topic(topics.INCIDENT_EVENTS),
        until=lambda rs: any(event_id.encode() in r.value for r in rs),
        timeout=30,
    )
    (dead,) = [r for r in records if event_id.encode() in r.value]
    assert "incident.severity_raised" in dead.headers["dlq.reason"]


async def test_a_joined_callers_case_shows_its_incident_eta_and_resolution(served: dict[str, Any]) -> None:
    client, late = served["client"], served["late"]
    second = late.callers[1]
    case = (await client.get(f"/v1/cases/{second.reference_no}", headers=MANAGER)).json()
    assert case["incident_id"] == str(late.incident_id) and case["outage_id"] is None
    assert _at(case["eta"]) == late.at(320) and _at(case["first_resolved_at"]) == late.at(300)
    assert case["status"] == "resolved"  # dissatisfied at the callback, not closed
    assert (case["asset_type"], case["asset_id"]) == tuple(STATION.values())
    assert case["work_order_id"] == str(late.incident_wo) and case["work_order_status"] is None
    assert [e["event_type"] for e in case["timeline"]][:2] == ["complaint.received", "complaint.joined"]

    (outage_caller,) = served["open"].outage_callers
    told = (await client.get(f"/v1/cases/{outage_caller.complaint_id}", headers=MANAGER)).json()
    assert told["outage_id"] == str(served["open"].outage_id) and told["status"] == "joined"
    assert _at(told["eta"]) == served["open"].at(400)

    household = (await client.get(f"/v1/households/{late.callers[0].account_no}/cases", headers=MANAGER)).json()
    assert [(c["status"], c["incident_id"]) for c in household["items"]] == [("closed", str(late.incident_id))]


async def test_an_incident_is_no_case(served: dict[str, Any]) -> None:
    client, late = served["client"], served["late"]
    for ref in (late.incident_ref, str(late.incident_id), str(late.outage_id)):
        assert (await client.get(f"/v1/cases/{ref}", headers=MANAGER)).status_code == 404


async def test_incidents_report(served: dict[str, Any]) -> None:
    client, late, still_open = served["client"], served["late"], served["open"]
    resolved = (await _incidents(client, "resolved"))[late.incident_id]
    assert (
        resolved
        | {
            "reference_no": late.incident_ref,
            "family": "no_heat",
            "asset_type": STATION["type"],
            "asset_id": STATION["id"],
            "district": "heping",
            "status": "resolved",
            "households": 3,
            "complaint_count": 3,
            "duration_minutes": 260,  # opened 40 min in, resolved at 5 h
            "sla_outcome": "breached",
            "escalations": 2,  # its resolve clock's breach, and its overdue corrective action's
            "escalation_level": 1,
            "sla_warnings": 1,
            "work_order_status": "resolved",
        }
        == resolved
    )
    assert _at(resolved["opened_at"]) == late.at(40) and _at(resolved["resolve_by"]) == late.resolve_by
    assert _at(resolved["resolved_at"]) == late.at(300)

    opened = await _incidents(client, "open")
    assert late.incident_id not in opened
    now_open = opened[still_open.incident_id]
    assert now_open["sla_outcome"] == "overdue" and now_open["resolved_at"] is None
    assert now_open["duration_minutes"] == 30 * 60 - 100  # opened at T0 + 1 h + 40 min, now T0 + 30 h
    assert _at(now_open["eta"]) == still_open.at(320)

    answer = await client.get("/v1/reports/incidents.csv", params={"status": "resolved"}, headers=MANAGER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = {row["incident_id"]: row for row in csv.DictReader(io.StringIO(answer.text))}
    assert rows[str(late.incident_id)]["sla_outcome"] == "breached" and rows[str(late.incident_id)]["households"] == "3"

    refused = await client.get("/v1/reports/incidents", params={"status": "closed"}, headers=MANAGER)
    assert refused.status_code == 422
    assert (await client.get("/v1/reports/incidents")).status_code == 401


async def test_the_leadership_report_lists_serious_incidents_with_their_cause_and_actions(
    served: dict[str, Any],
) -> None:
    """Both storms' incidents are serious and opened that day: each is a line of its own, marked as an incident,
    with its work order's cause analysis and root cause, its corrective actions and escalations."""
    client, late, still_open = served["client"], served["late"], served["open"]
    answer = await client.get("/v1/reports/serious", params={"from": DAY, "to": DAY}, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    found = {r["reference_no"]: r for r in answer.json()["cases"]}
    resolved = found[late.incident_ref]
    assert (resolved["kind"], resolved["complaint_id"], resolved["severity"], resolved["households"]) == (
        "incident",
        str(late.incident_id),
        "serious",
        3,
    )
    assert (resolved["status"], _at(resolved["accepted_at"]), _at(resolved["first_resolved_at"])) == (
        "resolved",
        late.at(40),
        late.at(300),
    )
    assert resolved["cause_analysis"] == {"summary": CAUSE_ANALYSIS, "analysed_by": "repair-lead"}
    assert (resolved["root_cause"], resolved["root_cause_zh"]) == (PUMP["code"], PUMP["label_zh"])
    actions = [(a["description"], a["status"], a["overdue"]) for a in resolved["corrective_actions"]]
    assert actions == [("fit a standby pump", "open", True), ("service every station pump", "done", False)]
    assert [(e["stage"], e["escalated_to"]) for e in resolved["escalations"]] == [
        ("resolve", "supervisor"),
        ("corrective_action", "department_manager"),
    ]
    still = found[still_open.incident_ref]
    assert (still["kind"], still["status"], still["cause_analysis"], still["corrective_actions"]) == (
        "incident",
        "open",
        None,
        [],
    )
    assert found[late.callers[1].reference_no]["kind"] == "case"  # its callers stay cases of their own

    answer = await client.get("/v1/reports/serious.csv", params={"from": DAY, "to": DAY}, headers=MANAGER)
    lines = [r for r in csv.DictReader(io.StringIO(answer.text)) if r["reference_no"] == late.incident_ref]
    assert [(r["kind"], r["action_description"], r["action_overdue"]) for r in lines] == [
        ("incident", "fit a standby pump", "True"),
        ("incident", "service every station pump", "False"),
    ]
    assert {(r["cause_analysis"], r["escalations"]) for r in lines} == {(CAUSE_ANALYSIS, "2")}


async def test_outages_report(served: dict[str, Any]) -> None:
    client, still_open, late = served["client"], served["open"], served["late"]
    answer = await client.get("/v1/reports/outages", params={"active": "true", "page_size": 500}, headers=MANAGER)
    active = {o["outage_id"]: o for o in answer.json()["items"]}
    outage = active[str(still_open.outage_id)]
    assert (outage["kind"], outage["family"], outage["status"], outage["complaint_count"]) == (
        "unplanned",
        "power_outage",
        "active",
        1,
    )
    assert (outage["asset_type"], outage["asset_id"]) == tuple(FEEDER.values())
    assert _at(outage["expected_end"]) == still_open.at(400) and _at(outage["starts_at"]) == still_open.at(-60)
    assert str(late.outage_id) in active  # both storms' notices are still active
    ended = await client.get("/v1/reports/outages", params={"active": "false", "page_size": 500}, headers=MANAGER)
    assert str(still_open.outage_id) not in {o["outage_id"] for o in ended.json()["items"]}


async def test_kpis_count_each_incident_once_and_its_households(served: dict[str, Any]) -> None:
    client = served["client"]
    report = (
        await client.get("/v1/kpis", params={"from": DAY, "to": DAY, "group_by": "district"}, headers=MANAGER)
    ).json()
    totals = report["totals"]
    assert totals["received"] == 8  # 3 + 1 callers per storm
    assert (totals["resolved"], totals["resolved_in_time"], totals["timeliness_rate"]) == (0, 0, None)
    assert totals["fixed_with_group"] == 3  # the resolved incident's callers; the open one's wait
    assert totals["callbacks_done"] == 2  # two of the three fixed callers called back ...
    # ... on callbacks due 24 h after the fix, the next day: coverage counts them there, both reached.
    assert (totals["callbacks_due"], totals["callback_coverage"]) == (0, None)
    next_day = (
        await client.get("/v1/kpis", params={"from": "2025-03-05", "to": "2025-03-05"}, headers=MANAGER)
    ).json()["totals"]
    assert (next_day["callbacks_due"], next_day["callbacks_completed"], next_day["callback_coverage"]) == (2, 2, 1.0)
    assert next_day["received"] == 0 and next_day["due"] == 0  # the callers have no resolve deadline of their own
    assert (totals["incidents"], totals["incidents_resolved"], totals["incidents_resolved_in_time"]) == (2, 1, 0)
    assert totals["incident_timeliness"] == 0.0 and totals["incident_households"] == 6
    heping = next(row for row in report["rows"] if row["key"] == "heping")
    assert (heping["received"], heping["incidents"], heping["incident_households"]) == (6, 2, 6)
    by_channel = await client.get("/v1/kpis", params={"from": DAY, "to": DAY, "group_by": "channel"}, headers=MANAGER)
    assert by_channel.json()["rows"][0]["incidents"] is None and by_channel.json()["totals"]["incidents"] == 2


async def test_hotspots_by_asset_and_no_caller_overdue(served: dict[str, Any]) -> None:
    client, late, still_open = served["client"], served["late"], served["open"]
    hot = (await client.get("/v1/hotspots", params={"window_hours": 48}, headers=MANAGER)).json()
    assets = {(a["asset_type"], a["asset_id"]): a["count"] for a in hot["assets"]}
    assert assets[tuple(STATION.values())] == 6 and assets[tuple(FEEDER.values())] == 2
    overdue = (await client.get("/v1/overdue", params={"page_size": 200}, headers=MANAGER)).json()
    callers = {str(c.complaint_id) for s in (late, still_open) for c in [*s.callers, *s.outage_callers]}
    assert not callers & {item["complaint_id"] for item in overdue["items"]}  # merged orders left the queue


async def test_an_open_incidents_work_order_is_in_its_departments_queue_and_overdue_list(
    served: dict[str, Any],
) -> None:
    """The crew's one work order for the still open storm is repair's, past its deadline: the queue counts it and
    the overdue list shows it as an incident (the resolved storm's is in neither)."""
    client, late, still_open = served["client"], served["late"], served["open"]
    items, page, total = [], 1, None
    while total is None or len(items) < total:  # every page: the session's other traffic is in this read model
        params = {"department": "repair", "page_size": 200, "page": page}
        listed = (await client.get("/v1/overdue", params=params, headers=MANAGER)).json()
        items, page, total = items + listed["items"], page + 1, listed["total"]
    incidents = [item for item in items if item["kind"] == "incident"]
    mine = [item for item in incidents if item["incident_id"] == str(still_open.incident_id)]
    assert [(i["complaint_id"], i["reference_no"], i["work_order_id"], i["department"]) for i in mine] == [
        (str(still_open.incident_id), still_open.incident_ref, str(still_open.incident_wo), "repair")
    ]
    assert _at(mine[0]["resolve_by"]) == still_open.resolve_by and mine[0]["overdue_minutes"] > 0
    assert mine[0]["channel"] is None and mine[0]["account_no"] is None, "no customer of its own"
    assert str(late.incident_id) not in {i["incident_id"] for i in incidents}, "resolved: off the list"

    queues = (await client.get("/v1/queues", headers=MANAGER)).json()["departments"]
    repair = next(q for q in queues if q["department"] == "repair")
    assert repair["overdue"] == total and repair["open"] >= repair["overdue"] >= 1


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_rebuild_from_offset_0_reproduces_the_storms_rows(served: dict[str, Any]) -> None:
    """Rebuilt side by side from every topic (this session's other events included): the storms' incidents,
    outage notices, callers' cases, the day's KPI rollups and the asset hotspots equal the live ones."""
    late, still_open = served["late"], served["open"]
    schema = f"reporting_check_{uuid.uuid4().hex[:8]}"
    await rebuild(served["dsn"], served["bootstrap"], schema, "Asia/Shanghai")
    callers = [c.complaint_id for s in (late, still_open) for c in [*s.callers, *s.outage_callers]]
    queries = {
        "incidents": ("SELECT * FROM {s}.incidents WHERE incident_id = ANY($1) ORDER BY incident_id",
                      [late.incident_id, still_open.incident_id]),
        "outages": ("SELECT * FROM {s}.outages WHERE outage_id = ANY($1) ORDER BY outage_id",
                    [late.outage_id, still_open.outage_id]),
        "cases": ("SELECT * FROM {s}.cases WHERE complaint_id = ANY($1) ORDER BY complaint_id", callers),
        "kpi_rollup": ("SELECT * FROM {s}.kpi_rollup WHERE day = $1 ORDER BY dimension, key", T0.date()),
        "hotspot_asset_hourly": (
            "SELECT * FROM {s}.hotspot_asset_hourly WHERE hour BETWEEN $1 AND $1 + interval '1 day' "
            "ORDER BY hour, asset_type, asset_id",
            T0,
        ),
    }  # fmt: skip
    conn = await asyncpg.connect(served["dsn"])
    try:
        for table, (sql, arg) in queries.items():
            live = [dict(r) for r in await conn.fetch(sql.format(s="reporting"), arg)]
            rebuilt = [dict(r) for r in await conn.fetch(sql.format(s=schema), arg)]
            assert live and rebuilt == live, table
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
