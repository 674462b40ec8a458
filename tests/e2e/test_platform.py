"""The README's run command, for real: `python -m embedded` (what `make run` starts) brings up embedded
Postgres, the broker and every service as separate processes; a complaint POSTed to intake appears on
`complaint.received`; a poison ticket is dead-lettered; Ctrl-C stops everything; no log line of the
run contains a raw phone number."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import topics
from tests.support.client import PlatformClient
from tests.support.kafka import produce, read_topic, wait_until
from tests.support.metrics import Scrape
from tests.support.platform import Platform, assert_serves_its_port, wait_service_ready_sync

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PHONES = ["13912345678", "13700137000", "18611112222", "02488812345", "88812345"]


#: This module's platform (tests/e2e/conftest.py): one customer message a day per number, so the metrics test
#: sees notify's cap suppress one; quiet hours off (the suite runs at any hour).
PLATFORM_ENV = {"NOTIFY_DAILY_CAP": "1", "NOTIFY_QUIET_HOURS": ""}


SERVICES = ("intake", "dispatch", "followup", "reporting", "notify")
BILLING = "这个月电费账单比平时多了一倍，请核实。"
GAS = "楼道里燃气味很重，怀疑燃气泄漏，请马上派人！"


async def _scrape_all(client: PlatformClient) -> dict[str, Scrape]:
    return {name: await client.metrics(name) for name in SERVICES}


async def _work_order(bootstrap: str, topic: str, complaint_id: str) -> dict[str, Any]:
    key = complaint_id.encode()
    records = await read_topic(bootstrap, topic, until=lambda rs: any(r.key == key for r in rs), timeout=30)
    return next(r.json()["payload"] for r in records if r.key == key)


async def test_metrics_of_every_service_follow_the_complaints_through(
    platform: Platform, client: PlatformClient
) -> None:
    """First in the module, on a platform nothing else has touched yet, so every process metric can be held to
    an exact count. Three complaints: A (web) and C (app) about a bill, same phone number, each resolved and
    closed satisfied — notify's daily cap of 1 lets the first receipt through and suppresses both closing
    messages; B (web) smells gas, nobody comes: its on-site limit (45 min = 2.7 s in the drill) warns, breaches
    and climbs the whole ladder. One poison ticket is dead-lettered. Every /metrics parses with
    prometheus-client's parser."""
    bootstrap, svc = platform.bootstrap, platform.services
    before = await _scrape_all(client)
    sent = {}
    for name, channel, text, phone in (
        ("A", "web", BILLING, "13912345678"),
        ("C", "app", BILLING, "13912345678"),
        ("B", "web", GAS, "13700137000"),
    ):
        customer = {"account_no": f"M-{uuid.uuid4().hex[:8]}", "phone": phone, "preferred_contact": "phone"}
        accepted = await client.submit(channel, text=text, category_hint=None, customer=customer)
        sent[name] = accepted.complaint_id
    await produce(bootstrap, topics.PARTNER_TICKETS, [(b"poison", b"\x00\xffnot json")])

    for name in ("A", "C"):
        order = await _work_order(bootstrap, topics.WORKORDERS_BILLING, sent[name])
        await client.acknowledge(order["work_order_id"], "billing")
        await client.start(order["work_order_id"], "billing")
        await client.resolve(
            order["work_order_id"],
            {"resolution": "重新抄表，多收的已退", "root_cause": "billing.meter_misread"},
            "billing",
        )
    await _work_order(bootstrap, topics.WORKORDERS_REPAIR, sent["B"])

    async def callbacks() -> list[dict[str, Any]]:
        ours = [c for c in await client.callbacks() if c["complaint_id"] in (sent["A"], sent["C"])]
        return ours if len(ours) == 2 else []

    for callback in await wait_until(callbacks, timeout=30, interval=0.2):
        await client.callback(callback["callback_id"], "satisfied")

    async def settled() -> dict[str, Scrape] | None:
        now = await _scrape_all(client)
        f, d, r, i = now["followup"], now["dispatch"], now["reporting"], now["intake"]
        done = (
            f.value("escalations_total", rung="general_manager", stage="on_site") >= 1
            and f.value("complaints_closed_total", outcome="satisfied") >= 2
            and now["notify"].value(
                "notify_deliveries_total", provider="none", template="case_closed", status="suppressed"
            )
            >= 2
            and i.value(
                "kafka_consumer_dead_letters_total", consumer="intake.partner-tickets", topic=topics.PARTNER_TICKETS
            )
            >= 1
            and all(s.total("outbox_waiting_events") == 0 for s in (i, d))
            and d.total("kafka_consumer_lag", group="dispatch.complaint-received") == 0
            and r.total("kafka_consumer_lag", group="reporting.read-models") == 0
            and r.value("reporting_events_projected_total") >= 20
        )
        return now if done else None

    after = await wait_until(settled, timeout=60, interval=0.5)

    def moved(of: str, name: str, /, **labels: str) -> float:
        return after[of].value(name, **labels) - before[of].value(name, **labels)

    # The complaint process, as operators see it.
    assert moved("intake", "complaints_received_total", channel="web") == 2
    assert moved("intake", "complaints_received_total", channel="app") == 1
    assert moved("dispatch", "complaints_routed_total", department="billing", category="billing", reason="new") == 2
    assert (
        moved("dispatch", "complaints_routed_total", department="repair", category="safety_hazard", reason="new") == 1
    )
    assert after["dispatch"].total("complaints_linked_duplicate_total") == 0
    for declared in ("complaints_linked_to_incident_total", "complaints_sent_to_triage_total", "incidents_open"):
        assert (declared, frozenset()) in after["dispatch"].samples, f"{declared} is declared and exposed"
    assert moved("followup", "sla_warnings_total", stage="on_site", department="repair") == 1
    assert moved("followup", "sla_breaches_total", stage="on_site", department="repair") == 1
    for rung in ("supervisor", "department_manager", "general_manager"):
        assert moved("followup", "escalations_total", rung=rung, stage="on_site") == 1, rung
    assert moved("followup", "callbacks_total", outcome="satisfied") == 2
    assert moved("followup", "complaints_closed_total", outcome="satisfied") == 2
    requested = "followup_notifications_requested_total"
    assert moved("followup", requested, template="case_closed", recipient="customer", urgency="routine") == 2
    assert moved("notify", "notify_deliveries_total", provider="none", template="case_closed", status="suppressed") == 2
    assert moved("followup", requested, template="escalation", recipient="staff", urgency="urgent") >= 3
    assert moved("followup", "followup_timers_fired_total", kind="breach") >= 3
    assert {"warning", "breach"} <= after["followup"].label_values("followup_timers_pending", "kind")
    assert ("followup_timers_oldest_overdue_seconds", frozenset()) in after["followup"].samples

    # HTTP: by route template, method and status, with latency histograms.
    assert moved("intake", "http_requests_total", handler="/v1/complaints", method="POST", status="202") == 3
    assert (
        moved(
            "dispatch",
            "http_requests_total",
            handler="/v1/work-orders/{work_order_id}/resolve",
            method="POST",
            status="200",
        )
        == 2
    )
    assert after["intake"].value("http_request_duration_seconds_count", handler="/v1/complaints", method="POST") >= 3
    # Consumers: handled, latency, dead letters, lag, rebalances; the outbox: published, waiting.
    handled = "faststream_received_processed_messages_total"
    assert (
        moved(
            "dispatch", handled, app_name="dispatch", broker="kafka", handler=topics.COMPLAINT_RECEIVED, status="acked"
        )
        == 3
    )
    assert (
        after["dispatch"].total(
            "faststream_received_processed_messages_duration_seconds_count", handler=topics.COMPLAINT_RECEIVED
        )
        >= 1
    )
    assert (
        moved(
            "intake",
            "kafka_consumer_dead_letters_total",
            consumer="intake.partner-tickets",
            topic=topics.PARTNER_TICKETS,
        )
        == 1
    )
    assert moved("intake", "outbox_published_total", service="intake") == 6  # received + contact, each
    assert after["intake"].value("outbox_oldest_event_age_seconds", service="intake") == 0
    assert after["reporting"].label_values("kafka_consumer_lag", "topic") >= {topics.COMPLAINT_RECEIVED}
    # The groups read from outside their consumers (issue 26): every group of the service, with its members.
    assert "reporting.read-models" in after["reporting"].label_values("kafka_group_members", "group")
    assert after["reporting"].total("kafka_group_members", group="reporting.read-models") >= 1
    assert after["dispatch"].total("kafka_group_lag", group="dispatch.complaint-received") == 0
    for name in SERVICES:
        assert after[name].total("kafka_consumer_rebalances_total") >= 1, name
    # `make run` tells where each service's metrics are.
    printed = Path(platform.runner_path).read_text()
    for name in SERVICES:
        assert f"metrics: {svc[name]}/metrics" in printed, name
    # Bounded labels: no complaint id, phone number or reference number anywhere in any exposition.
    for name in SERVICES:
        for _, labels in after[name].samples:
            for _, value in labels:
                assert not any(x in value for x in (*sent.values(), "13912345678", "13700137000", "TS-")), value


