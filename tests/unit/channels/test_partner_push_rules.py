"""The pure rules of the partner pushes (`services/channels/pushes.py`): one id per causing event and kind (the
partner's idempotency key), how an answer is read (delivered, refused, try again), the backoff, and the push after
an attempt."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.channels.pushes import (
    Answer,
    PartnerTicket,
    Push,
    RetryPolicy,
    after_attempt,
    new_push,
    push_id,
    wire_body,
)

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TICKET = PartnerTicket(uuid.uuid4(), "12345", "GD-20261205-0007", "TS-20261205-000001")


def stored(kind: str = "reply", attempts: int = 0, **fields: object) -> Push:
    draft = new_push(TICKET, kind, uuid.uuid4(), NOW, **fields)  # type: ignore[arg-type]
    return Push(
        push_id=draft.push_id,
        seq=7,
        complaint_id=draft.complaint_id,
        partner=draft.partner,
        ticket_id=draft.ticket_id,
        reference_no=TICKET.reference_no,
        kind=draft.kind,
        fields=draft.fields,
        occurred_at=NOW,
        status="pending",
        attempts=attempts,
        next_attempt_at=NOW,
    )


def test_the_same_event_always_makes_the_same_push_and_each_kind_its_own() -> None:
    cause = uuid.uuid4()
    assert push_id(cause, "accept") == push_id(cause, "accept")
    assert push_id(cause, "accept") != push_id(cause, "reply")
    assert push_id(cause, "accept") != push_id(uuid.uuid4(), "accept")


def test_the_wire_body_names_ticket_action_order_and_the_states_fields() -> None:
    push = stored("reply", resolution="已更换阀门，室温恢复到20度", department="repair")
    assert wire_body(push) == {
        "ticket_id": "GD-20261205-0007",
        "action": "reply",
        "seq": 7,
        "occurred_at": NOW.isoformat(),
        "reference_no": "TS-20261205-000001",
        "resolution": "已更换阀门，室温恢复到20度",
        "department": "repair",
    }
    assert push.label == "办结"


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (Answer(200, '{"code": 0, "message": "ok", "receipt_id": "R1"}'), "delivered"),
        (Answer(200, '{"code": "0", "duplicate": true, "receipt_id": "R1"}'), "delivered"),
        (Answer(200, '{"code": 1003, "message": "未签收的工单不能办结"}'), "refused"),
        (Answer(400, '{"code": 1004, "message": "missing resolution"}'), "refused"),
        (Answer(401, "signature"), "refused"),
        (Answer(200, "<html>proxy page</html>"), "refused"),
        (Answer(503, '{"code": 5000, "message": "维护中"}'), "retry"),
        (Answer(429, ""), "retry"),
        (Answer(None, error="ConnectError"), "retry"),
    ],
)
def test_an_answer_is_delivered_refused_or_tried_again(answer: Answer, outcome: str) -> None:
    assert answer.outcome == outcome


def test_the_backoff_doubles_from_the_first_delay_up_to_the_cap() -> None:
    policy = RetryPolicy(first=timedelta(seconds=1), cap=timedelta(seconds=30))
    assert [policy.delay(n).total_seconds() for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(10_000) == timedelta(seconds=30)


def test_a_failed_attempt_stays_pending_until_its_next_try_and_keeps_what_went_wrong() -> None:
    policy = RetryPolicy(first=timedelta(seconds=2), cap=timedelta(minutes=1))
    result = after_attempt(stored(attempts=2), Answer(503, '{"code": 5000, "message": "维护中"}'), NOW, policy)
    assert (result.status, result.attempts, result.next_attempt_at) == ("pending", 3, NOW + timedelta(seconds=8))
    assert result.last_error == "HTTP 503 code 5000: 维护中" and result.receipt_id is None
    lost = after_attempt(stored(), Answer(None, error="ReadTimeout"), NOW, policy)
    assert (lost.status, lost.last_error, lost.answer_status) == ("pending", "ReadTimeout", None)


def test_a_delivered_push_keeps_the_partners_receipt_and_a_refused_one_its_reason() -> None:
    policy = RetryPolicy()
    done = after_attempt(stored(), Answer(200, '{"code": 0, "receipt_id": "HX-991"}'), NOW, policy)
    assert (done.status, done.receipt_id, done.last_error, done.answered_at) == ("delivered", "HX-991", None, NOW)
    refused = after_attempt(stored(), Answer(200, '{"code": 1003, "message": "顺序错误"}'), NOW, policy)
    assert (refused.status, refused.last_error) == ("refused", "HTTP 200 code 1003: 顺序错误")
    assert refused.answer_body == '{"code": 1003, "message": "顺序错误"}'
