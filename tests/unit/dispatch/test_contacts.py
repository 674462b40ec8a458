"""Customers' contact details in dispatch: kept once from complaint.contact, shown to persons with a log row per case,
shown masked (and unlogged) to machine keys."""

from __future__ import annotations

from datetime import timedelta

from services.dispatch.consumers import COMPLAINT_CONTACT
from services.dispatch.model import Actor
from shared.contracts import ComplaintContact, Department, new_event
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, received
from tests.unit.dispatch.clocks import START

ZHAO = Actor(name="repair.zhao", staff_id="repair.zhao", display_name="赵磊", department=Department.REPAIR)
DESK = Actor(name="repair-desk", department=Department.REPAIR)


def _contact(event_complaint_id: object, reference_no: str) -> ComplaintContact:
    return new_event(
        ComplaintContact,
        complaint_id=event_complaint_id,
        producer="intake",
        correlation_id="c",
        payload={
            "complaint_id": event_complaint_id,
            "reference_no": reference_no,
            "name": "王小明",
            "phone": "13912345678",
            "email": None,
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )


async def test_a_person_sees_the_real_contact_and_each_read_is_logged(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    event = received("暖气不热，室内只有16度。", accepted_at=START, account_no="HT-100234")
    await dispatcher.route_received([event], consumer="t")
    contact = _contact(event.complaint_id, event.payload.reference_no)
    await dispatcher.keep_contacts([contact, contact], consumer=COMPLAINT_CONTACT.consumer)
    assert len(store.state.contacts) == 1
    case = store.state.cases[event.complaint_id]

    clock.advance(timedelta(minutes=5))
    shown = await dispatcher.reveal(ZHAO, [case], endpoint="GET /v1/work-orders/{work_order_id}")
    details = shown[event.complaint_id]
    assert (details.name, details.phone, details.account_no, details.masked) == (
        "王小明",
        "13912345678",
        "HT-100234",
        False,
    )
    (read,) = store.state.contact_reads
    assert (read.staff_id, read.staff_name, read.complaint_id, read.reference_no) == (
        "repair.zhao",
        "赵磊",
        event.complaint_id,
        event.payload.reference_no,
    )
    assert (read.what, read.endpoint, read.at) == (
        ["name", "phone", "account_no", "address"],
        "GET /v1/work-orders/{work_order_id}",
        START + timedelta(minutes=5),
    )
    listed = await dispatcher.contact_reads(
        complaint=event.payload.reference_no, staff_id="repair.zhao", since=START, until=None, limit=10
    )
    assert listed == [read]


async def test_a_machine_key_sees_the_masked_customer_and_leaves_no_row(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = received("暖气不热，室内只有16度。", accepted_at=START)
    await dispatcher.route_received([event], consumer="t")
    await dispatcher.keep_contacts([_contact(event.complaint_id, event.payload.reference_no)], consumer="c")
    shown = await dispatcher.reveal(DESK, [store.state.cases[event.complaint_id]], endpoint="GET /x")
    details = shown[event.complaint_id]
    assert (details.name, details.phone, details.masked) == ("王**", "139******78", True)
    assert store.state.contact_reads == []


async def test_before_the_contact_arrives_a_person_sees_it_masked_and_the_log_says_so(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = received("暖气不热，室内只有16度。", accepted_at=START)
    await dispatcher.route_received([event], consumer="t")
    shown = await dispatcher.reveal(ZHAO, [store.state.cases[event.complaint_id]], endpoint="GET /x")
    assert shown[event.complaint_id].masked
    assert store.state.contact_reads[0].what == ["address"]