async def test_complaint_posted_to_the_running_platform_is_published(
    platform: Platform, client: PlatformClient
) -> None:
    accepted = await client.submit("phone", text="家里暖气不热，室温15度。回电话18611112222。")
    await client.call("GET", "intake", "/docs")
    records = await read_topic(
        platform.bootstrap,
        topics.COMPLAINT_RECEIVED,
        until=lambda rs: any(r.key == accepted.complaint_id.encode() for r in rs),
        timeout=30,
    )
    event = next(r for r in records if r.key == accepted.complaint_id.encode()).json()
    assert event["payload"]["reference_no"] == accepted.reference_no
    assert event["payload"]["channel"] == "phone"


CATEGORY_TEXTS = {
    "heating_temperature": ("repair", "家里暖气片一直不热，室温只有15度，老人孩子都冻得受不了。"),
    "equipment_fault": ("repair", "单元楼道里的暖气管道阀门漏水，一直在滴，地上都湿了。"),
    "outage": ("repair", "我们小区从早上八点开始停水，到现在还没来水，也没有看到通知。"),
    "safety_hazard": ("repair", "楼下有很重的燃气味，怀疑燃气管道泄漏，请马上派人来看看！"),
    "billing": ("billing", "这个月的水费账单比平时高了三倍，用水量没有变化，怀疑抄表有误，要求核实退费。"),
    "service_attitude": ("customer_service", "昨天上门的维修师傅态度很差，说话不耐烦，还没修好就走了。"),
    "consultation": ("customer_service", "请问新房开通供暖需要办理什么手续，去哪里办？"),
    "other": ("customer_service", "小区门口的路灯坏了两个星期，晚上很黑，希望有人管一管。"),
}
DEPARTMENT_TOPIC = {
    "repair": topics.WORKORDERS_REPAIR,
    "billing": topics.WORKORDERS_BILLING,
    "customer_service": topics.WORKORDERS_CUSTOMER_SERVICE,
}


