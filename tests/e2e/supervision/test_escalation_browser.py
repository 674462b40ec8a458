"""Must-show 2 of issue 24, in a real browser on the real processes: two repair faults nobody signs for escalate to
the repair department manager (the drill policy's `equipment_fault` rule: the urgent ladder, one drill minute to
acknowledge). 钱亮 (manager.qian), whose `/supervisor/escalations` is already open, sees both arrive without a reload
(the live region, kind `escalation`) and answers one from the console — what the department is doing and by when;
that rung climbs no further, while the unanswered one climbs to the general manager once its answer limit
(`[escalation_answer] within`, 4 drill minutes = 12 s) passes. The answer is on the case's timeline (reporting) and
told to the rung it reached (notify's notice): his inbox, open in another tab, shows it without a reload within
2 s of notify holding it (live region, kind `inbox`; measured and printed). Then 吴静 (supervisor.wu) lands on her
desk (`/supervisor`) and publishes, then restores, an outage notice from the console; every screen of the desk in
Chinese and English, checked by axe-core.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.supervision.live_timing import shown_at, watch
from tests.support.complaints import complaint, headers
from tests.support.console_browser import Console, Screens, poll
from tests.support.platform import Platform

pytestmark = pytest.mark.e2e

FAULT = "单元楼道里的暖气管道阀门漏水，一直在滴，地上都湿了。"
ANSWER = "已派维修二班今天下午更换阀门"
#: The console reads a form's times in the utility's zone.
UTILITY_TZ = ZoneInfo("Asia/Shanghai")
#: Issue 24: inboxes update without a reload within 2 seconds of the event.
LIVE_S = 2.0


def _repair_fault(platform: Platform) -> str:
    """A web complaint of a leaking valve, from a customer of this module's own (random phone, account, street)."""
    n = random.randrange(10_000_000)
    body = complaint(
        "web",
        text=FAULT,
        category_hint="equipment_fault",
        customer={
            "account_no": f"ES-{n:07d}",
            "name": "督办测试",
            "phone": f"137{n:08d}",
            "preferred_contact": "phone",
        },
        location={"address": f"皇姑区督办路{n % 100_000}号{uuid.uuid4().hex[:4]}", "district": "huanggu"},
    )
    answer = httpx.post(f"{platform.url('intake')}/v1/complaints", json=body, headers=headers("web"), timeout=30)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference_no"])


def _card(page: Page, reference: str) -> Locator:
    return page.get_by_test_id("escalation-list").locator(f"[data-testid=escalation][data-reference='{reference}']")


def _rungs(console: Console, complaint_id: str) -> list[tuple[int, str]]:
    sla = console.person("manager.qian").call("GET", "followup", f"/v1/complaints/{complaint_id}/sla").json()
    return sorted((e["level"], e["escalated_to"]) for e in sla["escalations"] if e["stage"] == "acknowledge")


