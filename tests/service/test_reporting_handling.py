"""A scripted period under the handling rules through the real reporting consumer (real Postgres, real Kafka):
timeliness equals what this test computes from its script (cases still open past their deadline lower it, cases
not yet due are not counted), callback coverage counts only callbacks that reached the customer, invalid
complaints and first-contact resolutions are counted apart, the per-staff figures match the script, and the
leadership report of serious cases (JSON and CSV), the root-cause breakdowns and the case view show what the
events say. A malformed corrective-action event is dead-lettered; a rebuild from offset 0 reproduces the rows.

The period is a day no other test uses (2025-06-10, Asia/Shanghai), so its figures are exactly the script's
although the session broker holds other tests' events too. Reporting's clock stands at 19:00 that day.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.reporting.rebuild import rebuild
from shared import topics
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic
from tests.support.reporting import AGENT, MANAGER, reporting_with_projected
from tests.support.reporting_events.handling import Scripted, events, period_script

T0 = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
DAY = "2025-06-10"
DAY_START_H, DAY_END_H = -9, 15  # the local day, in hours after T0
NOW_H = 10  # reporting's clock: 19:00 local
PERIOD = {"from": DAY, "to": DAY}
SCORES = ("supply", "attitude", "speed", "billing")


def clock() -> datetime:
    return T0 + timedelta(hours=NOW_H)


@pytest.fixture(scope="module")
async def served(migrated: Infrastructure) -> AsyncIterator[dict[str, Any]]:
    script = period_script()
    published = [e for case in script for e in events(case, T0)]
    bootstrap = migrated.kafka_bootstrap_servers
    async with reporting_with_projected(migrated.database_url, bootstrap, published, clock=clock) as (client, dsn):
        yield {"client": client, "script": script, "bootstrap": bootstrap, "dsn": dsn}


# -- what the script implies, computed from it alone -------------------------------------------------------------


def _timeliness(script: list[Scripted]) -> tuple[int, int, int]:
    """(in time, late, open overdue) of the work-order cases whose deadline falls in the day."""
    in_time = late = open_overdue = 0
    for case in script:
        if case.kind != "work_order" or not DAY_START_H <= case.resolve_by_h < DAY_END_H:
            continue
        resolved = case.case_resolved_h
        if resolved is None:
            open_overdue += case.resolve_by_h <= NOW_H  # not due yet: not counted
        elif resolved <= case.resolve_by_h:
            in_time += 1
        else:
            late += 1
    return in_time, late, open_overdue


def _has_callback(case: Scripted) -> bool:
    return case.callback_due_h is not None and (case.kind == "on_contact" or case.case_resolved_h is not None)


def _callbacks(script: list[Scripted]) -> tuple[Counter[str], int, dict[str, list[int]]]:
    """How each callback due in the day counts, the attempts on them, and their survey marks."""
    counted: Counter[str] = Counter()
    attempts = 0
    marks: dict[str, list[int]] = defaultdict(list)
    for case in filter(_has_callback, script):
        assert case.callback_due_h is not None
        if not DAY_START_H <= case.callback_due_h < DAY_END_H:
            continue
        attempts += len(case.attempts)
        last = case.attempts[-1] if case.attempts else None
        if last and last.outcome in ("satisfied", "dissatisfied"):
            counted["completed"] += 1
        elif last and last.outcome == "unreachable" and last.final:
            counted["unreachable"] += 1
        elif case.callback_due_h <= NOW_H:
            counted["missed"] += 1
        for name, mark in ((last.scores or {}) if last else {}).items():
            marks[name].append(mark)
    return counted, attempts, marks


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _staff(script: list[Scripted]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "staff_name": None,  # the script's staff are not signed-in persons: no display names
            "cases_owned": 0,
            "first_contact_resolutions": 0,
            "work_orders_resolved": 0,  # resolved by department credentials, none of them a person
            "callbacks_done": 0,
            "outcomes": Counter(),
        }
    )
    marks: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for case in script:
        if case.owner:
            rows[case.owner]["cases_owned"] += 1
            rows[case.owner]["first_contact_resolutions"] += case.kind == "on_contact"
        if not _has_callback(case) or not case.attempts:
            continue
        last = case.attempts[-1]
        if last.outcome in ("satisfied", "dissatisfied"):
            rows[last.agent]["callbacks_done"] += 1
        if case.owner and last.final:
            rows[case.owner]["outcomes"][last.outcome] += 1
            for name, mark in (last.scores or {}).items():
                marks[case.owner][name].append(mark)
    expected = {}
    for staff_id, row in rows.items():
        outcomes = row.pop("outcomes")
        expected[staff_id] = {
            "staff_id": staff_id,
            **row,
            "satisfied": outcomes["satisfied"],
            "dissatisfied": outcomes["dissatisfied"],
            "unreachable": outcomes["unreachable"],
            "satisfaction_rate": _rate(outcomes["satisfied"], outcomes["satisfied"] + outcomes["dissatisfied"]),
        }
        for name in SCORES:
            given = marks[staff_id][name]
            expected[staff_id][f"score_{name}"] = round(sum(given) / len(given), 2) if given else None
            expected[staff_id][f"score_{name}_n"] = len(given)
    return expected


def _root_causes(script: list[Scripted], key: Any) -> Counter[tuple[Any, str]]:
    """(group, code) -> work orders resolved in the day with that root cause."""
    found: Counter[tuple[Any, str]] = Counter()
    for case in script:
        parts = [(case.department, case.resolved_h, case.root_cause)]
        if case.assisting:
            parts.append(case.assisting)
        for department, resolved_h, cause in parts:
            if resolved_h is not None and cause is not None and DAY_START_H <= resolved_h < DAY_END_H:
                found[(key(case, department), cause.code)] += 1
    return found


# -- the answers -------------------------------------------------------------------------------------------------


async def _kpis(client: httpx.AsyncClient, group_by: str) -> dict[str, Any]:
    answer = await client.get("/v1/kpis", params={**PERIOD, "group_by": group_by}, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_timeliness_counts_open_overdue_cases_against_it(served: dict[str, Any]) -> None:
    script = served["script"]
    in_time, late, open_overdue = _timeliness(script)
    assert open_overdue > 0 and in_time and late  # the script exercises every way of counting
    totals = (await _kpis(served["client"], "department"))["totals"]
    assert (totals["due_in_time"], totals["due_late"], totals["due_open_overdue"]) == (in_time, late, open_overdue)
    assert totals["due"] == in_time + late + open_overdue
    assert totals["timeliness_rate"] == _rate(in_time, in_time + late + open_overdue)
    # Counting only the resolved cases would have hidden the open overdue ones.
    assert totals["timeliness_rate"] < _rate(in_time, in_time + late)  # type: ignore[operator]
    assert (totals["timeliness_rate"], totals["due"]) == (round(5 / 11, 4), 11)  # the script's own figures, by hand


async def test_timeliness_by_department_and_by_the_day_it_fell_due(served: dict[str, Any]) -> None:
    script = served["script"]
    by_department = {r["key"]: r for r in (await _kpis(served["client"], "department"))["rows"]}
    for department in ("repair", "billing", "customer_service"):
        in_time, late, open_overdue = _timeliness([c for c in script if c.department == department])
        row = by_department[department]
        assert (row["due_in_time"], row["due_late"], row["due_open_overdue"]) == (in_time, late, open_overdue)
    by_day = {r["key"]: r for r in (await _kpis(served["client"], "day"))["rows"]}
    assert by_day[DAY]["due"] == sum(_timeliness(script))
    # The case due the next day is received today but falls due tomorrow: outside this period's timeliness.
    assert "2025-06-11" not in by_day


async def test_callback_coverage_counts_only_callbacks_that_reached_the_customer(served: dict[str, Any]) -> None:
    counted, attempts, marks = _callbacks(served["script"])
    assert counted["unreachable"] and counted["missed"]
    totals = (await _kpis(served["client"], "department"))["totals"]
    due = counted["completed"] + counted["unreachable"] + counted["missed"]
    assert (totals["callbacks_due"], totals["callbacks_completed"]) == (due, counted["completed"])
    assert (totals["callbacks_unreachable"], totals["callbacks_missed"]) == (counted["unreachable"], counted["missed"])
    assert totals["callback_attempts"] == attempts
    assert totals["callback_coverage"] == _rate(counted["completed"], due) == round(7 / 9, 4)
    for name in SCORES:
        assert totals[f"score_{name}_n"] == len(marks[name])
        assert totals[f"score_{name}"] == (round(sum(marks[name]) / len(marks[name]), 2) if marks[name] else None)


async def test_invalid_and_first_contact_are_counted_apart(served: dict[str, Any]) -> None:
    script = served["script"]
    invalid = sum(c.kind == "invalid" for c in script)
    on_contact = sum(c.kind == "on_contact" for c in script)
    totals = (await _kpis(served["client"], "department"))["totals"]
    assert (totals["received"], totals["invalid"], totals["valid"]) == (len(script), invalid, len(script) - invalid)
    assert totals["resolved_on_contact"] == on_contact
    assert totals["first_contact_rate"] == _rate(on_contact, len(script) - invalid)
    # Invalid complaints have no work order: not routed, not in timeliness or callbacks.
    assert totals["routed"] == sum(c.kind == "work_order" for c in script)
    by_channel = {r["key"]: r for r in (await _kpis(served["client"], "channel"))["rows"]}
    for channel in ("phone", "counter", "web"):
        cases = [c for c in script if c.channel == channel]
        valid = [c for c in cases if c.kind != "invalid"]
        expected = _rate(sum(c.kind == "on_contact" for c in cases), len(valid))
        assert by_channel[channel]["first_contact_rate"] == expected, channel
    answer = await served["client"].get("/v1/kpis.csv", params={**PERIOD, "group_by": "channel"}, headers=MANAGER)
    header = next(csv.reader(io.StringIO(answer.text)))
    assert {"first_contact_rate", "invalid", "due_open_overdue", "callback_coverage", "score_supply"} <= set(header)


async def test_per_staff_figures_match_the_script(served: dict[str, Any]) -> None:
    client, script = served["client"], served["script"]
    expected = _staff(script)
    answer = await client.get("/v1/reports/staff", params=PERIOD, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    rows = {r["staff_id"]: r for r in answer.json()["rows"]}
    assert rows == expected
    assert rows["agent-a"]["cases_owned"] == 6 and rows["desk-1"]["cases_owned"] == 1  # the work order's owner
    assert rows["repair-desk-3"]["cases_owned"] == 1  # nobody took it: the first to acknowledge it owns it
    answer = await client.get("/v1/reports/staff.csv", params=PERIOD, headers=MANAGER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = {r["staff_id"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert lines.keys() == expected.keys()
    assert lines["agent-b"]["callbacks_done"] == str(expected["agent-b"]["callbacks_done"])
    for path in ("/v1/reports/staff", "/v1/reports/staff.csv"):
        assert (await client.get(path, params=PERIOD, headers=AGENT)).status_code == 403
        assert (await client.get(path, params=PERIOD)).status_code == 401
    other_day = await client.get(
        "/v1/reports/staff", params={"from": "2025-06-09", "to": "2025-06-09"}, headers=MANAGER
    )
    assert not {r["staff_id"] for r in other_day.json()["rows"]} & expected.keys()


async def test_the_leadership_report_of_serious_cases(served: dict[str, Any]) -> None:
    client, script = served["client"], served["script"]
    answer = await client.get("/v1/reports/serious", params=PERIOD, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    cases = {c["reference_no"]: c for c in answer.json()["cases"]}
    serious = [c for c in script if c.severity in ("serious", "emergency")]
    assert cases.keys() == {c.reference_no for c in serious}
    coordinated = cases[script[9].reference_no]
    assert (coordinated["severity"], coordinated["department"], coordinated["district"]) == (
        "serious",
        "repair",
        "heping",
    )
    assert coordinated["cause_analysis"] == {"summary": "corroded main under the compound", "analysed_by": "leadership"}
    assert (coordinated["root_cause"], coordinated["root_cause_en"], coordinated["root_cause_note"]) == (
        "repair.pipe_burst",
        "Pipe burst",
        "old cast iron",
    )  # the lead's, not the assisting part's
    actions = {a["description"]: a for a in coordinated["corrective_actions"]}
    done, still_open = actions["replace the compound's valves"], actions["audit the meter readings"]
    assert (done["status"], done["overdue"], _at(done["completed_at"])) == ("done", False, T0 + timedelta(hours=7))
    assert (still_open["status"], still_open["overdue"], still_open["completed_at"]) == ("open", True, None)
    assert (still_open["owner"], _at(still_open["deadline"])) == ("billing-lead", T0 + timedelta(hours=9.5))
    assert [(e["stage"], e["escalated_to"]) for e in coordinated["escalations"]] == [
        ("resolve", "supervisor"),
        ("corrective_action", "department_manager"),
    ]
    assert coordinated["escalations"][1]["corrective_action_id"] == still_open["action_id"]
    emergency = cases[script[10].reference_no]
    assert emergency["corrective_actions"] == [] and emergency["root_cause"] == "repair.gas_leak"

    answer = await client.get("/v1/reports/serious.csv", params=PERIOD, headers=MANAGER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(lines) == 3  # one per corrective action, and one for the case without any
    by_action = {(r["reference_no"], r["action_description"]): r for r in lines}
    line = by_action[(script[9].reference_no, "audit the meter readings")]
    assert (line["action_status"], line["action_overdue"], line["cause_analysis"]) == (
        "open",
        "True",
        "corroded main under the compound",
    )
    assert (line["root_cause"], line["escalations"], line["escalated_to"]) == (
        "repair.pipe_burst",
        "2",
        "department_manager",
    )
    bare = by_action[(script[10].reference_no, "")]
    assert (bare["severity"], bare["action_owner"], bare["cause_analysis"]) == (
        "emergency",
        "",
        "a fitter's loose coupling",
    )
    nothing = await client.get(
        "/v1/reports/serious", params={"from": "2025-06-11", "to": "2025-06-11"}, headers=MANAGER
    )
    assert not {c["reference_no"] for c in nothing.json()["cases"]} & cases.keys()
    refused = await client.get("/v1/reports/serious", params={"from": DAY, "to": "2025-06-01"}, headers=MANAGER)
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("by", "key"),
    [
        ("department", lambda case, department: department),
        ("district", lambda case, department: case.district),
        ("asset", lambda case, department: f"heat_exchange_station:{case.asset}" if case.asset else None),
        ("month", lambda case, department: "2025-06"),
    ],
)
async def test_root_causes_by_each_dimension(served: dict[str, Any], by: str, key: Any) -> None:
    expected = _root_causes(served["script"], key)
    answer = await served["client"].get("/v1/reports/root-causes", params={**PERIOD, "by": by}, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert {(r["key"], r["code"]): r["count"] for r in rows} == dict(expected)
    labels = {r["code"]: (r["label_zh"], r["label_en"]) for r in rows}
    assert labels["billing.meter_misread"] == ("抄表错误", "Meter misread")
    answer = await served["client"].get("/v1/reports/root-causes.csv", params={**PERIOD, "by": by}, headers=MANAGER)
    assert len(list(csv.DictReader(io.StringIO(answer.text)))) == len(expected)


async def test_root_causes_refuse_an_unknown_dimension(served: dict[str, Any]) -> None:
    answer = await served["client"].get("/v1/reports/root-causes", params={"by": "weather"}, headers=MANAGER)
    assert answer.status_code == 422


async def test_a_case_shows_its_owner_parts_and_handling(served: dict[str, Any]) -> None:
    client, script = served["client"], served["script"]
    coordinated = (await client.get(f"/v1/cases/{script[9].reference_no}", headers=MANAGER)).json()
    assert (coordinated["owner"], coordinated["status"]) == ("agent-a", "resolved")
    assert _at(coordinated["first_resolved_at"]) == T0 + timedelta(hours=8.5)  # when its last part was
    parts = {w["role"]: w for w in coordinated["work_orders"]}
    assert (parts["lead"]["department"], parts["lead"]["case_resolved"]) == ("repair", False)
    assert (parts["assisting"]["department"], parts["assisting"]["case_resolved"]) == ("billing", True)
    assert parts["assisting"]["lead_work_order_id"] == parts["lead"]["work_order_id"]
    assert parts["assisting"]["root_cause"] == "billing.meter_misread"
    (callback,) = coordinated["callbacks"]
    assert (callback["outcome"], callback["agent"], callback["score_billing"]) == ("satisfied", "agent-a", 2)
    assert [e["stage"] for e in coordinated["escalations"]] == ["resolve", "corrective_action"]
    assert len(coordinated["corrective_actions"]) == 2
    types = {e["event_type"] for e in coordinated["timeline"]}
    assert {"corrective_action.set", "corrective_action.completed", "workorder.resolved"} <= types

    invalid = (await client.get(f"/v1/cases/{script[11].reference_no}", headers=MANAGER)).json()
    assert (invalid["status"], invalid["invalid"], invalid["invalid_reason"]) == (
        "invalid",
        True,
        "outside the service area",
    )
    assert invalid["work_orders"] == [] and invalid["owner"] == "agent-a"
    assert "complaint.invalid" in {e["event_type"] for e in invalid["timeline"]}

    settled = (await client.get(f"/v1/cases/{script[13].reference_no}", headers=MANAGER)).json()
    assert (settled["status"], settled["resolved_on_contact"], settled["handled_on_contact"]) == (
        "resolved",
        True,
        "explained the tariff",
    )
    assert settled["work_order_id"] is None and settled["due_at"] is None

    by_desk = (await client.get(f"/v1/cases/{script[1].reference_no}", headers=MANAGER)).json()
    assert by_desk["owner"] == "desk-1"  # nobody took it on a call: its work order names the owner
    assert [c["attempts"] for c in by_desk["callbacks"]] == [2]
    open_overdue = (await client.get(f"/v1/cases/{script[5].reference_no}", headers=MANAGER)).json()
    assert open_overdue["status"] == "acknowledged" and _at(open_overdue["due_at"]) == T0 + timedelta(hours=8)


async def _overdue(client: httpx.AsyncClient, department: str) -> list[dict[str, Any]]:
    """Every page of a department's overdue list (the session broker holds other tests' work orders too)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        params = {"department": department, "page": page, "page_size": 200}
        answer = await client.get("/v1/overdue", params=params, headers=MANAGER)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        if page * 200 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