async def test_each_category_ends_as_a_work_order_on_its_department_topic(
    platform: Platform, client: PlatformClient
) -> None:
    accepted: dict[str, str] = {}
    for category, (_, text) in CATEGORY_TEXTS.items():
        customer = {"account_no": f"E2E-{uuid.uuid4().hex[:8]}", "phone": "13912345678"}
        accepted[category] = (await client.submit("web", text=text, category_hint=None, customer=customer)).complaint_id
    for category, (department, _) in CATEGORY_TEXTS.items():
        key = accepted[category].encode()
        records = await read_topic(
            platform.bootstrap,
            DEPARTMENT_TOPIC[department],
            until=lambda rs, k=key: any(r.key == k for r in rs),
            timeout=30,
        )
        order = next(r.json() for r in records if r.key == key)
        assert order["event_type"] == "workorder.assigned"
        assert order["payload"]["category"] == category
        assert order["payload"]["department"] == department
        deadlines = order["payload"]["deadlines"]
        assert deadlines["acknowledge_by"] and deadlines["resolve_by"] and deadlines["policy_id"]


async def test_poison_ticket_dead_lettered_and_next_one_processed(platform: Platform) -> None:
    bootstrap = platform.bootstrap
    key = uuid.uuid4().hex.encode()
    good_ticket = {
        "source": "12345",
        "ticket_id": f"e2e-{uuid.uuid4().hex[:8]}",
        "received_at": "2026-11-23T08:00:00+08:00",
        "caller_name": "钱七",
        "caller_phone": "13700137000",
        "address": "沈河区北站路1号",
        "district": "shenhe",
        "content": "楼道里有很重的煤气味！",
    }
    await produce(
        bootstrap, topics.PARTNER_TICKETS, [(key, b"\x00\xffgarbage"), (key, json.dumps(good_ticket).encode())]
    )
    letters = await read_topic(
        bootstrap,
        topics.dead_letter_topic(topics.PARTNER_TICKETS),
        until=lambda rs: any(r.key == key for r in rs),
        timeout=30,
    )
    assert any(r.key == key and r.headers["dlq.reason"] for r in letters)

    async def ticket_published() -> bool:
        records = await read_topic(bootstrap, topics.COMPLAINT_RECEIVED, until=lambda rs: True, timeout=10)
        return any(r.json()["payload"]["channel_ticket_id"] == good_ticket["ticket_id"] for r in records)

    await wait_until(ticket_published, timeout=30, interval=0.5)


