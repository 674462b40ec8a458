"""Must-show 4 of issue 24, in a real browser on the real processes: a gas emergency. The repair department (赵磊,
repair.zhao) proposes the cause analysis and corrective actions from the work order's page; 何建国 (leader.he), whose
`/leadership/serious` is already open, sees the proposal arrive without a reload (the live region, kind `serious`),
sends it back once with a reason, then — after the department proposes again — approves it. The lead work order's
resolve is refused (409, naming why) until then, and resolves from the console after. The project manager (冯涛,
pm.feng) and the technical department (高远, tech.gao) were informed: notify holds their notices. Each screen in
Chinese and English, checked by axe-core.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.complaints import complaint, headers
from tests.support.console_browser import Console, Screens, poll
from tests.support.platform import Platform

pytestmark = pytest.mark.e2e

GAS = "单元楼道里煤气味很重，楼上还有独居老人，请马上派人来查！"
FIRST = "立管接头锈蚀漏气"
SECOND = "立管接头超期服役锈蚀漏气，巡检计划未覆盖楼道立管"
REASON = "未说明巡检为何没有发现，请补充"


def _gas_emergency(platform: Platform) -> str:
    """A web complaint of a smell of gas, from a customer of this module's own (random phone, account, street)."""
    n = random.randrange(10_000_000)
    body = complaint(
        "web",
        text=GAS,
        category_hint=None,
        customer={
            "account_no": f"SR-{n:07d}",
            "name": "燃气测试",
            "phone": f"136{n:08d}",
            "preferred_contact": "phone",
        },
        location={"address": f"铁西区燃气路{n % 100_000}号{uuid.uuid4().hex[:4]}", "district": "tiexi"},
    )
    answer = httpx.post(f"{platform.url('intake')}/v1/complaints", json=body, headers=headers("web"), timeout=30)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference_no"])


def _propose(page: Page, analysis: str) -> None:
    """The department's form on the work order's page: the analysis and one corrective action due in a month."""
    section = page.get_by_test_id("propose-section")
    section.locator("#cause_analysis").fill(analysis)
    section.locator("#action_1_description").fill("全面排查小区燃气立管接头")
    section.locator("#action_1_owner").fill("燃气管网所")
    due = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    section.locator("#action_1_deadline").fill(due)
    section.get_by_test_id("propose").click()
    expect(page.get_by_test_id("done")).to_be_visible()


def _notices(console: Console, staff_id: str, reference: str) -> list[dict[str, Any]]:
    return [
        n
        for n in console.person(staff_id).inbox()
        if n["reference_no"] == reference and n["template_id"] == "serious_case_approved"
    ]


def _steps(console: Console, reference: str) -> list[tuple[str, str]] | None:
    """The serious-case steps of the case's timeline (reporting), once the approval is on it."""
    case = console.person("leader.he").call("GET", "reporting", f"/v1/cases/{reference}").json()
    steps = [(e["event_type"], e["actor"]) for e in case["timeline"] if e["event_type"].startswith("serious_case.")]
    return steps if steps and steps[-1][0] == "serious_case.approved" else None


def test_leadership_sends_back_then_approves_and_only_then_the_lead_resolves(
    console: Console, platform: Platform, screens: Screens
) -> None:
    leader = console.sign_in("leader.he", "/leadership/serious")
    reference = _gas_emergency(platform)
    zhao = console.person("repair.zhao")
    case = poll(leader, f"{reference} routed", lambda: (zhao.known_case(reference) or {}).get("work_orders"))
    assert case[0]["severity"] == "emergency", case
    work_order_id = case[0]["work_order_id"]
    zhao.work_order_step(work_order_id, "acknowledge", {})
    listed = leader.locator(f'[data-testid="serious-case"][data-reference="{reference}"]')
    expect(listed, "the emergency on leadership's open page, waiting for the department").to_have_attribute(
        "data-status", "none"
    )

    department = console.sign_in("repair.zhao", f"/work-orders/{work_order_id}")
    expect(department.get_by_test_id("proposal-none")).to_be_visible()
    screens.both(department, "serious-propose")
    _propose(department, FIRST)
    expect(listed, "the proposal on leadership's open page without a reload").to_have_attribute(
        "data-status", "proposed"
    )
    screens.both(leader, "serious-cases")

    listed.get_by_test_id("serious-open").click()
    expect(leader.get_by_test_id("serious-analysis")).to_have_text(FIRST)
    screens.both(leader, "serious-case")
    leader.locator("#send-back-reason").fill(REASON)
    leader.get_by_test_id("serious-send-back").click()
    expect(leader.get_by_test_id("done")).to_be_visible()
    expect(listed).to_have_attribute("data-status", "sent_back")

    bare = {"resolution": "更换立管接头", "root_cause": "repair.pipe_leak"}
    early = zhao.call("POST", "dispatch", f"/v1/work-orders/{work_order_id}/resolve", expect=409, json=bare)
    assert REASON in early.json()["detail"], early.text
    department.reload()
    expect(department.get_by_test_id("proposal-status")).to_have_text("已退回")
    _propose(department, SECOND)

    expect(listed).to_have_attribute("data-status", "proposed")
    listed.get_by_test_id("serious-open").click()
    expect(leader.get_by_test_id("serious-analysis")).to_have_text(SECOND)
    leader.get_by_test_id("serious-approve").click()
    expect(leader.get_by_test_id("done")).to_be_visible()

    department.reload()
    expect(department.get_by_test_id("proposal-status")).to_have_text("已批准")
    resolve = department.get_by_test_id("resolve-section")
    resolve.locator("summary").click()
    resolve.locator("#resolution").fill("更换立管接头，复测无泄漏")
    department.get_by_test_id("resolve").click()
    expect(department.get_by_test_id("done")).to_be_visible()
    order = zhao.call("GET", "dispatch", f"/v1/work-orders/{work_order_id}").json()
    assert (order["status"], order["cause_analysis"]) == ("resolved", SECOND), order
    assert [a["owner"] for a in order["corrective_actions"]] == ["燃气管网所"]

    for staff_id in ("pm.feng", "tech.gao"):
        (notice,) = poll(leader, f"{staff_id}'s notice", lambda s=staff_id: _notices(console, s, reference))
        assert SECOND in notice["text"], notice
    # Every step is on the case's timeline, under who took it.
    steps = poll(leader, "the steps on the case timeline", lambda: _steps(console, reference))
    assert steps == [
        ("serious_case.proposed", "repair.zhao"),
        ("serious_case.sent_back", "leader.he"),
        ("serious_case.proposed", "repair.zhao"),
        ("serious_case.approved", "leader.he"),
    ], steps


def test_every_serious_screen_passes_axe_in_both_languages(screens: Screens) -> None:
    assert screens.problems == []
