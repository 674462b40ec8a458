"""Issue 26: a new consumer group reads the topics' kept history. Followup must not text a customer about a
visit agreed last month (`Notifier.customer_horizon`, FOLLOWUP_CUSTOMER_MESSAGE_HORIZON_HOURS, judged by the event
being handled: `shared.handling.cause_at`); within the horizon the message goes as always. (The receipt has its own,
shorter window: `receipts.RECEIPT_WINDOW`.)"""

from __future__ import annotations

from datetime import timedelta

from services.followup import consumers
from services.followup.metrics import MESSAGES_PAST_HORIZON
from tests.support.followup_events import START, appointment_agreed, assigned, new_order
from tests.unit.followup.conftest import Followup, contact, make_followup

HORIZON = timedelta(hours=24)


async def _visit_messages(followup: Followup) -> list[str]:
    """A visit agreed at START (the event's own time), handled at the followup's clock."""
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    agreed = appointment_agreed(order).model_copy(update={"occurred_at": START})
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, department="repair"), agreed])
    return [n.template_id for n in followup.state.notifications if n.recipient_kind == "customer"]


async def test_a_visit_agreed_last_month_read_now_texts_nobody() -> None:
    followup = make_followup(horizon=HORIZON)
    followup.clock.advance(timedelta(days=30))
    skipped = MESSAGES_PAST_HORIZON.labels("appointment_agreed")._value.get()
    assert await _visit_messages(followup) == []
    assert MESSAGES_PAST_HORIZON.labels("appointment_agreed")._value.get() == skipped + 1, "counted"


async def test_within_the_horizon_the_message_goes() -> None:
    followup = make_followup(horizon=HORIZON)
    followup.clock.advance(timedelta(hours=1))
    assert await _visit_messages(followup) == ["appointment_agreed"]