async def test_queues_and_the_overdue_list_show_each_work_order_in_its_own_department(served: dict[str, Any]) -> None:
    """One row per work order: an assisting part is in its department's queue and overdue list, also after its
    lead (whose department the case row names) is resolved; a resolved lead is in neither."""
    client, script = served["client"], served["script"]
    coordinated = next(c for c in script if c.n == 18)
    billing = {item["work_order_id"]: item for item in await _overdue(client, "billing")}
    part = billing[str(coordinated.assisting_work_order_id)]
    assert (part["complaint_id"], part["reference_no"], part["department"], part["role"]) == (
        str(coordinated.complaint_id),
        coordinated.reference_no,
        "billing",
        "assisting",
    )
    assert (part["lead_work_order_id"], part["work_order_status"], part["status"]) == (
        str(coordinated.work_order_id),
        "acknowledged",
        "in_progress",  # the case: its lead done, this part not
    )
    assert _at(part["resolve_by"]) == T0 + timedelta(hours=coordinated.resolve_by_h)
    assert part["overdue_minutes"] == (NOW_H - coordinated.resolve_by_h) * 60
    repair = {item["work_order_id"]: item for item in await _overdue(client, "repair")}
    ours = {str(c.work_order_id): c for c in script if c.kind == "work_order"}
    expected_late = {
        wo for wo, c in ours.items() if c.department == "repair" and c.resolved_h is None and c.resolve_by_h < NOW_H
    }
    assert expected_late and {wo for wo in repair if wo in ours} == expected_late  # the resolved lead is not there
    assert all(repair[wo]["role"] == "lead" for wo in expected_late)
    queues = {q["department"]: q for q in (await client.get("/v1/queues", headers=MANAGER)).json()["departments"]}
    assert queues["billing"]["overdue"] == len(billing) and queues["repair"]["overdue"] == len(repair)
    assert queues["billing"]["open"] >= 1


