"""The case page's messages (issue 21), on real Postgres with reporting, followup and dispatch stood in by a
recording transport (as tests/service/test_console_pages.py stands them in): each message of reporting's `messages`
with when it was requested (the utility's time), its template by name, to whom, the channel and its latest status
in words beside a mark that is a shape (not colour alone), attempts when more than one and the reason of a failed or
suppressed one; whether the customer got the receipt at the top; and the timeline's `notification.delivery` lines
labelled the same way, the callers' old `complaint.*` steps kept as they were. In Chinese and in English."""

from __future__ import annotations

import copy
import html as entities
import re
import tomllib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.console.i18n import LANGUAGES, catalogue
from services.console.screens.cases import MARKS
from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

REFERENCE = "TS-20261123-000077"
COMPLAINT = str(uuid.uuid4())
TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "followup" / "templates.toml"
STATUSES = ("queued", "sent", "delivered", "failed", "suppressed")


def _message(template_id: str, status: str, *, at: str, **changes: Any) -> dict[str, Any]:
    return {
        "notification_id": str(uuid.uuid4()),
        "template_id": template_id,
        "recipient_kind": "customer",
        "channel": "sms",
        "provider": "aliyun",
        "status": status,
        "reason": None,
        "attempts": 1,
        "provider_message_id": None,
        "requested_at": at,
        "updated_at": at,
        **changes,
    }


#: One message in each status a reader must tell apart (times in UTC: the page shows them in Shanghai's, +8).
RECEIPT = _message("complaint_received_phone", "delivered", at="2026-11-23T00:01:00+00:00")
RECEIPT["updated_at"] = "2026-11-23T00:01:30+00:00"
MESSAGES = [
    RECEIPT,
    _message("duty_manager_called", "sent", at="2026-11-23T00:02:00+00:00", recipient_kind="staff", channel="console"),
    _message("appointment_agreed", "queued", at="2026-11-23T13:30:00+00:00", reason="quiet_hours"),
    _message("eta_changed", "queued", at="2026-11-23T14:00:00+00:00", channel="wechat", provider="wechat"),
    _message("interim_reply", "failed", at="2026-11-23T02:00:00+00:00", reason="isv.MOBILE_NUMBER_ILLEGAL", attempts=6),
    _message("case_closed", "suppressed", at="2026-11-23T15:00:00+00:00", channel=None, reason="daily_cap"),
    _message("fault_fixed", "failed", at="2026-11-23T15:10:00+00:00", channel="email", reason="no_address"),
]


def _delivery_line(message: dict[str, Any]) -> dict[str, Any]:
    """The timeline's one line per message, as reporting places it (when requested, with its latest status)."""
    payload = {k: v for k, v in message.items() if k != "updated_at"} | {"status_at": message["updated_at"]}
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "notification.delivery",
        "occurred_at": message["requested_at"],
        "actor": "system",
        "actor_name": None,
        "payload": payload,
    }


CASE = {
    "complaint_id": COMPLAINT,
    "reference_no": REFERENCE,
    "status": "assigned",
    "category": "heating_temperature",
    "department": "repair",
    "channel": "phone",
    "work_orders": [],
    "callbacks": [],
    "messages": MESSAGES,
    "timeline": [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "complaint.received",
            "occurred_at": "2026-11-23T00:00:00+00:00",
            "actor": "agent.li",
            "actor_name": "李娜",
            "payload": {},
        },
        _delivery_line(MESSAGES[0]),
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "complaint.eta_changed",
            "occurred_at": "2026-11-23T13:59:00+00:00",
            "actor": "system",
            "actor_name": None,
            "payload": {},
        },
        _delivery_line(MESSAGES[5]),
    ],
}


def _case(console: ConsoleOnStandIns, case: dict[str, Any]) -> None:
    """Reporting's answer for the case (replaced by a test that needs another)."""
    console.services.on("reporting", "GET", f"/v1/cases/{REFERENCE}", 200, copy.deepcopy(case))


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure) -> AsyncIterator[ConsoleOnStandIns]:
    """Reporting's case, followup's clocks (none) and dispatch's case (no customer)."""
    async with console_on_standins(migrated.database_url) as console:
        _case(console, CASE)
        console.services.on(
            "followup", "GET", f"/v1/complaints/{COMPLAINT}/sla", 200, {"timers": [], "escalations": []}
        )
        console.services.on(
            "dispatch", "GET", f"/v1/complaints/{COMPLAINT}", 200, {"complaint_id": COMPLAINT, "customer": None}
        )
        yield console