async def test_unacknowledged_case_climbs_the_ladder_and_acknowledged_one_does_not(
    platform: Platform, client: PlatformClient
) -> None:
    """Drill policy (see sla_drill_policy.toml): acknowledge limit 7.2 s, rungs every 7.2 s."""
    bootstrap = platform.bootstrap
    late = await client.submit("phone", text="楼道里燃气味很重，怀疑燃气泄漏，请马上派人！", category_hint=None)
    on_time = await client.submit("web", text="这个月电费账单比平时多了一倍，请核实。", category_hint=None)
    late_key, on_time_key = late.complaint_id.encode(), on_time.complaint_id.encode()
    assigned = await read_topic(
        bootstrap, topics.WORKORDERS_BILLING, until=lambda rs: any(r.key == on_time_key for r in rs), timeout=30
    )
    order = next(r.json()["payload"] for r in assigned if r.key == on_time_key)
    await client.acknowledge(order["work_order_id"], "billing")

    def top_rung(rs: list[Any]) -> bool:
        return any(
            r.key == late_key
            and r.json()["payload"].get("level") == 3
            and r.json()["payload"]["stage"] == "acknowledge"
            for r in rs
        )

    records = await read_topic(bootstrap, topics.COMPLAINT_ESCALATED, until=top_rung, timeout=60)
    steps = [r.json() for r in records if r.key == late_key and r.json()["payload"]["stage"] == "acknowledge"]
    assert [(s["event_type"], s["payload"].get("escalated_to")) for s in steps] == [
        ("complaint.sla_warning", None),
        ("complaint.escalated", "supervisor"),
        ("complaint.escalated", "department_manager"),
        ("complaint.escalated", "general_manager"),
    ]
    deadline = datetime.fromisoformat(steps[1]["payload"]["deadline"])
    times = [datetime.fromisoformat(s["occurred_at"]) for s in steps]
    assert times[0] < deadline <= times[1], "the warning before the limit, the first rung at it"
    interval = timedelta(seconds=7.2)  # the drill's 2 h
    for rung, fired in enumerate(times[1:]):
        due = deadline + rung * interval
        assert due <= fired <= due + timedelta(seconds=5), f"rung {rung + 1} fired at its (scaled) time"
    # The acknowledged complaint's limit and first rung are long past by now, and nothing fired for it.
    assert not [r for r in records if r.key == on_time_key and r.json()["payload"]["stage"] == "acknowledge"]


