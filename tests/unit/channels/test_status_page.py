"""The customer status page's pure parts: the rate limits (per client address; wrong digits per reference number,
which locks the reference even for the right digits until the window passes) and the page in Chinese and English,
showing nothing personal. The clock is a number the test moves: no sleep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.channels.model import Case, SentMessage
from services.channels.status import page
from services.channels.status.limiter import LookupLimits, SlidingWindow

ZONE = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sliding_window_allows_the_limit_then_says_when_to_retry() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60, clock)
    assert all(window.hit("a").allowed for _ in range(3))
    refused = window.hit("a")
    assert not refused.allowed and refused.retry_after_s == 60
    assert window.hit("b").allowed  # another key has its own window
    clock.now += 30
    assert window.hit("a").retry_after_s == 30
    clock.now += 30.5
    assert window.hit("a").allowed


def test_the_window_forgets_the_oldest_keys_past_its_bound() -> None:
    window = SlidingWindow(1, 60, Clock(), max_keys=2)
    for key in ("a", "b", "c"):
        window.hit(key)
    assert window.hit("a").allowed and not window.hit("c").allowed


def test_wrong_digits_lock_a_reference_for_everyone() -> None:
    clock = Clock()
    limits = LookupLimits(clock, per_client=100, failures=5, failure_window_s=3600)
    for n in range(5):
        assert limits.admit(f"10.0.0.{n}", "TS-1").allowed
        limits.failed("TS-1")
    locked = limits.admit("10.9.9.9", "ts-1")  # another machine, the same reference (any case)
    assert not locked.allowed and locked.retry_after_s == 3600
    assert limits.admit("10.9.9.9", "TS-2").allowed
    clock.now += 3601
    assert limits.admit("10.9.9.9", "TS-1").allowed


def test_one_client_is_slowed_whatever_it_looks_up() -> None:
    limits = LookupLimits(Clock(), per_client=2, client_window_s=60)
    assert limits.admit("10.0.0.1", "TS-1").allowed and limits.admit("10.0.0.1", "TS-2").allowed
    assert not limits.admit("10.0.0.1", "TS-3").allowed
    assert limits.admit("10.0.0.2", "TS-3").allowed


def _case() -> Case:
    at = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    return Case(
        complaint_id=uuid.uuid4(),
        reference_no="TS-20261205-000007",
        channel="app",
        channel_ticket_id="open311:x",
        status="in_progress",
        received_at=at,
        updated_at=at,
        department="repair",
        status_notes="维修人员已出发",
        eta=datetime(2026, 12, 5, 8, 30, tzinfo=UTC),
        district="朝阳区",
        phone_hash="secret-hash",
        messages=(
            SentMessage(uuid.uuid4(), "complaint_received", "sms", "delivered", at),
            SentMessage(uuid.uuid4(), "appointment_agreed", "wechat", "sent", at),
        ),
    )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", ["投诉进度查询", "处理中", "维修部", "2026-12-05 16:30", "受理通知", "短信", "已送达", "上门时间确认"]),
        ("en", ["Track your complaint", "Being handled", "Repair department", "2026-12-05 16:30", "Receipt", "SMS"]),
    ],
)
def test_the_page_shows_the_case_in_its_language_and_nothing_personal(lang: page.Lang, expected: list[str]) -> None:
    html = page.render(lang, ZONE, page.Form("TS-20261205-000007"), _case())
    for text in expected:
        assert text in html
    assert "secret-hash" not in html and "朝阳区" not in html  # no hash, no place
    assert "<script" not in html and 'lang="' in html


def test_the_page_escapes_what_was_typed_and_shows_the_error() -> None:
    html = page.render("en", ZONE, page.Form("<b>x</b>", page.TEXT["en"]["not_found"]))
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "No complaint matches" in html and 'role="alert"' in html
    assert page.language(None, "en-GB,en;q=0.9") == "en" and page.language("zh", "en") == "zh"
    assert page.language("fr", None) == "zh"


def test_the_api_names_every_message_sent() -> None:
    listed = page.public_messages(_case(), "en")
    assert [m["template"] for m in listed] == ["complaint_received", "appointment_agreed"]
    assert listed[1]["name"] == "Visit agreed"
