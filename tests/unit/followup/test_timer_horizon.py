"""Issue 26, must-show 6's timer half: a timer's customer message is judged by when it came due, as an event's is by
its own time (`Timer.occurred_at`, `Notifier.customer_horizon`). A new consumer group reading a work order assigned
last month schedules its interim reply, due last month: it fires at once and must not text the caller now. A
message waiting for the customer's contact (why the complaint is invalid, a linked caller's first one) is owed since
its event, and judged by that time when its timer fires. Within the horizon each goes as always."""

from __future__ import annotations

from datetime import timedelta

from services.followup import consumers
from services.followup.metrics import MESSAGES_PAST_HORIZON
from tests.support.followup_events import assigned, invalid, new_order
from tests.unit.followup.conftest import Followup, contact, make_followup

HORIZON = timedelta(hours=24)


async def _interim_replies_after(late: timedelta) -> tuple[Followup, list[str]]:
    """A phone caller promised an interim reply within 10 minutes; the timer worker runs `late` after it was due."""
    followup = make_followup(horizon=HORIZON)
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, interim_in=timedelta(minutes=10))])
    followup.clock.advance(timedelta(minutes=10) + late)
    await followup.fire_due_timers(worker="unit-test", batch_size=100)
    customer = [n.template_id for n in followup.state.notifications if n.recipient_kind == "customer"]
    return followup, customer


async def test_an_interim_reply_due_last_month_is_not_sent_now() -> None:
    skipped = MESSAGES_PAST_HORIZON.labels("interim_reply")._value.get()
    followup, customer = await _interim_replies_after(timedelta(days=30))
    assert customer == []
    assert MESSAGES_PAST_HORIZON.labels("interim_reply")._value.get() == skipped + 1, "counted"
    assert any(t.fired_at for t in followup.state.timers if t.plan.kind == "interim_reply"), "the timer did fire"


async def test_an_interim_reply_an_hour_late_still_goes() -> None:
    _, customer = await _interim_replies_after(timedelta(hours=1))
    assert customer == ["interim_reply"]


async def _reasons_told(owed_since_days: int) -> list[str]:
    """A complaint closed as invalid (by an event `owed_since_days` old, read now) before its contact is known: the
    reason waits on a timer; the contact comes, the timer fires."""
    followup = make_followup(horizon=HORIZON)
    followup.clock.advance(timedelta(days=30))
    order = new_order()
    closed = invalid(order).model_copy(update={"occurred_at": followup.clock() - timedelta(days=owed_since_days)})
    await followup.deliver(consumers.CALLERS, [closed])
    assert [p.kind for p in followup.state.pending_timers(order.complaint_id)] == ["caller_notice"], "waits"
    followup.state.contacts[order.complaint_id] = contact(order)
    followup.clock.advance(timedelta(seconds=5))
    await followup.fire_due_timers(worker="unit-test", batch_size=10)
    return [n.template_id for n in followup.state.notifications if n.recipient_kind == "customer"]


async def test_a_reason_owed_since_last_month_is_not_sent_when_the_contact_comes_now() -> None:
    skipped = MESSAGES_PAST_HORIZON.labels("complaint_invalid")._value.get()
    assert await _reasons_told(owed_since_days=30) == []
    assert MESSAGES_PAST_HORIZON.labels("complaint_invalid")._value.get() == skipped + 1


async def test_a_reason_owed_since_today_is_sent_when_the_contact_comes() -> None:
    assert await _reasons_told(owed_since_days=0) == ["complaint_invalid"]
