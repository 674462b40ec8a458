"""Issue 21: the messages the seeds require (receipt, 12-hour promise, visit window, resolution), every address of
the customer and their preferred channel, urgency, and a message notify could not deliver turned into an agent's
task in the callbacks worklist."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.followup import consumers
from services.followup.handlers.failed_notifications import KIND
from services.followup.handlers.outcomes import RecordOutcome, record_outcome
from services.followup.handlers.receipts import RECEIPT_WINDOW
from services.followup.model import Contact
from services.followup.notifications import urgency
from shared.contracts import (
    ComplaintContact,
    Event,
    NotificationFailed,
    Recipient,
    WorkOrderResolved,
    new_event,
)
from tests.fakes.followup import FakeFollowupRepository
from tests.support.followup_events import (
    START,
    Order,
    acknowledged,
    action_set,
    appointment_agreed,
    assigned,
    new_order,
    order_event,
    received,
    resolved,
)
from tests.unit.followup.conftest import Followup, contact

INTAKE = "followup.complaint-contact"
FAILED = "followup.notification-failed"


def _contact_event(order: Order, **changes: Any) -> ComplaintContact:
    payload = {
        "complaint_id": order.complaint_id,
        "reference_no": order.reference_no,
        "name": "孙八",
        "phone": "13600136000",
        "email": None,
        "wechat_openid": None,
        "preferred_contact": "phone",
    }
    return new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload=payload | changes,
    )


def _requested(events: list[Event]) -> list[Any]:
    return [e.payload for e in events if e.event_type == "notification.requested"]


async def _intake(followup: Followup, *events: Event) -> list[Any]:
    """The customer's messages the intake group's events request (a counter complaint also calls the duty
    manager, in the same unit of work: not the customer's)."""
    before = len(followup.state.events)
    await followup.deliver(consumers.COMPLAINT_CONTACT, list(events))
    return [p for p in _requested(followup.state.events[before:]) if p.recipient.kind == "customer"]


# -- the receipt -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("contact_first", [True, False], ids=["contact-then-complaint", "complaint-then-contact"])
async def test_the_receipt_goes_once_when_complaint_and_contact_are_both_known(
    followup: Followup, contact_first: bool
) -> None:
    order = new_order()
    complaint, reach = received(order, channel="phone"), _contact_event(order)
    first, second = (reach, complaint) if contact_first else (complaint, reach)
    assert await _intake(followup, first) == [], "one of the two is not enough"
    (receipt,) = await _intake(followup, second)
    assert receipt.template_id == "complaint_received_phone", "a phone complaint not settled on the call"
    assert order.reference_no in receipt.text and "within 12 hours" in receipt.text
    assert receipt.reference_no == order.reference_no and receipt.urgency == "routine"
    assert receipt.recipient.phone == "13600136000"
    # Redelivered, in any order, together: nothing more.
    assert await _intake(followup, complaint, reach, complaint) == []
    assert [n.template_id for n in followup.state.notifications] == ["complaint_received_phone"]


async def test_both_in_one_batch_send_one_receipt_and_the_locks_are_taken_in_one_order(followup: Followup) -> None:
    orders = [new_order() for _ in range(4)]
    batch: list[Event] = [e for o in orders for e in (_contact_event(o), received(o, channel="web"))]
    sent = await _intake(followup, *batch)
    assert sorted(r.reference_no for r in sent) == sorted(o.reference_no for o in orders)
    assert {r.template_id for r in sent} == {"complaint_received"}
    (locked,) = followup.state.receipt_locks
    assert locked == sorted({o.complaint_id for o in orders}), "one order: two batches cannot deadlock"


@pytest.mark.parametrize(
    ("channel", "handled", "template"),
    [
        ("phone", None, "complaint_received_phone"),
        ("phone", "explained the tariff", "complaint_received"),  # settled on the call: no 12-hour promise
        ("counter", None, "complaint_received"),
        ("web", None, "complaint_received"),
        ("partner_12345", None, "complaint_received"),
    ],
)
async def test_which_receipt(followup: Followup, channel: str, handled: str | None, template: str) -> None:
    order = new_order()
    (receipt,) = await _intake(
        followup, _contact_event(order), received(order, channel=channel, handled_on_contact=handled)
    )
    assert receipt.template_id == template


async def test_no_receipt_for_a_complaint_read_long_after_it_was_accepted(followup: Followup) -> None:
    order = new_order()
    old = received(order, channel="phone", at=START - RECEIPT_WINDOW - timedelta(minutes=1))
    assert await _intake(followup, _contact_event(order), old) == []


async def test_a_customer_without_any_address_gets_no_receipt_but_one_with_email_only_does(followup: Followup) -> None:
    nobody, mailer = new_order(), new_order()
    assert await _intake(followup, _contact_event(nobody, phone=None), received(nobody)) == []
    (receipt,) = await _intake(
        followup,
        _contact_event(mailer, phone=None, email="li@example.com", preferred_contact="email"),
        received(mailer, channel="web"),
    )
    assert receipt.recipient == Recipient(
        kind="customer", phone=None, email="li@example.com", wechat_openid=None, preferred_contact="email"
    )


async def test_in_one_batch_the_receipt_goes_to_the_correction_that_gave_an_address(followup: Followup) -> None:
    order = new_order()
    first, correction = _contact_event(order, phone=None), _contact_event(order, phone="13700137000")
    (receipt,) = await _intake(followup, first, received(order, channel="web"), correction)
    assert receipt.recipient.phone == "13700137000"


async def test_in_one_batch_an_older_contact_after_a_newer_one_changes_nothing(followup: Followup) -> None:
    order = new_order()
    newer = _contact_event(order, phone="13700137000")
    older = _contact_event(order).model_copy(update={"occurred_at": newer.occurred_at - timedelta(minutes=5)})
    (receipt,) = await _intake(followup, newer, older, received(order, channel="web"))
    assert receipt.recipient.phone == "13700137000"
    assert followup.state.contacts[order.complaint_id].phone == "13700137000"


# -- every address, urgency --------------------------------------------------------------------------------------


async def test_every_customer_message_carries_every_address_and_the_preferred_channel(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = Contact(
        order.complaint_id, "孙八", "13600136000", "sun@example.com", "o-openid-1", "wechat"
    )
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, interim_in=timedelta(minutes=5))])
    followup.clock.advance(timedelta(minutes=5))
    await followup.fire_due_timers(worker="w", batch_size=10)
    (interim,) = _requested(followup.state.events)
    assert interim.template_id == "interim_reply"
    assert interim.recipient.model_dump(exclude_none=True) == {
        "kind": "customer",
        "phone": "13600136000",
        "email": "sun@example.com",
        "wechat_openid": "o-openid-1",
        "preferred_contact": "wechat",
    }
    assert interim.urgency == "routine"


