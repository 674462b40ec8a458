"""Corrective actions of serious cases (`handlers/corrective_actions.py`) through the door on the in-memory
repository: a clock to the deadline, the owner and the first rung warned, the corrective-action ladder
climbed rung by rung, and completion stopping it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.followup import consumers
from tests.support.followup_events import START, action_completed, action_set, new_order
from tests.unit.followup.conftest import SLA, Followup

ACTIONS = "followup.corrective-actions"
WORKER = "unit-test"
DEADLINE_IN = timedelta(days=10)


async def _fire(followup: Followup) -> list[str]:
    published = len(followup.state.events)
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    return [e.event_type for e in followup.state.events[published:]]


async def test_a_corrective_action_past_its_deadline_warns_then_escalates(followup: Followup) -> None:
    order, action_id = new_order(), uuid.uuid4()
    event = action_set(order, action_id, deadline_in=DEADLINE_IN)
    await followup.deliver(consumers.CORRECTIVE_ACTIONS, [event, event])
    assert {(p.kind, p.level, p.ladder) for p in followup.state.pending_timers(action_id)} == {
        ("warning", 0, "corrective_action"),
        ("breach", 1, "corrective_action"),
    }, "one clock, however often it is delivered"

    followup.clock.advance(DEADLINE_IN * SLA.warning_share)
    assert await _fire(followup) == ["complaint.sla_warning", "notification.requested", "notification.requested"]
    warning, to_owner, to_rung = (e.payload for e in followup.state.events[-3:])
    assert (warning.stage, warning.corrective_action_id, warning.work_order_id) == (
        "corrective_action",
        action_id,
        order.work_order_id,
    )
    assert warning.deadline == START + DEADLINE_IN and warning.department == "repair"
    assert (to_owner.recipient.staff_id, to_owner.recipient.role) == ("repair-chief-7", None)
    assert (to_rung.recipient.role, to_rung.recipient.staff_id) == ("department_manager", None)

    followup.clock.advance(DEADLINE_IN * (1 - SLA.warning_share))
    for level, role in enumerate(("department_manager", "leadership"), start=1):
        assert await _fire(followup) == ["complaint.escalated", "notification.requested"]
        escalated = followup.state.events[-2].payload
        assert (escalated.stage, escalated.level, escalated.escalated_to, escalated.ladder) == (
            "corrective_action",
            level,
            role,
            "corrective_action",
        )
        assert (escalated.corrective_action_id, escalated.work_order_id) == (action_id, order.work_order_id)
        assert escalated.reason == "corrective action deadline passed"
        followup.clock.advance(timedelta(hours=2))
    assert await _fire(followup) == [], "leadership is the top"


async def test_a_completed_action_stops_its_clock(followup: Followup) -> None:
    order, action_id = new_order(), uuid.uuid4()
    await followup.deliver(consumers.CORRECTIVE_ACTIONS, [action_set(order, action_id, deadline_in=DEADLINE_IN)])
    followup.clock.advance(timedelta(days=3))
    done = action_completed(order, action_id, deadline=START + DEADLINE_IN, at=followup.clock())
    await followup.deliver(consumers.CORRECTIVE_ACTIONS, [done])

    assert followup.state.pending_timers(action_id) == []
    assert followup.state.corrective_actions[action_id].status == "done"
    followup.clock.advance(DEADLINE_IN * 2)
    assert await _fire(followup) == [] and followup.state.escalations == []


async def test_each_action_has_its_own_clock(followup: Followup) -> None:
    order, first, second = new_order(), uuid.uuid4(), uuid.uuid4()
    batch = [
        action_set(order, first, deadline_in=timedelta(days=1)),
        action_set(order, second, deadline_in=DEADLINE_IN),
    ]
    await followup.deliver(consumers.CORRECTIVE_ACTIONS, batch)
    followup.clock.advance(timedelta(days=1))
    await _fire(followup)
    assert [(e.subject_id, e.escalated_to) for e in followup.state.escalations] == [(first, "department_manager")]
