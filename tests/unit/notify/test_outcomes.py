"""What a vendor's answer does to the delivery it was about (`outcomes.answered`): pure, on the unit's time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify.model import Candidate, Delivery, Rules
from services.notify.outcomes import Answer, answered
from tests.unit.notify.test_rules import delivery, local

RULES = Rules(retry_base_s=2, retry_max_s=300, max_attempts=3)
SMS, MAIL = Candidate("sms", "13900000000", "aliyun_sms"), Candidate("email", "a@example.com", "smtp")
AT = local(12)


def claimed(**fields: object) -> Delivery:
    return delivery([SMS, MAIL], attempts=1, channel_attempts=1, in_doubt=True, due_at=AT, **fields)


def never() -> float:
    raise AssertionError("no wait, so no jitter drawn")


def test_accepted_is_sent_or_delivered_with_the_vendors_id() -> None:
    sent = answered(claimed(), Answer("accepted", provider_message_id="BIZ-1"), RULES, draw=never, at=AT)
    assert (sent.status, sent.provider_message_id, sent.in_doubt, sent.delivered_at) == ("sent", "BIZ-1", False, None)
    done = answered(claimed(), Answer("accepted", "BIZ-2", delivered=True), RULES, draw=never, at=AT)
    assert (done.status, done.delivered_at) == ("delivered", AT)


def test_a_vendor_that_cannot_say_is_taken_as_sent_unverified() -> None:
    after = answered(claimed(), Answer("unverified"), RULES, draw=never, at=AT)
    assert (after.status, after.reason, after.provider_message_id) == ("sent", "unverified", None)


def test_transient_retries_the_same_channel_after_a_jittered_wait() -> None:
    after = answered(claimed(), Answer("transient", code="isv.BUSINESS_LIMIT"), RULES, draw=lambda: 0.5, at=AT)
    assert (after.status, after.step, after.reason) == ("queued", 0, "isv.BUSINESS_LIMIT")
    assert after.due_at == AT + timedelta(seconds=1)
    plain = answered(claimed(), Answer("transient"), RULES, draw=lambda: 0.0, at=AT)
    assert plain.reason == "transient_error"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer("permanent", code="isv.MOBILE_NUMBER_ILLEGAL"), "isv.MOBILE_NUMBER_ILLEGAL"),
        (Answer("permanent"), "permanent_error"),
        (Answer("not_configured"), "provider_not_configured"),
    ],
)
def test_permanent_and_unconfigured_move_on_to_the_next_channel(answer: Answer, reason: str) -> None:
    after = answered(claimed(), answer, RULES, draw=never, at=AT)
    assert (after.status, after.step, after.reason, after.channels_tried) == ("queued", 1, reason, ("sms",))


@pytest.mark.parametrize("outcome", ["timeout", "error", "find_failed"])
def test_nobody_knows_so_it_stays_in_doubt_to_be_asked_first(outcome: str) -> None:
    after = answered(claimed(), Answer(outcome), RULES, draw=lambda: 0.0, at=AT)  # type: ignore[arg-type]
    assert (after.status, after.in_doubt, after.step) == ("queued", True, 0)
    assert after.due_at == AT + timedelta(seconds=0.05)