async def test_an_emergency_cases_customer_messages_are_urgent(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    await followup.deliver(
        consumers.WORK_ORDERS, [assigned(order, severity="emergency", interim_in=timedelta(minutes=5))]
    )
    followup.clock.advance(timedelta(minutes=5))
    await followup.fire_due_timers(worker="w", batch_size=10)
    customer = [p for p in _requested(followup.state.events) if p.recipient.kind == "customer"]
    assert [(p.template_id, p.urgency) for p in customer] == [("interim_reply", "urgent")]
    staff = [p for p in _requested(followup.state.events) if p.recipient.kind == "staff"]
    assert staff and {p.urgency for p in staff} == {"urgent"}, "management told of the emergency, at once"


@pytest.mark.parametrize(
    ("template", "kind", "severity", "expected"),
    [
        ("group_joined", "customer", None, "urgent"),
        ("group_joined_no_eta", "customer", None, "urgent"),
        ("eta_changed", "customer", "normal", "urgent"),
        ("fault_fixed", "customer", None, "urgent"),
        ("interim_reply", "customer", "emergency", "urgent"),
        ("interim_reply", "customer", "serious", "routine"),
        ("complaint_received", "customer", None, "routine"),
        ("case_resolved", "customer", "normal", "routine"),
        ("escalation", "staff", None, "urgent"),
        ("sla_warning", "staff", "normal", "urgent"),
    ],
)
def test_urgency(template: str, kind: str, severity: str | None, expected: str) -> None:
    assert urgency(template, Recipient(kind=kind), severity) == expected  # type: ignore[arg-type]


# -- a visit agreed, the case resolved ---------------------------------------------------------------------------


async def test_an_agreed_visit_tells_the_window_and_please_be_at_home(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    agreed = appointment_agreed(order)
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, department="repair"), agreed])
    await followup.deliver(consumers.WORK_ORDERS, [agreed])  # redelivered
    (visit,) = _requested(followup.state.events)
    assert visit.template_id == "appointment_agreed" and visit.params["window"] == "11-24 14:00-16:00"
    assert "11-24 14:00-16:00" in visit.text and "please be at home" in visit.text.lower()


def _resolved_with_cause(order: Order, *, analysis: str | None = None) -> WorkOrderResolved:
    event = resolved(order, at=START + timedelta(hours=3))
    payload = event.payload.model_dump() | {
        "resolution": "replaced the stuck valve",
        "root_cause": "repair.valve_failure",
        "root_cause_detail": {"code": "repair.valve_failure", "label_zh": "阀门故障", "label_en": "valve failure"},
        "cause_analysis": {"summary": "valves past their service life", "analysed_by": "leader-1"}
        if analysis
        else None,
    }
    return order_event(WorkOrderResolved, order, payload)


