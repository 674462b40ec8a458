"""An escalation's answer step (issue 24) through the door on the in-memory repository, with a clock the test moves:
who may answer and send back, an answered rung that climbs no further, an unanswered one that climbs, a send-back
that resumes the climb at its deadline, and the answer limit read from the SLA policy."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.followup import consumers
from services.followup import escalation_answers as rules
from services.followup.escalation_answers import EscalationActor
from services.followup.handlers import escalation_answers as steps
from services.followup.model import Escalation
from services.followup.sla_clocks import ClockRules
from shared.errors import Conflict, Forbidden, Invalid
from shared.sla.policy import DEFAULT_PATH, SlaConfig, SlaTable
from tests.fakes.followup import FakeFollowupRepository
from tests.support.followup_events import Order, assigned, new_order
from tests.unit.followup.conftest import Followup

WORKER = "unit-test"
MANAGER = EscalationActor("bm-1", "钱经理", frozenset({"department_manager"}), "billing", person=True)
SUPERVISOR = EscalationActor("sv-1", "周主管", frozenset({"supervisor"}), "customer_service", person=True)


async def _escalated(followup: Followup) -> tuple[Order, Escalation]:
    """A billing work order whose acknowledge clock ran out: its first rung (the supervisor) was told."""
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, acknowledge_in=timedelta(hours=1))])
    followup.clock.advance(timedelta(hours=1))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    record = followup.state.escalations[-1]
    assert (record.complaint_id, record.level, record.escalated_to) == (order.complaint_id, 1, "supervisor")
    found = await FakeFollowupRepository(followup.state).escalation(record.escalation_id)
    assert found is not None
    return order, found


async def _rungs(followup: Followup, order: Order) -> list[str]:
    return [e.escalated_to for e in followup.state.escalations if e.complaint_id == order.complaint_id]


async def _answer(followup: Followup, escalation: Escalation, actor: EscalationActor = MANAGER) -> Escalation:
    command = steps.AnswerEscalation(
        escalation.escalation_id, actor, "crew sent, bill corrected", followup.clock() + timedelta(days=1)
    )
    return await followup.run(steps.answer, command)


async def test_the_climb_records_whom_to_answer_and_by_when(followup: Followup) -> None:
    order, escalation = await _escalated(followup)
    record = escalation.record
    assert (record.reference_no, record.department, record.work_order_id) == (
        order.reference_no,
        "billing",
        order.work_order_id,
    )
    assert record.answer_by == record.at + timedelta(hours=2), "the policy's [escalation_answer] within"
    assert escalation.answer.status == "open"


async def test_an_answered_escalation_climbs_no_further(followup: Followup) -> None:
    order, escalation = await _escalated(followup)
    published = len(followup.state.events)
    answered = await _answer(followup, escalation)
    assert (answered.answer.status, answered.answer.answered_by_name, rules.late(answered)) == (
        "answered",
        "钱经理",
        False,
    )
    step, notice = followup.state.events[published:]
    assert step.event_type == "escalation.answered"
    assert (step.payload.action, step.payload.actor, step.payload.escalated_to) == (
        "crew sent, bill corrected",
        "bm-1",
        "supervisor",
    )
    assert notice.payload.template_id == "escalation_answered"
    assert (notice.payload.recipient.role, notice.payload.recipient.department) == ("supervisor", "billing")
    assert "crew sent, bill corrected" in notice.payload.text
    followup.clock.advance(timedelta(hours=6))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor"], "answered: no next rung"


async def test_an_unanswered_escalation_climbs_as_before(followup: Followup) -> None:
    order, escalation = await _escalated(followup)
    await followup.run(steps.acknowledge, steps.AcknowledgeEscalation(escalation.escalation_id, MANAGER, "seen"))
    assert followup.state.events[-1].event_type == "escalation.acknowledged"
    followup.clock.advance(timedelta(hours=2))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor", "department_manager"], "acknowledged is not answered"


async def test_sent_back_the_climb_resumes_at_the_new_deadline_unless_answered_again(followup: Followup) -> None:
    order, escalation = await _escalated(followup)
    await _answer(followup, escalation)
    deadline = followup.clock() + timedelta(minutes=30)
    command = steps.SendBackEscalation(escalation.escalation_id, SUPERVISOR, "call the customer today", deadline)
    back = await followup.run(steps.send_back, command)
    assert (back.answer.status, back.record.answer_by, back.answer.instruction) == (
        "sent_back",
        deadline,
        "call the customer today",
    )
    step, notice = followup.state.events[-2:]
    assert (step.event_type, step.payload.deadline) == ("escalation.sent_back", deadline)
    assert (notice.payload.template_id, notice.payload.recipient.staff_id) == ("escalation_sent_back", "bm-1")
    followup.clock.advance(timedelta(minutes=29))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor"]
    followup.clock.advance(timedelta(minutes=1))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor", "department_manager"], "not answered again in time"


async def test_answered_again_after_a_send_back_the_climb_stops_again(followup: Followup) -> None:
    order, escalation = await _escalated(followup)
    await _answer(followup, escalation)
    deadline = followup.clock() + timedelta(minutes=30)
    await followup.run(
        steps.send_back, steps.SendBackEscalation(escalation.escalation_id, SUPERVISOR, "more", deadline)
    )
    again = await _answer(followup, escalation)
    assert again.answer.status == "answered" and again.answer.instruction == "more"
    assert followup.state.events[-1].payload.recipient.staff_id == "sv-1", "whoever sent it back hears the answer"
    followup.clock.advance(timedelta(hours=1))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor"]


async def test_who_may_take_which_step(followup: Followup) -> None:
    _, escalation = await _escalated(followup)
    other_department = replace(MANAGER, department="repair")
    agent = EscalationActor("ag-1", "王", frozenset({"agent"}), "billing", person=True)
    key_agent = EscalationActor("callback-agent", None, frozenset({"agent"}), None, person=False)
    key_supervisor = EscalationActor("followup-supervisor", None, frozenset({"supervisor"}), None, person=False)
    assert rules.may_answer(MANAGER, escalation) and rules.may_answer(key_supervisor, escalation)
    assert not any(rules.may_answer(a, escalation) for a in (other_department, agent, key_agent, SUPERVISOR))
    assert rules.may_send_back(SUPERVISOR, escalation) and not rules.may_send_back(MANAGER, escalation)
    leadership = EscalationActor("ld-1", "赵总", frozenset({"leadership"}), None, person=True)
    top = replace(escalation, record=replace(escalation.record, escalated_to="general_manager"))
    assert rules.may_send_back(leadership, top) and not rules.may_send_back(SUPERVISOR, top)
    with pytest.raises(Forbidden):
        await _answer(followup, escalation, agent)
    with pytest.raises(Forbidden):
        send = steps.SendBackEscalation(escalation.escalation_id, MANAGER, "x", followup.clock() + timedelta(hours=1))
        await followup.run(steps.send_back, send)


async def test_refusals_name_the_problem(followup: Followup) -> None:
    _, escalation = await _escalated(followup)
    past = steps.AnswerEscalation(escalation.escalation_id, MANAGER, "done", followup.clock() - timedelta(minutes=1))
    with pytest.raises(Invalid, match=r"by: .* in the future"):
        await followup.run(steps.answer, past)
    typo = replace(past, promised_by=followup.clock() + timedelta(days=3650))
    with pytest.raises(Invalid, match=r"by: .* within a year"):
        await followup.run(steps.answer, typo)
    await _answer(followup, escalation)
    with pytest.raises(Conflict, match="already answered"):
        await _answer(followup, escalation)
    with pytest.raises(Conflict, match="already answered"):
        await followup.run(steps.acknowledge, steps.AcknowledgeEscalation(escalation.escalation_id, MANAGER))


def test_the_answer_limit_comes_from_the_policy_and_defaults_to_the_escalation_interval() -> None:
    with DEFAULT_PATH.open("rb") as handle:
        raw = tomllib.load(handle)
    assert raw["escalation_answer"]["within"] == "2h"
    shorter = SlaTable(SlaConfig.model_validate(raw | {"escalation_answer": {"within": "30m"}}))
    unset = SlaTable(SlaConfig.model_validate({k: v for k, v in raw.items() if k != "escalation_answer"}))
    at = ClockRules(shorter).answer_due
    start = ClockRules(unset).answer_due
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert (at(now) - now, start(now) - now) == (timedelta(minutes=30), timedelta(hours=2))
    with pytest.raises(ValueError, match="escalation_answer"):
        SlaConfig.model_validate(raw | {"escalation_answer": {"within": "soon"}})


async def test_a_rung_climbed_past_is_answered_on_the_latest_rung(followup: Followup) -> None:
    order, first = await _escalated(followup)
    followup.clock.advance(timedelta(hours=2))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor", "department_manager"]
    with pytest.raises(Conflict, match="climbed past"):
        await _answer(followup, first)
    latest = await FakeFollowupRepository(followup.state).escalation(followup.state.escalations[-1].escalation_id)
    assert latest is not None and (await _answer(followup, latest)).answer.status == "answered"
    followup.clock.advance(timedelta(hours=4))
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    assert await _rungs(followup, order) == ["supervisor", "department_manager"], (
        "answered: the general manager not told"
    )


async def test_who_answered_does_not_send_their_own_answer_back(followup: Followup) -> None:
    """A department's own supervisor holds both sides of a supervisor rung: they answer, someone else reviews."""
    _, escalation = await _escalated(followup)
    billing_supervisor = EscalationActor("sv-2", "孙主管", frozenset({"supervisor"}), "billing", person=True)
    await _answer(followup, escalation, billing_supervisor)
    deadline = followup.clock() + timedelta(hours=1)
    with pytest.raises(Forbidden, match="their own answer"):
        own = steps.SendBackEscalation(escalation.escalation_id, billing_supervisor, "redo", deadline)
        await followup.run(steps.send_back, own)
    back = await followup.run(
        steps.send_back, steps.SendBackEscalation(escalation.escalation_id, SUPERVISOR, "x", deadline)
    )
    assert back.answer.status == "sent_back"