def test_an_answered_escalation_stops_climbing_an_unanswered_one_climbs(
    console: Console, platform: Platform, screens: Screens
) -> None:
    qian = console.sign_in("manager.qian", "/supervisor/escalations")
    answered, unanswered = _repair_fault(platform), _repair_fault(platform)

    # 1. Both arrive on the open page without a reload: escalated to the department manager (level 1).
    began = time.monotonic()
    for reference in (answered, unanswered):
        expect(_card(qian, reference)).to_have_attribute("data-level", "1", timeout=90_000)
    arrived = time.monotonic() - began
    print(f"both escalations shown {arrived:.1f} s after the complaints were posted (no reload)")
    expect(_card(qian, answered)).to_contain_text("部门经理")

    # 2. He answers one from the console: what the department is doing, and by when. His inbox is open in another
    #    tab (the same sign-in), for the notice of his answer.
    inbox = qian.context.new_page()
    inbox.goto(console.url + "/inbox")
    expect(inbox.locator("html")).to_have_attribute("data-live-state", "open")
    watch(inbox, '[data-testid="notice"]', "data-notification")
    _card(qian, answered).get_by_test_id("escalation-open").click()
    expect(qian.get_by_test_id("escalation-title")).to_contain_text(answered)
    qian.fill("#answer-action", ANSWER)
    qian.fill("#answer-by", (datetime.now(UTILITY_TZ) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    qian.get_by_test_id("escalation-answer-submit").click()
    notice, held_by, since = _held(console, qian, answered)
    expect(qian.get_by_test_id("done")).to_have_text("已答复督办。")
    expect(_card(qian, answered)).to_have_attribute("data-status", "answered")
    expect(_card(qian, answered).get_by_test_id("escalation-answer")).to_contain_text(ANSWER)

    # 3. The unanswered one climbs to the general manager once its answer limit passes (shown live: the list has not
    #    been reloaded since the answer); the answered one stays on its rung, answered — also after that limit.
    expect(_card(qian, unanswered)).to_have_attribute("data-level", "2", timeout=90_000)
    expect(_card(qian, unanswered)).to_contain_text("总经理")
    zhao = console.person("repair.zhao")
    answered_case = zhao.known_case(answered)
    unanswered_case = zhao.known_case(unanswered)
    assert answered_case and unanswered_case
    climbed = _rungs(console, unanswered_case["complaint_id"])
    assert climbed[:2] == [(1, "department_manager"), (2, "general_manager")], climbed
    one = _escalation(console, answered)
    limit = datetime.fromisoformat(one["answer_by"]).timestamp()
    qian.wait_for_timeout(max(0.0, limit - time.time() + 1.0) * 1000)  # the limit and a few timer polls passed
    assert _rungs(console, answered_case["complaint_id"]) == [(1, "department_manager")], "an answer stops the climb"
    expect(_card(qian, answered)).to_have_attribute("data-level", "1")

    # 4. The answer is on the case's timeline and told to the rung it reached (the repair department manager).
    def on_timeline() -> bool:
        case = console.person("manager.qian").report(f"cases/{answered}")
        return any(e.get("event_type") == "escalation.answered" for e in case.get("timeline", []))

    poll(qian, "the answer on the case's timeline", on_timeline)
    poll(qian, "the answer told", lambda: _told(console, answered))
    _shown_live(inbox, notice, held_by, since)
    screens.both(inbox, "escalation-inbox-live", lambda: expect(_notice(inbox, notice)).to_be_visible())
    inbox.close()

    screens.both(qian, "supervisor-escalations", lambda: expect(_card(qian, answered)).to_be_visible())

    _card(qian, answered).get_by_test_id("escalation-open").click()
    screens.both(
        qian, "supervisor-escalation", lambda: expect(qian.get_by_test_id("escalation-answer")).to_be_visible()
    )


def _escalation(console: Console, reference: str) -> dict[str, Any]:
    items = console.person("manager.qian").call("GET", "followup", "/v1/escalations").json()["items"]
    return next(e for e in items if e["reference_no"] == reference)


def _answered_notice(console: Console, reference: str) -> dict[str, Any] | None:
    notices = console.person("manager.qian").inbox()
    return next(
        (n for n in notices if n["reference_no"] == reference and n["template_id"] == "escalation_answered"), None
    )


def _held(console: Console, page: Page, reference: str) -> tuple[dict[str, Any], float, str]:
    """The answer's notice once notify holds it, and a time before which notify did not: the start of the last look
    at notify's inbox that missed it (a look every 0.1 s from the answer's click). Found at the first look, the
    request's own time (followup's, earlier still) stands in: the latency measured from either is an upper bound."""
    deadline, missed = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        looked = time.time()
        found = _answered_notice(console, reference)
        if found is not None:
            if missed is not None:
                return found, missed, "notify's inbox last missed it"
            return found, datetime.fromisoformat(found["requested_at"]).timestamp(), "followup asked for it"
        missed = looked
        page.wait_for_timeout(100)
    raise AssertionError(f"waited 60 s for notify to hold the answer's notice of {reference}")


def _notice(page: Page, notice: dict[str, Any]) -> Locator:
    return page.locator(f'[data-testid="notice"][data-notification="{notice["notification_id"]}"]')


def _shown_live(inbox: Page, notice: dict[str, Any], held_by: float, since: str) -> None:
    """The open inbox shows the notice without a reload, within 2 s of notify holding it."""
    expect(_notice(inbox, notice), "the notice in the open inbox, without a reload").to_be_visible()
    latency = shown_at(inbox, str(notice["notification_id"])) - held_by
    print(f"the open inbox showed the answer's notice {latency:.2f} s after {since} (an upper bound)")
    assert latency <= LIVE_S, f"the inbox updated {latency:.2f} s after the notice (issue 24: within {LIVE_S} s)"


def _told(console: Console, reference: str) -> bool:
    notices = console.person("manager.qian").inbox()
    return any(n["reference_no"] == reference and n["template_id"] == "escalation_answered" for n in notices)


def test_the_supervisor_desk_publishes_and_restores_an_outage(console: Console, screens: Screens) -> None:
    wu = console.sign_in("supervisor.wu", "/")
    assert wu.url.endswith("/supervisor"), f"the supervisor's home is the desk, not {wu.url}"
    expect(wu.get_by_test_id("desk-count-escalations")).to_be_visible()
    screens.both(wu, "supervisor-desk")

    wu.get_by_test_id("desk-incidents").get_by_role("link").click()
    compound = f"督办停水小区{uuid.uuid4().hex[:6]}"
    wu.get_by_test_id("declare-outage-section").locator("summary").click()
    wu.select_option("#outage-family", "water_outage")
    wu.fill("#outage-district", "huanggu")
    wu.fill("#outage-compound", compound)
    wu.fill("#outage-end", (datetime.now(UTILITY_TZ) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    wu.fill("#outage-description", "供水管道抢修")
    wu.get_by_test_id("declare-outage").click()
    expect(wu.get_by_test_id("done")).to_have_text("已发布停运公告。")
    outage = wu.get_by_test_id("outage").filter(has_text=compound)
    expect(outage).to_be_visible()
    screens.both(wu, "supervisor-incidents", lambda: expect(outage).to_be_visible())

    outage.get_by_role("link").first.click()
    expect(wu.get_by_test_id("outage-title")).to_be_visible()
    screens.both(wu, "supervisor-outage")
    wu.get_by_test_id("outage-restored").click()
    expect(wu.get_by_test_id("done")).to_have_text("已记录恢复供应，相关来电客户将收到通知。")
    expect(wu.get_by_test_id("outage").filter(has_text=compound)).to_have_count(0)

    wu.goto(console.url + "/supervisor/corrective-actions")
    expect(wu.get_by_role("heading", level=1)).to_have_text("整改措施")
    screens.both(wu, "supervisor-corrective-actions")
    wu.goto(console.url + "/supervisor/contact-access")
    expect(wu.get_by_role("heading", level=1)).to_have_text("联系方式查阅记录")
    screens.both(wu, "supervisor-contact-access")


def test_every_desk_screen_passes_axe(screens: Screens) -> None:
    assert screens.taken, "no screen was photographed"
    assert screens.problems == [], "\n".join(screens.problems)
