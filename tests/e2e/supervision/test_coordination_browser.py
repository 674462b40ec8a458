"""Seed 002 in a real browser on the real processes: the customer-service centre coordinates a multi-department case.
马琳 (cs.ma, supervisor of customer service) opens a heating complaint routed to repair for coordination — repair
leads, billing assists — from `/supervisor/coordination`; 吴静 (supervisor.wu), whose list is already open, sees it
arrive without a reload (live region, kind `work_order`). 马琳 sets the billing part's deadline and gives it an
instruction. 孙丽 (billing.sun), whose billing queue is already open, sees the billing part arrive without a
reload (live region, kind `work_order`) within 2 s of the centre's step — measured and printed. Each screen in
Chinese and English, axe-checked.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.supervision.live_timing import shown_at, watch
from tests.support.complaints import complaint, headers
from tests.support.console_browser import Console, Screens, poll
from tests.support.platform import Platform

pytestmark = pytest.mark.e2e

#: The utility's zone, in which the console reads a `datetime-local` field (settings: timezone).
UTILITY = ZoneInfo("Asia/Shanghai")
#: Issue 24: queues update without a reload within 2 seconds of the event.
LIVE_S = 2.0
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"


def _heating_complaint(platform: Platform) -> str:
    """A web complaint from a customer of this module's own (random phone, account, street)."""
    n = random.randrange(10_000_000)
    body = complaint(
        "web",
        text=HEATING,
        category_hint=None,
        customer={
            "account_no": f"CO-{n:07d}",
            "name": "协调测试",
            "phone": f"135{n:08d}",
            "preferred_contact": "phone",
        },
        location={"address": f"和平区协调街{n % 100_000}号{uuid.uuid4().hex[:4]}", "district": "heping"},
    )
    answer = httpx.post(f"{platform.url('intake')}/v1/complaints", json=body, headers=headers("web"), timeout=30)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference_no"])


def test_the_centre_opens_a_repair_lead_billing_assisting_case_and_sets_a_deadline(
    console: Console, platform: Platform, screens: Screens
) -> None:
    watcher = console.sign_in("supervisor.wu", "/supervisor/coordination")
    billing = console.sign_in("billing.sun", "/departments/billing/queue")
    expect(billing.locator("html")).to_have_attribute("data-live-state", "open")
    watch(billing, '[data-testid="queue-item"]', "data-work-order")
    reference = _heating_complaint(platform)
    ma = console.person("cs.ma")
    case = poll(watcher, f"{reference} routed", lambda: (ma.known_case(reference) or {}).get("work_orders"))
    assert case[0]["department"] == "repair", case

    centre = console.sign_in("cs.ma", "/supervisor/coordination")
    form = centre.get_by_test_id("coordination-open-form")
    form.locator("#coordination-complaint").fill(reference)
    form.locator("#coordination-lead").select_option("repair")
    form.get_by_test_id("coordination-assisting-billing").check()
    form.locator("#coordination-note").fill("暖气维修由维修部牵头，热费核减由收费部协办")
    asked = time.time()
    form.get_by_test_id("coordination-open").click()
    expect(centre.get_by_test_id("done")).to_be_visible()
    expect(centre.get_by_test_id("coordination-lead")).to_have_text("维修部")
    billing_row = centre.locator('[data-testid="coordination-part"][data-department="billing"]')
    expect(billing_row).to_have_attribute("data-role", "assisting")

    listed = watcher.locator(f'[data-testid="coordinated-case"][data-reference="{reference}"]')
    expect(listed, "the case on the open list without a reload").to_be_visible()
    expect(listed.locator('[data-testid="coordination-part"]')).to_have_count(2)
    screens.both(watcher, "coordination-list")

    # Billing's open queue: the part shows without a reload, within 2 s of the centre's step (the click: before
    # the console's call to dispatch, so the figure is an upper bound).
    opened = ma.call("GET", "dispatch", f"/v1/coordination/{reference}").json()
    (billing_part,) = [p for p in opened["parts"] if p["department"] == "billing"]
    mine = billing.locator(f'[data-testid="queue-item"][data-work-order="{billing_part["work_order_id"]}"]')
    expect(mine, "the billing part in billing's open queue, without a reload").to_be_visible()
    latency = shown_at(billing, billing_part["work_order_id"]) - asked
    print(f"billing's open queue showed the coordinated part {latency:.2f} s after the centre opened the case")
    assert latency <= LIVE_S, f"the queue updated {latency:.2f} s after the event (issue 24: within {LIVE_S} s)"

    due = (datetime.now(UTILITY) + timedelta(days=2)).replace(second=0, microsecond=0)
    deadline = centre.get_by_test_id("deadline-form")
    deadline.locator("#deadline-part").select_option(label="收费部 · 协办")
    deadline.locator("#deadline-resolve-by").fill(due.strftime("%Y-%m-%dT%H:%M"))
    deadline.locator("#deadline-note").fill("两个工作日内完成核减")
    deadline.get_by_test_id("coordination-deadline").click()
    expect(centre.get_by_test_id("done")).to_be_visible()
    instruction = centre.get_by_test_id("instruction-form")
    instruction.locator("#instruction-part").select_option(label="收费部 · 协办")
    instruction.locator("#instruction-text").fill("核减后请告知客服中心")
    instruction.get_by_test_id("coordination-instruct").click()
    expect(centre.get_by_test_id("done")).to_be_visible()
    steps = centre.locator('[data-testid="coordination-step"]')
    expect(steps.last).to_have_attribute("data-action", "instructed")
    screens.both(centre, "coordination-case")

    read = ma.call("GET", "dispatch", f"/v1/coordination/{reference}").json()
    (part,) = [p for p in read["parts"] if p["department"] == "billing"]
    resolve_by = datetime.fromisoformat(part["resolve_by"])
    assert resolve_by == due, (part, due)

    assert part["work_order_id"] == billing_part["work_order_id"]
    screens.both(billing, "coordination-billing-queue", lambda: expect(mine).to_be_visible())


def test_every_coordination_screen_passes_axe_in_both_languages(screens: Screens) -> None:
    assert screens.problems == []