async def _case_page(console: ConsoleOnStandIns, lang: str | None = None) -> str:
    agent = await console.as_("agent.li")
    page = await console.get(f"/cases/{REFERENCE}" + (f"?lang={lang}" if lang else ""), agent)
    assert page.status_code == 200, page.text[:600]
    return page.text


def _text(html: str) -> str:
    """What a reader sees: tags dropped, runs of white space made one."""
    return entities.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def _rows(html: str) -> dict[str, tuple[str, str]]:
    """The messages table's rows by template: (the row's data-status, its text)."""
    rows = re.findall(
        r'<tr data-testid="case-message" data-template="([a-z_]+)" data-status="([a-z_]+)">(.*?)</tr>', html, re.S
    )
    return {template: (status, _text(body)) for template, status, body in rows}


def _receipt(html: str) -> str:
    found = re.search(r'<dd data-testid="case-receipt">(.*?)</dd>', html, re.S)
    assert found, "the receipt's line is in the summary"
    return _text(found.group(1))


def _timeline(html: str) -> list[tuple[str, str]]:
    found = re.findall(r'<li data-testid="timeline-entry" data-event="([a-z_.]+)">(.*?)</li>', html, re.S)
    return [(event, _text(body)) for event, body in found]


async def test_each_message_in_chinese_with_its_status_in_words_and_a_mark(console: ConsoleOnStandIns) -> None:
    html = await _case_page(console)
    assert "消息及送达情况" in html and "告知客户的消息" not in html
    rows = _rows(html)
    assert list(rows) == [m["template_id"] for m in MESSAGES], "every message, in reporting's order"

    status, receipt = rows["complaint_received_phone"]
    assert status == "delivered"
    assert receipt.startswith("2026-11-23 08:01 "), "requested at, in the utility's time (00:01 UTC)"
    assert "受理回执（含受理号，12小时内答复）" in receipt and "客户" in receipt and "短信" in receipt
    assert "✓ 已送达" in receipt and "已尝试" not in receipt and "原因" not in receipt

    status, staff = rows["duty_manager_called"]
    assert status == "sent" and "值班经理到场通知" in staff and "工作人员" in staff and "工作台" in staff
    assert "↗ 已发出" in staff

    status, held = rows["appointment_agreed"]
    assert status == "held" and "☾ 等待免打扰结束" in held and "21:30" in held
    assert "原因" not in held, "quiet hours said once, by the status itself"

    status, queued = rows["eta_changed"]
    assert status == "queued" and "◷ 排队中" in queued and "微信" in queued and "预计恢复时间变更" in queued

    status, failed = rows["interim_reply"]
    assert status == "failed" and "✕ 失败" in failed and "已尝试 6 次" in failed
    assert "原因：服务商返回 isv.MOBILE_NUMBER_ILLEGAL" in failed, "a vendor's code, named as such"

    status, capped = rows["case_closed"]
    assert status == "suppressed_cap" and "⊘ 未发送（当日上限）" in capped
    assert "原因：今日发给该客户的消息已达上限" in capped and "办结通知" in capped

    status, no_address = rows["fault_fixed"]
    assert status == "failed" and "邮件" in no_address and "原因：客户没有可用的联系方式" in no_address

    # The mark is a shape the words stand beside, hidden from screen readers (the words say it).
    assert '<span class="mark" aria-hidden="true">✕</span> 失败' in html
    assert 'class="delivery failed"' in html and 'class="delivery suppressed_cap"' in html