async def test_a_malformed_corrective_action_is_dead_lettered(served: dict[str, Any]) -> None:
    bootstrap = served["bootstrap"]
    complaint_id = str(uuid.uuid4())
    bad = {
        "event_id": str(uuid.uuid4()),
        "event_type": "corrective_action.set",
        "schema_version": 1,
        "occurred_at": T0.isoformat(),
        "producer": "dispatch",
        "correlation_id": "c",
        "complaint_id": complaint_id,
        "payload": {"action_id": str(uuid.uuid4()), "complaint_id": complaint_id},  # no description, owner, deadline
    }
    await produce(bootstrap, topics.CORRECTIVE_ACTIONS, [(complaint_id.encode(), json.dumps(bad).encode())])
    records = await read_topic(
        bootstrap,
        topics.dead_letter_topic(topics.CORRECTIVE_ACTIONS),
        until=lambda rs: any(bad["event_id"].encode() in r.value for r in rs),
        timeout=30,
    )
    (dead,) = [r for r in records if bad["event_id"].encode() in r.value]
    assert "deadline" in dead.headers["dlq.reason"]


async def test_a_rebuild_from_offset_0_reproduces_the_scripts_rows(served: dict[str, Any]) -> None:
    """Rebuilt side by side from every topic: the script's cases, work orders, callbacks and corrective actions
    equal the live ones."""
    ids = [case.complaint_id for case in served["script"]]
    schema = f"reporting_check_{uuid.uuid4().hex[:8]}"
    await rebuild(served["dsn"], served["bootstrap"], schema, "Asia/Shanghai")
    conn = await asyncpg.connect(served["dsn"])
    try:
        for table in ("cases", "work_orders", "callbacks", "corrective_actions"):
            sql = f"SELECT * FROM {{s}}.{table} WHERE complaint_id = ANY($1::uuid[]) ORDER BY 1, 2"
            live = [dict(r) for r in await conn.fetch(sql.format(s="reporting"), ids)]
            rebuilt = [dict(r) for r in await conn.fetch(sql.format(s=schema), ids)]
            assert live and rebuilt == live, table
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)
