"""SLA clocks through the door on the in-memory repository, with a clock the test moves: the timers
an assignment starts, a step done in time, a warning, the ladder climbed rung by rung, and interim replies."""

from __future__ import annotations

from datetime import timedelta

from services.followup import consumers
from services.followup.model import TrackedWorkOrder
from services.followup.sla_clocks import CONTACT_RETRIES, ClockRules
from shared.contracts import ComplaintContact, new_event
from tests.support.followup_events import START, Order, acknowledged, assigned, new_order
from tests.unit.followup.conftest import SLA, Followup, contact, make_followup

WORKER = "unit-test"


async def _fire(followup: Followup) -> list[str]:
    """Fire what is due now; returns the types of the events it published."""
    published = len(followup.state.events)
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    return [e.event_type for e in followup.state.events[published:]]


def test_an_assignment_starts_a_warning_and_a_breach_per_deadline_and_the_interim_reply() -> None:
    ids = new_order()
    order = TrackedWorkOrder(
        work_order_id=ids.work_order_id,
        complaint_id=ids.complaint_id,
        reference_no=ids.reference_no,
        department="repair",
        cycle=1,
        category="outage",
        severity="serious",
        channel="phone",
        starts_at=START,
        acknowledge_by=START + timedelta(minutes=30),
        on_site_by=START + timedelta(minutes=45),
        resolve_by=START + timedelta(hours=4),
        interim_reply_by=START + timedelta(hours=2),
        callback_limit="24h",
        correlation_id="c",
    )
    plans = ClockRules(SLA).work_order_clocks(order)
    share = SLA.warning_share
    assert [(p.stage, p.kind, p.level, p.due_at - START) for p in plans] == [
        ("acknowledge", "warning", 0, timedelta(minutes=30) * share),
        ("acknowledge", "breach", 1, timedelta(minutes=30)),
        ("on_site", "warning", 0, timedelta(minutes=45) * share),
        ("on_site", "breach", 1, timedelta(minutes=45)),
        ("resolve", "warning", 0, timedelta(hours=4) * share),
        ("resolve", "breach", 1, timedelta(hours=4)),
        ("interim_reply", "interim_reply", 0, timedelta(hours=2)),
    ]


async def test_acknowledged_in_time_stops_the_acknowledge_clock(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order)])
    followup.clock.advance(timedelta(minutes=20))
    await followup.deliver(consumers.WORK_ORDERS, [acknowledged(order, at=followup.clock())])
    assert {p.stage for p in followup.state.pending_timers(order.work_order_id)} == {"resolve"}
    followup.clock.advance(timedelta(hours=1))
    assert await _fire(followup) == [], "a stopped clock fires nothing"
    assert followup.state.work_orders[order.work_order_id].status == "acknowledged"


async def test_a_redelivered_event_changes_nothing(followup: Followup) -> None:
    order = new_order()
    event = assigned(order)
    await followup.deliver(consumers.WORK_ORDERS, [event])
    timers = len(followup.state.timers)
    await followup.deliver(consumers.WORK_ORDERS, [event, event])
    assert len(followup.state.timers) == timers and len(followup.state.work_orders) == 1


async def test_a_clock_that_runs_out_warns_then_climbs_the_ladder(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, acknowledge_in=timedelta(hours=1))])

    followup.clock.advance(timedelta(hours=1) * SLA.warning_share)
    assert await _fire(followup) == ["complaint.sla_warning", "notification.requested"]
    warning = followup.state.events[-2].payload
    assert (warning.stage, warning.share) == ("acknowledge", SLA.warning_share)
    assert followup.state.events[-1].payload.recipient.role == "supervisor"

    followup.clock.advance(timedelta(hours=1) * (1 - SLA.warning_share))
    for role in ("supervisor", "department_manager", "general_manager"):
        assert await _fire(followup) == ["complaint.escalated", "notification.requested"]
        escalated = followup.state.events[-2].payload
        assert (escalated.stage, escalated.escalated_to) == ("acknowledge", role)
        assert escalated.work_order_id == order.work_order_id
        assert await _fire(followup) == [], "the next rung waits for the escalation interval"
        followup.clock.advance(timedelta(hours=2))
    assert await _fire(followup) == [], "nobody above the general manager"
    assert [(e.level, e.escalated_to) for e in followup.state.escalations] == [
        (1, "supervisor"),
        (2, "department_manager"),
        (3, "general_manager"),
    ]
    assert {t.fired_by for t in followup.state.timers if t.fired_at} == {WORKER}


async def test_the_interim_reply_waits_for_the_contact_then_is_sent(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, interim_in=timedelta(minutes=10))])
    followup.clock.advance(timedelta(minutes=10))
    assert await _fire(followup) == [], "no number yet: look again shortly"
    await _deliver_contact(followup, order)
    followup.clock.advance(timedelta(seconds=5))
    assert await _fire(followup) == ["notification.requested"]
    sent = followup.state.events[-1].payload
    assert (sent.template_id, sent.recipient.phone) == ("interim_reply", "13600136000")
    assert order.reference_no in sent.text


async def test_the_interim_reply_gives_up_when_no_contact_ever_arrives(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, interim_in=timedelta(minutes=1))])
    for _ in range(CONTACT_RETRIES + 3):
        followup.clock.advance(timedelta(minutes=1))
        assert await _fire(followup) == []
    interim = [t for t in followup.state.timers if t.plan.kind == "interim_reply"]
    assert len(interim) == CONTACT_RETRIES + 1 and all(t.fired_at for t in interim)


async def test_followup_requests_every_message_the_cap_is_notifys() -> None:
    """Issue 21: the daily cap moved to notify (it alone knows what was sent); followup asks for each message and
    records each request."""
    followup = make_followup()
    orders = [new_order() for _ in range(5)]
    for order in orders:
        followup.state.contacts[order.complaint_id] = contact(order, phone="13900000000")
        await followup.deliver(consumers.WORK_ORDERS, [assigned(order, interim_in=timedelta(minutes=5))])
    followup.clock.advance(timedelta(minutes=5))
    assert await _fire(followup) == ["notification.requested"] * 5
    assert len(followup.state.notifications) == 5
    assert {n.urgency for n in followup.state.notifications} == {"routine"}


async def _deliver_contact(followup: Followup, order: Order) -> None:
    c = contact(order)
    event = new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload={
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "name": c.name,
            "phone": c.phone,
            "email": None,
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )
    await followup.deliver(consumers.COMPLAINT_CONTACT, [event, event])
    assert len(followup.state.contacts) == 1