async def test_the_receipt_is_at_the_top_and_the_timeline_names_each_message(console: ConsoleOnStandIns) -> None:
    html = await _case_page(console)
    assert html.index('data-testid="case-receipt"') < html.index('data-testid="case-messages"')
    assert _receipt(html) == "✓ 已送达 · 短信 · 2026-11-23 08:01"

    timeline = _timeline(html)
    assert [event for event, _ in timeline] == [
        "complaint.received",
        "notification.delivery",
        "complaint.eta_changed",
        "notification.delivery",
    ]
    assert "受理投诉" in timeline[0][1] and "李娜" in timeline[0][1]
    assert "消息：受理回执（含受理号，12小时内答复）" in timeline[1][1] and "✓ 已送达" in timeline[1][1]
    assert "告知客户新的预计恢复时间" in timeline[2][1], "a caller's old step, as it was"
    assert "消息：办结通知" in timeline[3][1] and "⊘ 未发送（当日上限）" in timeline[3][1]
    assert "原因：今日发给该客户的消息已达上限" in timeline[3][1]
    assert " — " not in timeline[3][1], "no channel was chosen: none is named"


async def test_the_same_page_in_english(console: ConsoleOnStandIns) -> None:
    html = await _case_page(console, "en")
    assert '<html lang="en">' in html and "Messages and their delivery" in html
    rows = _rows(html)
    assert "Receipt with reference number, reply within 12 hours" in rows["complaint_received_phone"][1]
    assert "✓ Delivered" in rows["complaint_received_phone"][1] and "SMS" in rows["complaint_received_phone"][1]
    assert "↗ Sent" in rows["duty_manager_called"][1] and "Staff" in rows["duty_manager_called"][1]
    assert "Console" in rows["duty_manager_called"][1]
    assert "☾ Held for quiet hours" in rows["appointment_agreed"][1]
    assert "◷ Queued" in rows["eta_changed"][1] and "WeChat" in rows["eta_changed"][1]
    failed = rows["interim_reply"][1]
    assert "✕ Failed" in failed and "6 attempts" in failed
    assert "Reason: the provider answered isv.MOBILE_NUMBER_ILLEGAL" in failed
    capped = rows["case_closed"][1]
    assert "⊘ Suppressed (daily cap)" in capped
    assert "Reason: the customer's messages for today reached the cap" in capped
    assert "Reason: no usable contact for the customer" in rows["fault_fixed"][1] and "Email" in rows["fault_fixed"][1]
    assert _receipt(html) == "✓ Delivered · SMS · 2026-11-23 08:01"
    timeline = _timeline(html)
    assert "Message: Receipt with reference number, reply within 12 hours" in timeline[1][1]
    assert "Customer told a new ETA" in timeline[2][1]


async def test_a_failed_receipt_says_to_phone_the_customer_and_none_yet_says_so(console: ConsoleOnStandIns) -> None:
    failed = _message("complaint_received", "failed", at="2026-11-23T00:01:00+00:00", reason="receipt_failed")
    failed["attempts"] = 3
    _case(console, CASE | {"messages": [failed], "timeline": [_delivery_line(failed)]})
    try:
        zh = await _case_page(console)
        assert _receipt(zh) == (
            "✕ 失败 · 已尝试 3 次 · 原因：服务商回报未送达 · 短信 · 2026-11-23 08:01 "
            "客户未收到受理回执，请致电客户告知受理号。"
        )
        en = await _case_page(console, "en")
        assert "The customer did not get the receipt: phone them with the reference number." in _receipt(en)
        assert "Message: Receipt with reference number" in _timeline(en)[0][1]

        _case(console, CASE | {"messages": [], "timeline": []})
        none = await _case_page(console)
        assert _receipt(none) == "尚无受理回执记录" and "暂无消息。" in none
        assert _receipt(await _case_page(console, "en")) == "No receipt recorded yet"
    finally:
        _case(console, CASE)


def test_every_template_and_status_has_a_name_in_both_languages() -> None:
    with TEMPLATES.open("rb") as handle:
        templates = sorted(tomllib.load(handle))
    assert "complaint_received" in templates
    states = [*STATUSES, "held", "suppressed_cap"]
    assert set(MARKS) == set(states)
    for lang in LANGUAGES:
        strings = catalogue()[lang]
        assert [t for t in templates if f"message_template.{t}" not in strings] == [], lang
        assert [s for s in states if f"delivery.{s}" not in strings] == [], lang
        assert [c for c in ("sms", "wechat", "email", "console") if f"message_channel.{c}" not in strings] == []
        assert [r for r in ("customer", "staff") if f"recipient.{r}" not in strings] == []
