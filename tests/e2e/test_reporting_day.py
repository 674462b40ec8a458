"""A scripted day through all four services (in-process, real Postgres, a private broker): the KPIs
reporting serves equal those computed here from the script; rebuilding from offset 0 reproduces the
read models exactly; redelivered events change nothing.

The script controls time with a fake clock handed to dispatch, followup and reporting: steps taken
"in time" happen at t0, "late" ones after the clock jumped 20 days (past every limit of the policy). Its steps go
through the domain client (tests/support/client.py) over the services' in-process HTTP APIs; the two looks no API
gives, whether the platform has settled and reporting's read models row by row, are named functions of
tests/support/read_models.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.reporting.case_state import handling_bucket
from services.reporting.kpis import percentile
from services.reporting.model import REPORTED_TOPICS
from tests.support.client import PlatformClient
from tests.support.clock import FakeClock
from tests.support.dispatch import resolution_for, running_dispatch
from tests.support.followup import running_followup
from tests.support.infrastructure import Infrastructure, session_broker
from tests.support.intake import running_intake
from tests.support.kafka import first_records, produce, wait_until
from tests.support.read_models import READ_MODELS, read_models, rebuild_read_models, wait_settled
from tests.support.reporting import fresh_database, running_reporting

pytestmark = pytest.mark.e2e

TEXTS = {
    "repair": [
        "家里暖气片一直不热，室温只有15度，老人孩子都冻得受不了。",
        "单元楼道里的暖气管道阀门漏水，一直在滴，地上都湿了。",
    ],
    "billing": ["这个月的水费账单比平时高了三倍，用水量没有变化，怀疑抄表有误，要求核实退费。"],
    "customer_service": [
        "昨天上门的维修师傅态度很差，说话不耐烦，还没修好就走了。",
        "请问新房开通供暖需要办理什么手续，去哪里办？",
    ],
}
# plan: A ack+resolve in time; B ack in time, resolve late; C both late; D ack in time only; E nothing.
SCRIPT: list[tuple[str, str, str, str, str | None]] = [  # department, channel, district, plan, callback outcome
    ("repair", "phone", "heping", "A", "satisfied"),
    ("repair", "app", "heping", "A", "dissatisfied"),
    ("repair", "web", "tiexi", "B", "satisfied"),
    ("repair", "wechat", "tiexi", "C", None),
    ("repair", "phone", "shenhe", "D", None),
    ("repair", "counter", "heping", "E", None),
    ("billing", "web", "heping", "A", "satisfied"),
    ("billing", "email", "shenhe", "B", "unreachable"),
    ("billing", "phone", "tiexi", "A", None),
    ("billing", "app", "heping", "E", None),
    ("customer_service", "wechat", "heping", "A", "satisfied"),
    ("customer_service", "phone", "shenhe", "C", "dissatisfied"),
    ("customer_service", "web", "tiexi", "D", None),
    ("customer_service", "counter", "heping", "A", "unreachable"),
]
LATE = timedelta(days=20)


@dataclass
class Case:
    department: str
    channel: str
    district: str
    plan: str
    callback: str | None
    complaint_id: str = ""
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    work_order: dict[str, Any] | None = None


@pytest.fixture(scope="module")
async def day(migrated: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    # Its own Kafka: reporting reads every topic from offset 0, so the session broker's events from other
    # tests would land in this day's KPIs.
    broker = session_broker(Path(tmp_path_factory.mktemp("day")) / "kafka")
    await asyncio.to_thread(broker.start)
    await broker.acreate_topics()
    clock = FakeClock()
    try:
        async with fresh_database(migrated.database_url) as dsn:
            b = broker.bootstrap_servers
            async with (
                running_intake(dsn, b) as (_, intake),
                running_dispatch(dsn, b, clock=clock) as (dispatch_app, dispatch),
                running_followup(dsn, b, clock=clock, callback_max_attempts=1) as (followup_app, followup),
                running_reporting(dsn, b, clock=clock) as (reporting_app, reporting),
            ):
                await wait_until(
                    lambda: all(
                        a.state.kafka["kafka"] == "connected" for a in (dispatch_app, followup_app, reporting_app)
                    ),
                    timeout=90,
                )
                services = {"intake": intake, "dispatch": dispatch, "followup": followup, "reporting": reporting}
                async with PlatformClient.in_process(services) as client:
                    yield {
                        "dsn": dsn,
                        "broker": broker,
                        "clock": clock,
                        "client": client,
                        "reporting_app": reporting_app,
                    }
    finally:
        await asyncio.to_thread(broker.stop)


async def _run_script(day: dict[str, Any]) -> list[Case]:
    client: PlatformClient = day["client"]
    clock: FakeClock = day["clock"]
    cases = [Case(*row) for row in SCRIPT]
    for i, case in enumerate(cases):
        accepted = await client.submit(
            case.channel,
            text=TEXTS[case.department][i % len(TEXTS[case.department])],
            category_hint=None,
            customer={"account_no": f"DAY-{uuid.uuid4().hex[:8]}", "phone": "13700137000"},
            location={"address": "测试路1号", "district": case.district},
        )
        case.complaint_id, case.accepted_at = accepted.complaint_id, accepted.accepted_at
    for case in cases:
        case.work_order = await client.wait_routed(case.complaint_id)
        assert case.work_order["department"] == case.department, "the script's texts route as planned"

    async def acknowledge(case: Case) -> None:
        assert case.work_order is not None
        await client.acknowledge(case.work_order["work_order_id"], case.department)

    async def resolve(case: Case) -> None:
        assert case.work_order is not None
        resolution = resolution_for(case.work_order["department"], case.work_order["severity"])
        await client.resolve(case.work_order["work_order_id"], resolution, case.department)
        case.resolved_at = clock()

    for case in cases:
        if case.plan in "ABD":
            await acknowledge(case)
        if case.plan == "A":
            await resolve(case)
    clock.advance(LATE)
    for case in cases:
        if case.plan == "C":
            await acknowledge(case)
        if case.plan in "BC":
            await resolve(case)
    for case in cases:
        if case.callback is not None:
            callback = await client.wait_callback(case.complaint_id, timeout=30)
            await client.callback(callback["callback_id"], case.callback)
    return cases


def _expected(cases: list[Case]) -> dict[str, Any]:
    """The KPIs, computed from the script alone."""

    def rate(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    resolved = [c for c in cases if c.plan in "ABC"]
    called = [c for c in resolved if c.callback]
    # Callbacks fall due a day or more after the resolution: those of the cases resolved at t0 fell due in the
    # period (before "today", 20 days on); those resolved after the jump fall due after today, not counted yet.
    due_callbacks = [c for c in cases if c.plan == "A"]
    reached = sum(c.callback in ("satisfied", "dissatisfied") for c in due_callbacks)
    satisfied = sum(c.callback == "satisfied" for c in cases)
    dissatisfied = sum(c.callback == "dissatisfied" for c in cases)
    in_time_ack = sum(c.plan in "ABD" for c in cases)
    hours = [(c.resolved_at - c.accepted_at).total_seconds() / 3600 for c in resolved]  # type: ignore[operator]
    histogram = Counter(handling_bucket(h) for h in hours)
    return {
        "received": len(cases),
        "routed": len(cases),
        "acknowledged": sum(c.plan in "ABCD" for c in cases),
        "acknowledged_in_time": in_time_ack,
        "ack_in_time_rate": rate(in_time_ack, len(cases)),
        "resolved": len(resolved),
        "resolved_in_time": sum(c.plan == "A" for c in cases),
        # Every case fell due in the period (the jump passed every limit): D and E, still open, count against it.
        "timeliness_rate": rate(sum(c.plan == "A" for c in cases), len(cases)),
        "due": len(cases),
        "due_open_overdue": sum(c.plan in "DE" for c in cases),
        "callbacks_done": len(called),
        "callbacks_due": len(due_callbacks),
        "callbacks_completed": reached,
        "callbacks_unreachable": sum(c.callback == "unreachable" for c in due_callbacks),
        "callbacks_missed": sum(c.callback is None for c in due_callbacks),
        "callback_coverage": rate(reached, len(due_callbacks)),
        "satisfied": satisfied,
        "dissatisfied": dissatisfied,
        "satisfaction_rate": rate(satisfied, satisfied + dissatisfied),
        "reopened": dissatisfied,
        "reopen_rate": rate(dissatisfied, len(resolved)),
        "closed": sum(c.callback in ("satisfied", "unreachable") for c in cases),
        "handling_median_hours": percentile(dict(histogram), 0.5),
        "handling_p90_hours": percentile(dict(histogram), 0.9),
    }


async def test_scripted_day_kpis_match_the_script(day: dict[str, Any]) -> None:
    cases = await _run_script(day)
    day["cases"] = cases
    client: PlatformClient = day["client"]
    expected = _expected(cases)

    async def converged() -> dict[str, Any] | None:
        report = await client.report("kpis", group_by="department")
        totals = report["totals"]
        keys = (
            "received",
            "acknowledged",
            "resolved",
            "callbacks_done",
            "satisfied",
            "dissatisfied",
            "reopened",
            "closed",
        )
        return report if all(totals[k] == expected[k] for k in keys) else None

    report = await wait_until(converged, timeout=60, interval=0.2)
    for key, value in expected.items():
        assert report["totals"][key] == value, key
    for department in ("repair", "billing", "customer_service"):
        row = next(r for r in report["rows"] if r["key"] == department)
        mine = _expected([c for c in cases if c.department == department])
        for key in (
            "received",
            "resolved",
            "resolved_in_time",
            "timeliness_rate",
            "ack_in_time_rate",
            "callback_coverage",
            "satisfaction_rate",
            "reopen_rate",
        ):
            assert row[key] == mine[key], (department, key)
    by_channel = await client.report("kpis", group_by="channel")
    assert {r["key"]: r["received"] for r in by_channel["rows"]} == dict(Counter(c.channel for c in cases))
    by_district = await client.report("kpis", group_by="district")
    assert {r["key"]: r["received"] for r in by_district["rows"]} == dict(Counter(c.district for c in cases))
    by_day = await client.report("kpis", group_by="day")
    assert [r["received"] for r in by_day["rows"] if r["received"]] == [len(cases)]
    # Timeliness counts a case in the day it fell due: the days after, with nothing received, have rows for that.
    assert sum(r["due"] for r in by_day["rows"]) == len(cases)

    # Case view, household archive, queues, CSV, masking.
    first = cases[0]
    view = await client.timeline(first.complaint_id)
    assert view["status"] == "closed" and view["department"] == "repair"
    types = [e["event_type"] for e in view["timeline"]]
    assert types[0] == "complaint.received" and {"complaint.routed", "workorder.assigned"} <= set(types[1:3])
    assert "complaint.closed" in types
    assert "phone" not in view and view["phone_masked"] == "137******00"
    agent_view = await client.timeline(view["reference_no"], role="reporting_agent")
    assert agent_view["phone"] == "13700137000", "an agent's role may see the number"
    await client.timeline(first.complaint_id, role=None, expect=401)  # no credential, no case
    open_now = Counter(c.department for c in cases if c.plan in "DE")
    reopened = Counter(c.department for c in cases if c.callback == "dissatisfied")
    wanted = {d: open_now[d] + reopened[d] for d in TEXTS}

    async def queues_settled() -> bool:  # reopened cases come back once dispatch opened their new cycle
        body = await client.report("queues")
        return {q["department"]: q["open"] for q in body["departments"]} == wanted

    await wait_until(queues_settled, timeout=30, interval=0.2)
    overdue = await client.report("overdue", page_size=50)
    assert overdue["total"] == sum(open_now.values()), "D and E are past every deadline after the jump"
    csv_text = await client.report_csv("cases.csv")
    assert len(csv_text.strip().splitlines()) == len(cases) + 1 and "13700137000" not in csv_text
    kpi_csv = await client.report_csv("kpis.csv", group_by="department")
    assert kpi_csv.splitlines()[0].startswith("key,received")


async def test_rebuild_from_offset_zero_reproduces_the_read_models(day: dict[str, Any]) -> None:
    assert day.get("cases"), "runs after the scripted day"
    await wait_settled(day["dsn"], day["clock"])
    counts = await rebuild_read_models(day["dsn"], day["broker"].bootstrap_servers, "reporting_rebuild")
    assert counts["projected"] > 0
    live, rebuilt = await read_models(day["dsn"]), await read_models(day["dsn"], "reporting_rebuild")
    for table in READ_MODELS:
        only_live = set(live[table]) - set(rebuilt[table])
        only_rebuilt = set(rebuilt[table]) - set(live[table])
        assert rebuilt[table] == live[table], (
            f"{table} differs after the rebuild",
            sorted(only_live)[:3],
            sorted(only_rebuilt)[:3],
        )
    assert len(live["cases"]) == len(SCRIPT)


async def test_redelivered_events_change_nothing(day: dict[str, Any]) -> None:
    before = await read_models(day["dsn"])
    again = await first_records(day["broker"].bootstrap_servers, REPORTED_TOPICS, 60)
    stats = day["reporting_app"].state.stats
    seen = stats["events_seen"]
    for topic in {t for t, _, _ in again}:
        await produce(day["broker"].bootstrap_servers, topic, [(k, v) for t, k, v in again if t == topic])
    await wait_until(lambda: stats["events_seen"] >= seen + len(again), timeout=60)
    assert await read_models(day["dsn"]) == before
