"""A customer's reply through the door on the in-memory repository (`complaint.customer_replied`): "2" is kept as
the callback's survey score, "还是不热" answers the pending callback dissatisfied (the case reopens under the
callback rules, method sms), anything else — or a reply with no callback to act on — is a notice to the owner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.followup import consumers
from services.followup.model import Callback
from shared.contracts import Event
from shared.contracts.channels import ReplyKind
from tests.support.customer_replies import customer_replied
from tests.support.followup_events import Order, acknowledged, assigned, new_order, resolved
from tests.unit.followup.conftest import Followup


async def _resolve(followup: Followup, order: Order, *, owner: str | None = "staff-li") -> Callback:
    now = followup.clock()
    batch = [assigned(order, at=now), acknowledged(order, at=now, owner=owner), resolved(order, at=now)]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    return next(c for c in followup.state.callbacks.values() if c.work_order_id == order.work_order_id)


async def _reply(
    followup: Followup, order: Order, kind: ReplyKind, text: str, score: int | None = None, channel: str = "phone"
) -> list[Event]:
    published = len(followup.state.events)
    event = customer_replied(
        order.complaint_id, order.reference_no, kind=kind, text=text, score=score, at=followup.clock(), channel=channel
    )
    await followup.deliver(consumers.CUSTOMER_REPLIES, [event])
    await followup.deliver(consumers.CUSTOMER_REPLIES, [event])  # redelivered: changes nothing
    return followup.state.events[published:]


def _payload(events: list[Event], event_type: str) -> dict[str, Any]:
    return next(e.payload.model_dump(mode="json") for e in events if e.event_type == event_type)


async def test_a_score_is_kept_on_the_case_callback_which_still_happens(followup: Followup) -> None:
    order = new_order()
    callback = await _resolve(followup, order)
    followup.clock.advance(timedelta(minutes=30))

    published = await _reply(followup, order, "survey_score", "2", score=2)

    after = followup.state.callbacks[callback.callback_id]
    assert (after.survey_score, after.survey_scored_at, after.status) == (2, followup.clock(), "pending")
    assert published == []


async def test_still_cold_answers_the_callback_dissatisfied_and_reopens_the_case(followup: Followup) -> None:
    order = new_order()
    callback = await _resolve(followup, order)

    published = await _reply(followup, order, "dissatisfied", "还是不热")

    assert [e.event_type for e in published] == ["callback.attempted", "complaint.reopened"]
    attempt = _payload(published, "callback.attempted")
    assert (attempt["outcome"], attempt["method"], attempt["agent"], attempt["attempt"]) == (
        "dissatisfied",
        "sms",
        "customer",
        1,
    )
    assert published[0].schema_version == 4
    reopened = _payload(published, "complaint.reopened")
    assert (reopened["severity"], reopened["reopen_count"]) == ("serious", 1)
    assert reopened["reason"] == "customer dissatisfied: 还是不热"
    assert followup.state.callbacks[callback.callback_id].last_method == "sms"


async def test_a_dissatisfied_mail_reply_is_recorded_as_by_email(followup: Followup) -> None:
    order = new_order()
    await _resolve(followup, order)
    published = await _reply(followup, order, "dissatisfied", "not fixed", channel="email")
    assert _payload(published, "callback.attempted")["method"] == "email"


async def test_anything_else_is_a_notice_to_the_case_owner(followup: Followup) -> None:
    order = new_order()
    await _resolve(followup, order)

    published = await _reply(followup, order, "note", "师傅明天上午能来吗？我电话138******00")

    assert [e.event_type for e in published] == ["notification.requested"]
    notice = _payload(published, "notification.requested")
    assert (notice["template_id"], notice["recipient"]["kind"], notice["recipient"]["staff_id"]) == (
        "customer_replied",
        "staff",
        "staff-li",
    )
    assert notice["recipient"]["department"] == "billing"
    assert (
        notice["text"]
        == f"[Customer reply] The customer of {order.reference_no} replied: 师傅明天上午能来吗？我电话138******00"
    )


async def test_a_reply_before_any_resolution_goes_to_the_owner_even_a_score_or_a_complaint(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, at=followup.clock())])  # nobody owns it yet

    for kind, text, score in (("survey_score", "3", 3), ("dissatisfied", "还是不热", None)):
        published = await _reply(followup, order, kind, text, score=score)  # type: ignore[arg-type]
        assert [e.event_type for e in published] == ["notification.requested"]
        recipient = _payload(published, "notification.requested")["recipient"]
        assert (recipient["role"], recipient["department"], recipient["staff_id"]) == ("supervisor", "billing", None)


async def test_a_complaint_after_the_callback_is_done_goes_to_the_owner_not_reopened_twice(followup: Followup) -> None:
    order = new_order()
    await _resolve(followup, order)
    await _reply(followup, order, "dissatisfied", "还是不热")

    published = await _reply(followup, order, "dissatisfied", "真的还是不热")

    assert [e.event_type for e in published] == ["notification.requested"]