async def test_the_resolution_says_what_why_and_what_will_change_before_the_callback(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    await followup.deliver(
        consumers.WORK_ORDERS, [assigned(order), acknowledged(order, at=START + timedelta(minutes=5))]
    )
    await followup.deliver(consumers.CORRECTIVE_ACTIONS, [action_set(order, uuid.uuid4())])
    before = len(followup.state.events)
    await followup.deliver(consumers.WORK_ORDERS, [_resolved_with_cause(order, analysis="x")])
    emitted = followup.state.events[before:]
    assert [e.event_type for e in emitted] == ["notification.requested", "callback.scheduled"], "told, then called"
    told = emitted[0].payload
    assert told.template_id == "case_resolved"
    assert "replaced the stuck valve" in told.text and "Cause: valve failure." in told.text
    assert "What will change: replace the corroded valves of the station." in told.text


async def test_without_corrective_actions_the_cause_analysis_says_what_will_change(followup: Followup) -> None:
    order, plain = new_order(), new_order()
    for o in (order, plain):
        followup.state.contacts[o.complaint_id] = contact(o)
        await followup.deliver(consumers.WORK_ORDERS, [assigned(o)])
    await followup.deliver(
        consumers.WORK_ORDERS, [_resolved_with_cause(order, analysis="x"), _resolved_with_cause(plain)]
    )
    analysed, ordinary = _requested(followup.state.events)
    assert "What we found and will change: valves past their service life." in analysed.text
    assert "will change" not in ordinary.text and "Cause: valve failure. We will call you back" in ordinary.text


async def test_a_coordinated_part_and_an_incidents_work_order_tell_the_customer_nothing(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order)])
    await followup.deliver(consumers.WORK_ORDERS, [resolved(order, at=START + timedelta(hours=1), case_resolved=False)])
    assert _requested(followup.state.events) == []


# -- a message nobody received ------------------------------------------------------------------------------------


def _failed(complaint_id: uuid.UUID, notification_id: uuid.UUID, *, kind: str = "customer") -> NotificationFailed:
    return new_event(
        NotificationFailed,
        complaint_id=complaint_id,
        producer="notify",
        correlation_id="n",
        payload={
            "notification_id": notification_id,
            "template_id": "complaint_received_phone",
            "recipient_kind": kind,
            "channels_tried": ["sms", "email"],
            "attempts": 12,
            "reason": "isv.MOBILE_NUMBER_ILLEGAL",
            "reference_no": None,
            "failed_at": START,
        },
    )


async def test_a_customer_message_nobody_received_becomes_an_agents_task_once(followup: Followup) -> None:
    order = new_order()
    await _intake(followup, _contact_event(order), received(order, channel="phone"))
    (record,) = followup.state.notifications
    event = _failed(order.complaint_id, record.notification_id)
    await followup.deliver(consumers.NOTIFICATION_FAILED, [event, event])
    await followup.deliver(consumers.NOTIFICATION_FAILED, [_failed(order.complaint_id, record.notification_id)])

    (task,) = followup.state.callbacks.values()
    assert (task.kind, task.reason, task.template_id, task.work_order_id) == (
        KIND,
        "notification_failed",
        "complaint_received_phone",
        record.notification_id,
    )
    assert task.message == record.text and order.reference_no in (task.message or "")
    assert task.reference_no == order.reference_no and task.department == "customer_service"
    assert task.due_at == START + timedelta(hours=2)
    listed, total = await FakeFollowupRepository(followup.state).worklist(START, limit=10, offset=0)
    assert [c.callback_id for c in listed] == [task.callback_id] and total == 1
    assert not any(e.event_type.startswith("callback.") for e in followup.state.events), "no callback of the case"


async def test_the_task_done_changes_nothing_of_the_case(followup: Followup) -> None:
    order = new_order()
    await _intake(followup, _contact_event(order), received(order, channel="phone"))
    (record,) = followup.state.notifications
    await followup.deliver(consumers.NOTIFICATION_FAILED, [_failed(order.complaint_id, record.notification_id)])
    (task,) = followup.state.callbacks.values()
    before = len(followup.state.events)
    unreachable = await followup.run(record_outcome, RecordOutcome(task.callback_id, "unreachable", "agent-1"))
    assert (unreachable.status, unreachable.attempts) == ("pending", 1)
    done = await followup.run(record_outcome, RecordOutcome(task.callback_id, "satisfied", "agent-1"))
    assert done.status == "satisfied" and done.completed_at is not None
    assert followup.state.events[before:] == [], "no close, reopen or callback event"


async def test_a_staff_message_nobody_received_is_only_counted(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.NOTIFICATION_FAILED, [_failed(order.complaint_id, uuid.uuid4(), kind="staff")])
    assert followup.state.callbacks == {} and followup.state.events == []
