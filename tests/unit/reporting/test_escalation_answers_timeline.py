"""An escalation's answer steps (issue 24) on reporting's case: each a step of the timeline taken by whoever answered
or sent it back, and the rung they answer shows where its answer stands — the same live and in a rebuild."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter

from services.followup import events as followup_events
from services.followup.model import Escalation, EscalationAnswer, EscalationRecord
from services.reporting.actors import step_actor
from services.reporting.case_state import TimelineEvent, derive
from services.reporting.handling_reports import escalation_reads
from services.reporting.model import ReportedEvent, sort_events, subject_of_timeline
from shared.contracts import Event
from tests.fakes.reporting import InMemoryTransactions
from tests.support.reporting_events.cases import T0, case_events
from tests.unit.reporting.door import project_through


def _escalation_events(case: list[Event]) -> list[Event]:
    """The case's resolve clock climbed to the supervisor at minute 60; the department answered at 70; the supervisor
    sent it back at 80."""
    received = case[0]
    work_order_id = next(e.payload.work_order_id for e in case if e.event_type == "workorder.acknowledged")
    at = T0 + timedelta(minutes=60)
    record = EscalationRecord(
        complaint_id=received.complaint_id,
        subject_id=work_order_id,
        stage="resolve",
        level=1,
        escalated_to="supervisor",
        reason="resolve deadline passed",
        timer_id=1,
        at=at,
        deadline=at,
        ladder="default",
        department="repair",
        reference_no=received.payload.reference_no,
        correlation_id="c",
        work_order_id=work_order_id,
        answer_by=at + timedelta(hours=2),
    )
    escalated = followup_events.complaint_escalated(
        record, reference_no=record.reference_no or "", department="repair", correlation_id="c"
    )
    answered = Escalation(
        record,
        EscalationAnswer(
            status="answered",
            action="抢修队已出发",
            promised_by=at + timedelta(hours=5),
            answered_at=at + timedelta(minutes=10),
            answered_by="rm-1",
            answered_by_name="孙经理",
        ),
    )
    sent_back = Escalation(
        replace(record, answer_by=at + timedelta(hours=1)),
        replace(
            answered.answer,
            status="sent_back",
            instruction="先电话安抚客户",
            sent_back_at=at + timedelta(minutes=20),
            sent_back_by="sv-1",
            sent_back_by_name="周主管",
        ),
    )
    return [
        escalated,
        followup_events.escalation_answered(answered, late=False),
        followup_events.escalation_sent_back(sent_back),
    ]


def _when(entry: Any) -> Any:
    return entry.occurred_at


def test_each_step_is_a_case_step_taken_by_whoever_took_it() -> None:
    case = case_events(1)
    _, answered, sent_back = _escalation_events(case)
    for event, actor in ((answered, ("rm-1", "孙经理")), (sent_back, ("sv-1", "周主管"))):
        read = TypeAdapter(ReportedEvent).validate_json(event.model_dump_json())
        payload = read.payload.model_dump(mode="json")
        assert subject_of_timeline([(read.event_type, payload)]) == "case"
        found = step_actor(read.event_type, payload, {})
        assert (found.id, found.name) == actor


async def test_the_rung_shows_its_answer_and_the_timeline_every_step() -> None:
    case = case_events(1)
    steps = _escalation_events(case)
    transactions = InMemoryTransactions()
    await project_through(transactions, [*case, *steps])
    complaint_id = case[0].complaint_id
    stored = sorted((e for e in transactions.tables.timeline.values() if e.complaint_id == complaint_id), key=_when)
    assert [e.event_type for e in stored if e.event_type.startswith("escalation.")] == [
        "escalation.answered",
        "escalation.sent_back",
    ]
    projected = transactions.tables.cases[complaint_id]["escalations"]
    _, entries = sort_events([*steps, *case])
    rebuilt = derive(
        str(complaint_id), [TimelineEvent(str(e.event_id), e.event_type, e.occurred_at, e.payload) for e in entries]
    )
    assert rebuilt.escalations == projected
    (rung,) = escalation_reads(projected)
    assert (rung.answer_status, rung.action, rung.answered_by_name, rung.instruction) == (
        "sent_back",
        "抢修队已出发",
        "孙经理",
        "先电话安抚客户",
    )
    assert rung.answer_deadline == T0 + timedelta(minutes=120)
