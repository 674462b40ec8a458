"""Must-show 1 of issue 24, in a real browser on the real processes: 郑海 (duty.zheng) has `/duty` open when 李娜
(agent.li) takes a counter complaint she could not settle; the call appears on his page without a reload within 2 s
of followup making it (the live stream: Kafka → the console → the page re-reads its region). He says "on my way",
then "arrived", within the drill's 3 minutes (`[duty_manager] acknowledge` = 3 drill minutes = 9 s): the clock stops,
and no rung of the duty ladder follows. A second call, for an agitated customer, that nobody goes to climbs the duty
ladder: an escalation to the department manager, shown on the open page as overdue (live). The page in Chinese and
English, checked by axe-core.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.complaints import complaint
from tests.support.console_browser import Console, Screens, poll

pytestmark = pytest.mark.e2e

#: The most a call may take from followup making it to the open page showing it (the issue's "within 2 seconds").
LIVE_LIMIT_S = 2.0


def _counter_complaint(console: Console, *, agitated: bool) -> tuple[str, str]:
    """A counter complaint 李娜 took and did not settle (reference, complaint id), from a customer of this module's
    own; posted to intake as she does from her console form."""
    n = random.randrange(10_000_000)
    body = complaint(
        "counter",
        text="柜台来访：缴费后仍被停气，要求马上恢复并说明原因。",
        category_hint="billing",
        customer={
            "account_no": f"DT-{n:07d}",
            "name": "值班测试",
            "phone": f"136{n:08d}",
            "preferred_contact": "phone",
        },
        location={"address": f"和平区值班路{n % 100_000}号{uuid.uuid4().hex[:4]}", "district": "heping"},
        agent_id="agent.li",
        **({"customer_agitated": True} if agitated else {}),
    )
    answer = console.person("agent.li").call("POST", "intake", "/v1/complaints", expect=202, json=body)
    found = answer.json()
    return str(found["reference_no"]), str(found["complaint_id"])


def _card(page: Page, reference: str) -> Locator:
    return page.get_by_test_id("duty-calls").locator(f"[data-testid=duty-call][data-reference='{reference}']")


def _call(console: Console, reference: str, *, open_only: bool = True) -> dict[str, Any] | None:
    params = {"open": "true" if open_only else "false", "limit": 200}
    items = console.person("duty.zheng").call("GET", "followup", "/v1/duty-calls", params=params).json()["items"]
    return next((c for c in items if c["reference_no"] == reference), None)


def _duty_rungs(console: Console, complaint_id: str) -> list[tuple[int, str]]:
    sla = console.person("supervisor.wu").call("GET", "followup", f"/v1/complaints/{complaint_id}/sla").json()
    return sorted((e["level"], e["escalated_to"]) for e in sla["escalations"] if e["stage"] == "duty_manager")


def test_the_call_shows_live_arriving_stops_the_clock_and_a_missed_call_climbs(
    console: Console, screens: Screens
) -> None:
    zheng = console.sign_in("duty.zheng", "/duty")
    expect(zheng.locator("html")).to_have_attribute("data-live-state", "open")
    zheng.evaluate("window.__dutyPageNotReloaded = true")

    # 1. The call appears on the open page, without a reload, within 2 s of followup making it.
    first, first_id = _counter_complaint(console, agitated=False)
    card = _card(zheng, first)
    expect(card).to_be_visible(timeout=60_000)
    shown_at = time.time()
    call = _call(console, first)
    assert call is not None and call["status"] == "called"
    latency = shown_at - datetime.fromisoformat(call["called_at"]).timestamp()
    print(f"duty call shown {latency:.2f} s after followup made it (no reload)")
    assert latency < LIVE_LIMIT_S, f"the call took {latency:.2f} s to show"
    assert zheng.evaluate("window.__dutyPageNotReloaded === true"), "the page was reloaded"
    expect(card.get_by_test_id("duty-call-status")).to_have_text("待出发")
    expect(card.get_by_test_id("duty-call-left")).to_contain_text(":")

    # 2. "On my way", then "arrived", within the 3 drill minutes: the clock stops.
    card.get_by_test_id("duty-on-the-way").click()
    expect(zheng.get_by_test_id("done")).to_have_text("已告知：您在路上。")
    expect(_card(zheng, first).get_by_test_id("duty-call-status")).to_have_text("在路上")
    _card(zheng, first).get_by_test_id("duty-arrived").click()
    expect(zheng.get_by_test_id("done")).to_have_text("已到场，计时已停止。")
    expect(_card(zheng, first)).to_have_count(0)
    arrived = _call(console, first, open_only=False)
    assert arrived is not None and (arrived["status"], arrived["arrived_by"], arrived["late"]) == (
        "arrived",
        "duty.zheng",
        False,
    ), arrived

    # 3. A second call (an agitated customer) nobody goes to: the duty ladder climbs to the department manager, and
    #    the open page shows it overdue without a reload.
    zheng.evaluate("window.__dutyPageNotReloaded = true")
    second, second_id = _counter_complaint(console, agitated=True)
    expect(_card(zheng, second)).to_be_visible(timeout=60_000)
    expect(_card(zheng, second).get_by_test_id("duty-call-agitated")).to_be_visible()
    climbed = poll(zheng, "the duty ladder's first rung", lambda: _duty_rungs(console, second_id), timeout=90)
    assert climbed[0] == (1, "department_manager"), climbed
    expect(_card(zheng, second)).to_have_class("card overdue")
    assert zheng.evaluate("window.__dutyPageNotReloaded === true"), "the page was reloaded"
    assert _duty_rungs(console, first_id) == [], "arrived in time: the first call climbed no rung"

    screens.both(zheng, "duty", lambda: expect(_card(zheng, second)).to_be_visible())


def test_the_duty_page_passes_axe(screens: Screens) -> None:
    assert screens.taken, "no screen was photographed"
    assert screens.problems == [], "\n".join(screens.problems)
