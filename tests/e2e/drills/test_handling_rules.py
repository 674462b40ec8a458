"""The utilities' handling rules on the real processes (`python -m embedded`, as `make run` starts them):

1. an invalid complaint gets no work order and the customer a message with the reason; a supervisor overturns
   one and it is routed;
2. a phone complaint settled on the call gets no work order but a callback for its owner, and counts as a
   first-contact resolution; a counter complaint not settled escalates when the duty manager misses the limit;
3. a serious case cannot close without a cause analysis and a corrective action; the action, past its deadline,
   escalates; the leadership report lists both.

The SLA drill (tests/e2e/conftest.py) makes a minute last 60 ms: the duty manager's 5 minutes are 0.3 s.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared import topics
from tests.support.client import PlatformClient, eventually
from tests.support.kafka import read_topic
from tests.support.platform import Platform

pytestmark = pytest.mark.e2e

PROPERTY_FEE = "小区物业费今年又涨了，物业公司乱收费，请你们管一管。"
BILL_EXPLAINED = "这个月电费比上个月高，想问问原因。"
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
GAS = "楼道里燃气味很重，怀疑燃气泄漏，请马上派人！"


def _customer(phone: str) -> dict[str, Any]:
    return {"account_no": f"HR-{uuid.uuid4().hex[:8]}", "phone": phone, "preferred_contact": "phone"}


async def _events(bootstrap: str, topic: str, complaint_id: str, until: Any, timeout: float = 40) -> list[dict]:
    """The complaint's events on `topic` (the contract other services read), once `until(events)` holds."""
    key = complaint_id.encode()

    def mine(records: list[Any]) -> list[dict]:
        return [r.json() for r in records if r.key == key]

    return mine(await read_topic(bootstrap, topic, until=lambda rs: until(mine(rs)), timeout=timeout))


def _has(event_type: str, **payload: Any) -> Any:
    return lambda events: any(
        e["event_type"] == event_type and all(e["payload"].get(k) == v for k, v in payload.items()) for e in events
    )


async def test_an_invalid_complaint_is_explained_and_a_supervisor_routes_it(
    platform: Platform, client: PlatformClient
) -> None:
    bootstrap = platform.bootstrap
    complaint_id = (
        await client.submit(
            "phone", text=PROPERTY_FEE, category_hint=None, customer=_customer("13912340001"), agent_id="agent-101"
        )
    ).complaint_id
    routed = await _events(bootstrap, topics.COMPLAINT_ROUTED, complaint_id, _has("complaint.invalid"))
    invalid = next(e["payload"] for e in routed if e["event_type"] == "complaint.invalid")
    assert invalid["reason"].startswith("not ours"), invalid
    assert (invalid["owner"], invalid["decided_by"]) == ("agent-101", "dispatch")

    case = await client.case(complaint_id)
    assert (case["status"], case["work_orders"], case["owner"]) == ("invalid", [], "agent-101")

    told = await _events(
        bootstrap,
        topics.NOTIFICATION_REQUESTED,
        complaint_id,
        _has("notification.requested", template_id="complaint_invalid"),  # the receipt may come first
    )
    message = next(e["payload"] for e in told if e["payload"]["template_id"] == "complaint_invalid")
    recipient = message["recipient"]
    # notification.requested v4: the customer's addresses travel sealed with their key (crypto-shredding).
    assert (recipient["kind"], recipient["preferred_contact"], recipient["phone"]) == ("customer", "phone", None)
    assert recipient["customer_id"] and recipient["sealed"], recipient
    assert "13912340001" not in str(message)
    assert invalid["reason"] in message["text"]

    await client.decide_validity(
        complaint_id,
        {"valid": True, "note": "the fee is our heating fee, billed with the property fee", "category": "billing"},
    )
    billing = await _events(bootstrap, topics.WORKORDERS_BILLING, complaint_id, _has("workorder.assigned"))
    assert billing[0]["payload"]["owner"] == "agent-101"
    routed = await _events(bootstrap, topics.COMPLAINT_ROUTED, complaint_id, _has("complaint.routed"))
    assert [e["payload"]["reason"] for e in routed if e["event_type"] == "complaint.routed"] == ["reclassified"]


