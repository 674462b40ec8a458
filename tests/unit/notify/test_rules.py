"""Notify's pure rules: channel order, quiet hours (across midnight, with a controlled clock), backoff bounds, the
daily cap, and what each provider answer does to a delivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notify.model import (
    FOUND_BY_OUR_ID,
    Candidate,
    Delivery,
    QuietHours,
    Rules,
    accepted,
    arrive,
    backoff_seconds,
    cap_key,
    capped,
    customer_plan,
    hold_until,
    mask_address,
    next_channel,
    receipt_applies,
    retry_later,
    staff_plan,
    vendor_message_id,
)
from shared.contracts.followup import Recipient

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL = {"sms": "aliyun_sms", "email": "smtp", "wechat": "wechat", "console": "console"}


def local(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def customer(**fields: object) -> Recipient:
    return Recipient(kind="customer", **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Person:
    staff_id: str
    phone: str | None = None
    email: str | None = None


def delivery(plan: list[Candidate], **fields: object) -> Delivery:
    base = Delivery(
        notification_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        correlation_id="c",
        template_id="interim_reply",
        locale="zh",
        recipient_kind="customer",
        urgency="routine",
        params={},
        text="t",
        requested_at=local(12),
        plan=tuple(plan),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


# -- channel order


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        ("phone", ["sms", "email"]),
        ("sms", ["sms", "email"]),
        ("email", ["email", "sms"]),
        ("wechat", ["wechat", "sms", "email"]),
        (None, ["sms", "email"]),
    ],
)
def test_customer_channels_go_preferred_then_sms_then_email(preferred: str | None, expected: list[str]) -> None:
    r = customer(phone="13800001234", email="a@example.com", wechat_openid="oABCD1234", preferred_contact=preferred)
    assert [c.channel for c in customer_plan(r, ALL)] == expected


def test_channels_without_an_address_or_a_provider_are_skipped() -> None:
    r = customer(phone=None, email="a@example.com", wechat_openid="oABCD", preferred_contact="wechat")
    assert [c.channel for c in customer_plan(r, {"sms": "aliyun_sms", "email": "smtp"})] == ["email"]
    assert customer_plan(customer(phone="  ", preferred_contact="phone"), ALL) == []
    plan = customer_plan(customer(phone="13800001234", email="a@example.com"), ALL)
    assert plan[0] == Candidate("sms", "13800001234", "aliyun_sms")


def test_staff_go_phone_email_then_always_the_console() -> None:
    assert [(c.channel, c.address) for c in staff_plan(Person("s1", "13900000000", "m@x.cn"), ALL)] == [
        ("sms", "13900000000"),
        ("email", "m@x.cn"),
        ("console", "s1"),
    ]
    assert [c.channel for c in staff_plan(Person("s2"), ALL)] == ["console"]
    assert staff_plan(None, ALL) == []


# -- quiet hours


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours.parse("21:00-08:00", SHANGHAI)
    assert quiet is not None
    assert quiet.contains(local(21)) and quiet.contains(local(23, 59)) and quiet.contains(local(0, 30))
    assert quiet.contains(local(7, 59)) and not quiet.contains(local(8)) and not quiet.contains(local(20, 59))
    assert quiet.end_after(local(22)) == local(8, day=11)
    assert quiet.end_after(local(3)) == local(8, day=10)
    # The same instant, given in UTC: 14:30 UTC is 22:30 in Shanghai.
    assert quiet.end_after(datetime(2026, 3, 10, 14, 30, tzinfo=UTC)) == local(8, day=11)


def test_quiet_hours_within_a_day_and_none() -> None:
    quiet = QuietHours.parse("12:00-13:30", SHANGHAI)
    assert quiet is not None and quiet.contains(local(12, 15)) and not quiet.contains(local(13, 30))
    assert QuietHours.parse("", SHANGHAI) is None
    for bad in ("21-08", "25:00-08:00", "08:00-08:00"):
        with pytest.raises(ValueError):
            QuietHours.parse(bad, SHANGHAI)


def test_only_routine_customer_sms_and_wechat_wait() -> None:
    quiet = QuietHours.parse("21:00-08:00", SHANGHAI)
    night = local(23)
    assert hold_until(quiet, "sms", kind="customer", urgency="routine", at=night) == local(8, day=11)
    assert hold_until(quiet, "wechat", kind="customer", urgency="routine", at=night) == local(8, day=11)
    assert hold_until(quiet, "email", kind="customer", urgency="routine", at=night) is None
    assert hold_until(quiet, "sms", kind="customer", urgency="urgent", at=night) is None
    assert hold_until(quiet, "sms", kind="staff", urgency="routine", at=night) is None
    assert hold_until(quiet, "sms", kind="customer", urgency="routine", at=local(10)) is None


def test_a_request_in_quiet_hours_is_queued_until_morning() -> None:
    rules = Rules(quiet=QuietHours.parse("21:00-08:00", SHANGHAI))
    d = arrive(delivery([Candidate("sms", "13800001234", "aliyun_sms")]), rules, sent_today=0, at=local(22))
    assert (d.status, d.reason, d.due_at) == ("queued", "quiet_hours", local(8, day=11))
    urgent = arrive(
        delivery([Candidate("sms", "1", "aliyun_sms")], urgency="urgent"), rules, sent_today=0, at=local(22)
    )
    assert (urgent.status, urgent.reason, urgent.due_at) == ("queued", None, local(22))


# -- backoff


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    assert backoff_seconds(1, base=2, cap=300, draw=0.0) == 0.0
    assert backoff_seconds(1, base=2, cap=300, draw=0.999) == pytest.approx(1.998)
    assert backoff_seconds(3, base=2, cap=300, draw=0.5) == pytest.approx(4.0)
    assert backoff_seconds(20, base=2, cap=300, draw=0.999) <= 300
    for attempt in range(1, 12):
        for draw in (0.0, 0.3, 0.999):
            assert 0 <= backoff_seconds(attempt, base=2, cap=300, draw=draw) < min(300, 2 * 2 ** (attempt - 1)) + 1e-9


# -- the cap


def test_the_cap_counts_per_customer_and_spares_urgent_messages() -> None:
    assert not capped(2, 3, "routine") and capped(3, 3, "routine") and not capped(7, 3, "urgent")
    a = cap_key(customer(phone="+86 138-0000-1234"))
    assert a == cap_key(customer(phone="13800001234", email="other@example.com"))
    assert a != cap_key(customer(phone="13800001235"))
    assert cap_key(customer(email="A@Example.com")) == cap_key(customer(email="a@example.com"))
    assert cap_key(Recipient(kind="staff", role="duty_manager")) is None
    assert "13800001234" not in (a or "")


def test_over_the_cap_is_suppressed_unless_urgent() -> None:
    plan = [Candidate("sms", "1", "aliyun_sms")]
    rules = Rules(daily_cap=3)
    assert arrive(delivery(plan, cap_key="k"), rules, sent_today=3, at=local(12)).status == "suppressed"
    assert arrive(delivery(plan, cap_key="k", urgency="urgent"), rules, sent_today=9, at=local(12)).status == "queued"
    assert arrive(delivery([], cap_key="k"), rules, sent_today=0, at=local(12)).reason == "no_address"


def test_past_the_number_limit_even_an_urgent_message_is_suppressed() -> None:
    plan = [Candidate("sms", "1", "aliyun_sms")]
    rules = Rules(daily_cap=3, number_limit=10)
    urgent = delivery(plan, cap_key="k", urgency="urgent")
    assert arrive(urgent, rules, sent_today=9, at=local(12)).status == "queued"
    over = arrive(urgent, rules, sent_today=10, at=local(12))
    assert (over.status, over.reason) == ("suppressed", "number_limit")
    assert arrive(delivery(plan, urgency="urgent"), rules, sent_today=99, at=local(12)).status == "queued", "staff"


# -- answers


def test_transient_errors_retry_then_move_on_then_fail() -> None:
    rules = Rules(max_attempts=2, retry_base_s=2, retry_max_s=300)
    d = delivery([Candidate("sms", "1", "aliyun_sms"), Candidate("email", "a@x.cn", "smtp")])
    first = replace(d, attempts=1, channel_attempts=1, in_doubt=True)
    later = retry_later(first, rules, reason="throttled", draw=0.5, at=local(12))
    assert (later.channel, later.in_doubt, later.due_at) == ("sms", False, local(12) + timedelta(seconds=1))
    second = replace(later, attempts=2, channel_attempts=2, in_doubt=True)
    moved = retry_later(second, rules, reason="throttled", draw=0.5, at=local(12))
    assert (moved.status, moved.channel, moved.channel_attempts, moved.channels_tried) == (
        "queued",
        "email",
        0,
        ("sms",),
    )
    failed = next_channel(replace(moved, attempts=3), rules, reason="550", at=local(12))
    assert (failed.status, failed.channel, failed.channels_tried, failed.reason) == (
        "failed",
        None,
        ("sms", "email"),
        "550",
    )
    assert failed.shown == Candidate("email", "a@x.cn", "smtp")


def test_a_fallback_at_night_waits_for_morning_on_sms() -> None:
    rules = Rules(quiet=QuietHours.parse("21:00-08:00", SHANGHAI))
    d = delivery([Candidate("email", "a@x.cn", "smtp"), Candidate("sms", "1", "aliyun_sms")])
    moved = next_channel(d, rules, reason="550", at=local(23))
    assert (moved.channel, moved.due_at) == ("sms", local(8, day=11))


def test_receipts_apply_to_the_current_attempt_only() -> None:
    d = delivery([Candidate("sms", "1", "aliyun_sms"), Candidate("email", "a@x.cn", "smtp")])
    sent = accepted(replace(d, in_doubt=True, attempts=1), "BIZ-1", delivered=False, at=local(12))
    assert sent.status == "sent" and not sent.in_doubt
    assert receipt_applies(sent, "aliyun_sms", "BIZ-1") and receipt_applies(sent, "aliyun_sms", None)
    assert not receipt_applies(sent, "aliyun_sms", "BIZ-2") and not receipt_applies(sent, "tencent_sms", "BIZ-1")
    delivered = accepted(sent, "BIZ-1", delivered=True, at=local(12))
    assert not receipt_applies(delivered, "aliyun_sms", "BIZ-1")
    in_flight = replace(d, in_doubt=True)
    assert receipt_applies(in_flight, "aliyun_sms", "BIZ-1")


def test_a_message_found_after_a_crash_by_our_id_alone_takes_its_report() -> None:
    """Aliyun's records name a message by our OutId, not its BizId: the report that follows (with the BizId) is no
    other attempt's, and its BizId replaces the stand-in."""
    d = delivery([Candidate("sms", "1", "aliyun_sms")])
    found = accepted(
        replace(d, in_doubt=True, attempts=1), f"{FOUND_BY_OUR_ID}{d.notification_id}", delivered=False, at=local(12)
    )
    assert receipt_applies(found, "aliyun_sms", "BIZ-1") and vendor_message_id(found) is None
    assert vendor_message_id(accepted(found, "BIZ-1", delivered=True, at=local(12))) == "BIZ-1"


def test_addresses_are_masked() -> None:
    assert mask_address("sms", "13812345678") == "138******78"
    assert mask_address("email", "zhang.san@example.com") == "z***@example.com"
    assert mask_address("wechat", "oABCDEFG123") == "oABC***"
    assert mask_address("console", "staff-7") == "staff-7"
    assert mask_address(None, None) is None
