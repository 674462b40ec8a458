"""A serious case's proposal as followup tells it (`handlers/serious_approvals.py`), through the door on the
in-memory repository: a proposal waiting → leadership; sent back → the department's manager, with the reason;
approved → the project manager and the technical department (seed 001), with the cause and the actions; each
once, however often the event is delivered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from services.followup import consumers
from shared.contracts import (
    Event,
    SeriousCaseApproved,
    SeriousCaseApprovedPayload,
    SeriousCaseFacts,
    SeriousCaseProposed,
    SeriousCaseSentBack,
    SeriousCaseSentBackPayload,
    new_event,
)
from tests.support.followup_events import START
from tests.unit.followup.conftest import Followup

COMPLAINT = uuid.uuid4()


def _facts(status: str) -> dict[str, Any]:
    return {
        "complaint_id": COMPLAINT,
        "reference_no": "TS-20261206-000424",
        "work_order_id": uuid.uuid4(),
        "department": "repair",
        "severity": "emergency",
        "round": 2,
        "cause_analysis": "立管接头超期服役",
        "corrective_actions": [
            {"description": "排查立管接头", "owner": "燃气管网所", "deadline": START + timedelta(days=30)}
        ],
        "status": status,
        "proposed_by": "repair.zhao",
        "proposed_by_name": "赵磊",
        "actor": "leader.he",
        "actor_name": "何建国",
        "at": START,
    }


def _event(cls: type[Event], payload: Any) -> Event:
    return new_event(cls, complaint_id=COMPLAINT, payload=payload, producer="test", correlation_id="c-1")


async def _told(followup: Followup, event: Event) -> list[tuple[str | None, str, str]]:
    before = len(followup.state.events)
    await followup.deliver(consumers.CORRECTIVE_ACTIONS, [event, event])
    told = [e.payload for e in followup.state.events[before:]]
    return [(p.recipient.role, p.template_id, p.text) for p in told]


async def test_each_step_tells_whoever_must_act_or_know_once(followup: Followup) -> None:
    proposed = await _told(followup, _event(SeriousCaseProposed, SeriousCaseFacts(**_facts("proposed"))))
    assert [(role, template) for role, template, _ in proposed] == [("leadership", "serious_case_proposed")]

    back = SeriousCaseSentBackPayload(**_facts("sent_back"), reason="请补充巡检原因")
    sent_back = await _told(followup, _event(SeriousCaseSentBack, back))
    ((role, template, text),) = sent_back
    assert (role, template) == ("department_manager", "serious_case_sent_back") and "请补充巡检原因" in text

    ok = SeriousCaseApprovedPayload(**_facts("approved"), note=None)
    approved = await _told(followup, _event(SeriousCaseApproved, ok))
    assert [(role, template) for role, template, _ in approved] == [
        ("project_manager", "serious_case_approved"),
        ("technical", "serious_case_approved"),
    ]
    assert all("立管接头超期服役" in text and "燃气管网所" in text for _, _, text in approved)
