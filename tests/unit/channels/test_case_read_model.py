"""The case read model (`handlers/cases.py`) on the in-memory fake through the door, as the subscription runs it:
a case's events from several topics in any order give the same case; contact data is kept as keyed hashes only;
the customer's messages sent (not staff notices) and the time of the last one."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from services.channels.handlers.cases import keep_cases
from services.channels.handlers.context import ChannelsContext
from services.channels.model import Case
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.contracts import ComplaintClosed, ComplaintContact, ComplaintReopened, Event, new_event
from shared.handling import Door
from tests.fakes.channels import FakeChannelsRepository, FakeTransactions
from tests.support.followup_events import START, Order, invalid, new_order, received, resolved, routed
from tests.support.followup_events import acknowledged as acknowledged_event
from tests.support.reporting_events.messages import delivery

CONTEXT = ChannelsContext.from_settings(ChannelsSettings(app_env="test"))


def door() -> tuple[Door[ChannelsRepository, ChannelsContext], FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, CONTEXT, clock=lambda: START), transactions


def contact(order: Order, phone: str | None = "13800138000") -> ComplaintContact:
    return new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="intake",
        correlation_id="c",
        payload={
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "name": "李雷",
            "phone": phone,
            "email": "Li.Lei@Example.cn",
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )


def closed(order: Order, at: timedelta) -> ComplaintClosed:
    return new_event(
        ComplaintClosed,
        complaint_id=order.complaint_id,
        producer="followup",
        correlation_id="c",
        payload={
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "work_order_id": order.work_order_id,
            "outcome": "satisfied",
            "cycles": 1,
            "closed_at": START + at,
        },
    )


def reopened(order: Order, at: timedelta) -> ComplaintReopened:
    return new_event(
        ComplaintReopened,
        complaint_id=order.complaint_id,
        producer="followup",
        correlation_id="c",
        payload={
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "reason": "还是不热",
            "previous_work_order_id": order.work_order_id,
            "severity": "serious",
            "reopen_count": 1,
            "reopened_at": START + at,
        },
    )


def lifecycle(order: Order) -> list[Event]:
    h = timedelta(hours=1)
    return [
        received(order, channel="wechat"),
        contact(order),
        routed(order, reason="new", at=START + h),
        acknowledged_event(order, at=START + 2 * h),
        resolved(order, at=START + 3 * h),
        closed(order, 4 * h),
    ]


async def kept(events: list[Event], *, one_by_one: bool = False) -> Case:
    entrance, transactions = door()
    batches = [[e] for e in events] if one_by_one else [events]
    for batch in batches:
        await entrance.batch(keep_cases, batch, consumer="channels.cases")
    [complaint_id] = transactions.state.cases
    case = await FakeChannelsRepository(transactions.state).case(complaint_id)
    assert case is not None
    return case


async def test_a_case_follows_its_lifecycle_whatever_the_order_its_events_arrive_in() -> None:
    order = new_order()
    expected = await kept(lifecycle(order))
    assert (expected.reference_no, expected.channel, expected.status) == (order.reference_no, "wechat", "closed")
    assert (expected.department, expected.category, expected.status_notes) == ("billing", "billing", "refunded")
    assert expected.district == "d" and expected.received_at == START
    for permutation in itertools.islice(itertools.permutations(lifecycle(order)), 0, None, 37):
        case = await kept(list(permutation), one_by_one=True)
        assert (case.status, case.reference_no, case.department, case.status_notes) == (
            "closed",
            order.reference_no,
            "billing",
            "refunded",
        )
        assert case.phone_hash == expected.phone_hash and case.channel == "wechat"


async def test_a_redelivered_event_changes_nothing_and_a_reopening_opens_the_case_again() -> None:
    order = new_order()
    events = lifecycle(order)[:5]
    entrance, transactions = door()
    await entrance.batch(keep_cases, events, consumer="channels.cases")
    await entrance.batch(keep_cases, [reopened(order, timedelta(hours=5))], consumer="channels.cases")
    await entrance.batch(keep_cases, events, consumer="channels.cases")  # redelivered: already processed
    [case] = transactions.state.cases.values()
    assert (case.status, case.status_notes) == ("in_progress", "还是不热")


async def test_an_invalid_complaint_says_why() -> None:
    order = new_order()
    case = await kept([received(order), invalid(order, reason="不属于供热服务范围", at=START + timedelta(minutes=5))])
    assert (case.status, case.status_notes) == ("invalid", "不属于供热服务范围")
    quoting = await kept([invalid(order, reason="请拨打13800138000咨询燃气公司", at=START)])
    assert quoting.status_notes is not None and "13800138000" not in quoting.status_notes


async def test_contact_data_is_kept_as_keyed_hashes_only() -> None:
    order = new_order()
    case = await kept([contact(order, phone="+86 13800138000")])
    hashes = CONTEXT.contacts
    assert case.phone_hash == hashes.phone("13800138000")
    assert case.phone_last4_hash == hashes.last4("8000")
    assert case.email_hash == hashes.email("li.lei@example.cn")
    assert case.wechat_openid_hash is None
    stored = repr(case)
    assert "13800138000" not in stored and "example.cn" not in stored and "李雷" not in stored
    other_key = ChannelsContext.from_settings(
        ChannelsSettings(app_env="test", channels_contact_hash_key="another-key-x")
    )
    assert other_key.contacts.phone("13800138000") != case.phone_hash


async def test_the_customers_messages_and_the_last_one_sent() -> None:
    order = new_order()
    receipt, survey, notice = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    key = order.complaint_id
    case = await kept(
        [
            received(order),
            delivery(key, receipt, "queued", 1),
            delivery(key, receipt, "delivered", 3),
            delivery(key, receipt, "sent", 2),  # older than the delivered report: changes nothing
            delivery(key, survey, "queued", 10, template="callback_survey"),
            delivery(key, notice, "delivered", 20, kind="staff", template="staff_new_case", channel="console"),
        ]
    )
    assert [(m.notification_id, m.template_id, m.status) for m in case.messages] == [
        (receipt, "complaint_received", "delivered"),
        (survey, "callback_survey", "queued"),
    ]
    assert case.last_message_at == delivery(key, receipt, "delivered", 3).payload.status_at


async def test_an_incidents_own_work_order_is_not_a_case() -> None:
    incident = Order(uuid.uuid4(), uuid.uuid4(), "INC-20261124-3F2A9C")
    entrance, transactions = door()
    await entrance.batch(keep_cases, [acknowledged_event(incident, at=START)], consumer="channels.cases")
    assert transactions.state.cases == {}