async def test_settled_on_the_call_is_called_back_and_a_counter_complaint_brings_the_duty_manager(
    platform: Platform, client: PlatformClient
) -> None:
    bootstrap = platform.bootstrap
    settled = (
        await client.submit(
            "phone",
            text=BILL_EXPLAINED,
            category_hint=None,
            customer=_customer("13912340002"),
            agent_id="agent-202",
            handled_on_contact="已向用户解释本月账单包含上月补收电费，用户表示理解",
        )
    ).complaint_id
    counter = (
        await client.submit(
            "counter", text=HEATING, category_hint=None, customer=_customer("13912340003"), agent_id="agent-303"
        )
    ).complaint_id

    routed = await _events(bootstrap, topics.COMPLAINT_ROUTED, settled, _has("complaint.resolved_on_contact"))
    assert [e["event_type"] for e in routed] == ["complaint.resolved_on_contact"], "no work order for it"
    resolution = routed[0]["payload"]
    assert resolution["owner"] == "agent-202"

    scheduled = await client.wait_callback(settled, owner="agent-202", timeout=30)
    assert scheduled["work_order_id"] == resolution["resolution_id"]
    case = await client.case(settled)
    assert (case["status"], case["work_orders"]) == ("resolved_on_contact", [])

    # The counter complaint: the duty manager is called at once, does not come within 5 minutes, and it climbs.
    escalations = await _events(
        bootstrap, topics.COMPLAINT_ESCALATED, counter, _has("complaint.escalated", stage="duty_manager")
    )
    first = next(e["payload"] for e in escalations if e["event_type"] == "complaint.escalated")
    assert (first["level"], first["escalated_to"], first["ladder"]) == (1, "department_manager", "duty_manager")
    told = await _events(
        bootstrap,
        topics.NOTIFICATION_REQUESTED,
        counter,
        lambda es: any(e["payload"]["template_id"] == "duty_manager_called" for e in es),
    )
    called = next(e["payload"] for e in told if e["payload"]["template_id"] == "duty_manager_called")
    assert called["recipient"]["role"] == "duty_manager"

    # Reporting counts the first-contact resolution.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # reporting's days are the utility's

    async def counted() -> dict[str, Any] | None:
        totals = (await client.report("kpis", **{"from": today, "to": today}))["totals"]
        return totals if totals["resolved_on_contact"] >= 1 else None

    totals = await eventually(counted, what="the first-contact resolution counted", timeout=30, interval=0.5)
    assert totals["first_contact_rate"] > 0 and totals["resolved_on_contact"] <= totals["valid"]


async def test_a_serious_case_needs_cause_and_corrective_action_and_the_late_action_escalates(
    platform: Platform, client: PlatformClient
) -> None:
    bootstrap = platform.bootstrap
    started = datetime.now(UTC)
    complaint_id = (
        await client.submit("web", text=GAS, category_hint=None, customer=_customer("13912340004"))
    ).complaint_id
    assigned = await _events(bootstrap, topics.WORKORDERS_REPAIR, complaint_id, _has("workorder.assigned"))
    order = assigned[0]["payload"]
    assert order["severity"] == "emergency"
    work_order = order["work_order_id"]
    await client.acknowledge(work_order, "repair")
    await client.start(work_order, "repair")

    bare = {"resolution": "更换了泄漏的燃气阀门", "root_cause": "repair.valve_failure"}
    refused = json.dumps(await client.resolve(work_order, bare, "repair", expect=422), ensure_ascii=False)
    assert "corrective action" in refused and "cause analysis" in refused, refused

    deadline = datetime.now(UTC) + timedelta(seconds=3)
    await client.resolve(
        work_order,
        {
            **bare,
            "cause_analysis": "阀门超期服役，巡检计划未覆盖楼道阀门",
            "corrective_actions": [
                {"description": "全区楼道燃气阀门普查", "owner": "repair-lead-zhang", "deadline": deadline.isoformat()}
            ],
        },
        "repair",
    )

    escalated = await _events(
        bootstrap, topics.COMPLAINT_ESCALATED, complaint_id, _has("complaint.escalated", stage="corrective_action")
    )
    ours = [e for e in escalated if e["payload"]["stage"] == "corrective_action"]
    assert [e["event_type"] for e in ours][:2] == ["complaint.sla_warning", "complaint.escalated"], "warned first"
    climb = ours[1]["payload"]
    assert (climb["escalated_to"], climb["ladder"]) == ("department_manager", "corrective_action")
    assert climb["corrective_action_id"] is not None

    window = {
        "from": (started - timedelta(days=1)).date().isoformat(),
        "to": (started + timedelta(days=1)).date().isoformat(),
    }

    async def reported() -> dict[str, Any] | None:
        report = await client.report("reports/serious", **window)
        case = next((c for c in report["cases"] if c["complaint_id"] == complaint_id), None)
        return case if case and case["corrective_actions"] and case["escalations"] else None

    case = await eventually(reported, what="the serious case in the leadership report", timeout=30, interval=0.5)
    assert case["cause_analysis"]["summary"] == "阀门超期服役，巡检计划未覆盖楼道阀门"
    assert case["root_cause"] == "repair.valve_failure" and case["root_cause_en"]
    action = case["corrective_actions"][0]
    assert (action["owner"], action["status"], action["overdue"]) == ("repair-lead-zhang", "open", True)

    exported = await client.report_csv("reports/serious.csv", **window)
    rows = [r for r in csv.DictReader(io.StringIO(exported)) if r["reference_no"] == case["reference_no"]]
    assert len(rows) == 1 and rows[0]["action_owner"] == "repair-lead-zhang"