async def test_a_doubtful_complaint_waits_in_triage_until_a_supervisor_routes_it(
    platform: Platform, client: PlatformClient, tmp_path: Path
) -> None:
    """The model is unsure (no category is likely enough): no department gets it; the supervisor's decision routes
    it with clocks from acceptance, it proceeds as any other, and the decision is a labelled example."""
    complaint_id = (
        await client.submit("web", text="上次说的那个事还没弄好，你们到底管不管？", category_hint=None)
    ).complaint_id

    async def waiting() -> dict[str, Any] | None:
        return next((i for i in (await client.triage())["items"] if i["complaint_id"] == complaint_id), None)

    item = await wait_until(waiting, timeout=60, interval=0.3)
    assert (await client.metrics("dispatch")).total("complaints_sent_to_triage_total") >= 1
    assert len(item["suggestions"]) >= 3 and item["model_version"], item
    await client.queue("repair")  # a department's queue still answers
    order = await client.route_from_triage(complaint_id, "equipment_fault", "上次维修未完成")
    assert (order["department"], order["category"]) == ("repair", "equipment_fault")
    assert (await client.triage())["total"] == 0
    await client.acknowledge(order["work_order_id"], "repair")
    await client.resolve(order["work_order_id"], {"resolution": "阀门更换", "root_cause": "repair.valve_failure"})
    routed = await read_topic(
        platform.bootstrap,
        topics.COMPLAINT_ROUTED,
        until=lambda rs: any(
            r.key == complaint_id.encode() and r.json()["event_type"] == "complaint.routed" for r in rs
        ),
    )
    events = [r.json() for r in routed if r.key == complaint_id.encode()]
    assert [e["event_type"] for e in events] == ["complaint.awaiting_triage", "complaint.routed"]
    assert events[1]["payload"]["deadlines"]["starts_at"] == events[0]["payload"]["accepted_at"], "triage time counts"
    await client.wait_callback(complaint_id)
    exported = tmp_path / "corrections.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "services.dispatch.corrections", "export", str(exported)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": platform.dsn, "APP_ENV": "dev"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    (mine,) = [r for r in rows if r["complaint_id"] == complaint_id]
    assert (mine["source"], mine["category"], mine["department"]) == ("triage", "equipment_fault", "repair")


async def test_the_dashboard_is_the_consoles_behind_its_sign_in(platform: Platform, client: PlatformClient) -> None:
    """Reporting serves the figures of the cases the tests above put through the platform (all three departments);
    the managers' dashboard over them is the console's `/dashboard`, behind its sign-in (issue 24): reporting's old
    key-typed page sends the browser there."""

    async def departments_seen() -> bool:
        return len((await client.report("kpis", group_by="department"))["rows"]) == 3

    await wait_until(departments_seen, timeout=30, interval=0.3)
    async with httpx.AsyncClient() as http:
        moved = await http.get(f"{platform.url('reporting')}/dashboard/?key=dev-only-manager-key")
    assert moved.status_code == 308, moved.text
    assert moved.headers["location"] == f"{platform.url('console')}/dashboard"


def test_the_ready_file_names_channels_and_it_is_ready(platform: Platform) -> None:
    """Issue 23: `make run` starts the channels service with the rest, named `channels` in the runner's ready file."""
    assert "channels" in platform.services, platform.services
    wait_service_ready_sync(platform.url("channels"), deadline=time.monotonic() + 60)
    assert_serves_its_port(platform, "channels")


def test_ctrl_c_stops_everything_and_logs_hold_no_phone_number(platform: Platform) -> None:
    proc: subprocess.Popen[bytes] = platform.proc
    children = _descendants(proc.pid)
    assert children, "the runner should have child processes (postgres, broker, services)"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    still = [pid for pid in children if _alive(pid)]
    assert not still, f"processes left running after Ctrl-C: {still}"

    logs = [*list(Path(platform.logs_dir).glob("*.log")), platform.runner_path]
    lines = [line for path in logs for line in path.read_text(errors="replace").splitlines()]
    service_lines = [
        line for path in Path(platform.logs_dir).glob("*.log") for line in path.read_text(errors="replace").splitlines()
    ]
    assert service_lines, "the services wrote no logs"
    for line in lines:
        for phone in PHONES:
            assert phone not in line, f"raw phone in log: {line[:300]}"
    # Service logs are JSON, one object per line, each with the case keys.
    for line in service_lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line[:300]}") from None
        assert "complaint_id" in parsed and "correlation_id" in parsed


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    parents: dict[int, list[int]] = {}
    for row in out.splitlines():
        child, parent = (int(x) for x in row.split())
        parents.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"
