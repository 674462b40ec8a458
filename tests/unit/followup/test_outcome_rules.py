"""`decide_outcome`, the callback rules as a pure function: every outcome, the retry limit, raised severity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.followup.model import (
    Callback,
    CallbackClosed,
    CallbackPolicy,
    OutcomeDecision,
    Verdict,
    decide_outcome,
)
from shared.contracts import CallbackOutcome, Severity

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
POLICY = CallbackPolicy(max_attempts=3, retry_interval=timedelta(hours=2))


def _callback(*, attempts: int = 0, status: str = "pending") -> Callback:
    created = NOW - timedelta(hours=3)
    return Callback(
        callback_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        work_order_id=uuid.uuid4(),
        reference_no="TS-20261124-000001",
        department="billing",
        cycle=1,
        resolution="refunded",
        due_at=NOW + timedelta(hours=21),
        status=status,
        attempts=attempts,
        next_attempt_at=created,
        created_at=created,
        completed_at=None,
        last_note=None,
        last_agent=None,
    )


def _decide(
    outcome: CallbackOutcome, *, attempts: int = 0, severity: str = "normal", before: int = 0
) -> OutcomeDecision:
    return decide_outcome(
        _callback(attempts=attempts),
        outcome,
        agent="agent-7",
        note="called",
        now=NOW,
        severity=severity,
        dissatisfied_before=before,
        policy=POLICY,
    )


def test_satisfied_closes() -> None:
    decision = _decide("satisfied")
    assert decision.verdict is Verdict.CLOSE and decision.closes_as == "satisfied" and not decision.reopens
    cb = decision.callback
    assert (cb.status, cb.attempts, cb.completed_at, cb.next_attempt_at) == ("satisfied", 1, NOW, NOW)
    assert (cb.last_agent, cb.last_note, decision.final) == ("agent-7", "called", True)
    assert (cb.last_agent_name, cb.last_method) == (None, "phone"), "a credential's call: no name, by phone"


def test_the_person_and_the_method_are_recorded() -> None:
    decision = decide_outcome(
        _callback(),
        "unreachable",
        agent="agent.li",
        agent_name="李娜",
        method="letter",
        note="寄出回访函",
        now=NOW,
        severity="normal",
        dissatisfied_before=0,
        policy=POLICY,
    )
    cb = decision.callback
    assert (cb.last_agent, cb.last_agent_name, cb.last_method, cb.status) == ("agent.li", "李娜", "letter", "pending")


def test_dissatisfied_reopens_one_severity_up() -> None:
    decision = _decide("dissatisfied", severity="normal")
    assert decision.verdict is Verdict.REOPEN and decision.reopens and decision.closes_as is None
    assert (decision.raised_severity, decision.dissatisfied_count) == (Severity.SERIOUS, 1)
    assert decision.final and decision.callback.status == "dissatisfied"


def test_dissatisfied_again_reopens_and_escalates() -> None:
    decision = _decide("dissatisfied", severity="serious", before=1)
    assert decision.verdict is Verdict.REOPEN_AND_ESCALATE and decision.reopens
    assert (decision.raised_severity, decision.dissatisfied_count) == (Severity.EMERGENCY, 2)


@pytest.mark.parametrize(
    ("severity", "raised"),
    [("normal", Severity.SERIOUS), ("serious", Severity.EMERGENCY), ("emergency", Severity.EMERGENCY)],
)
def test_severity_is_raised_but_never_past_emergency(severity: str, raised: Severity) -> None:
    assert _decide("dissatisfied", severity=severity).raised_severity is raised


def test_unreachable_is_retried_after_the_interval() -> None:
    decision = _decide("unreachable", attempts=1)
    assert decision.verdict is Verdict.RETRY and not decision.final and decision.closes_as is None
    cb = decision.callback
    assert (cb.status, cb.attempts, cb.completed_at) == ("pending", 2, None)
    assert cb.next_attempt_at == NOW + POLICY.retry_interval


def test_unreachable_on_the_last_attempt_closes_as_unreachable() -> None:
    decision = _decide("unreachable", attempts=2)
    assert decision.verdict is Verdict.CLOSE_UNREACHABLE and decision.final
    assert decision.closes_as == "unreachable" and decision.callback.status == "unreachable"
    assert decision.callback.completed_at == NOW


def test_one_allowed_attempt_closes_at_the_first_unreachable_call() -> None:
    decision = decide_outcome(
        _callback(),
        "unreachable",
        agent="a",
        note=None,
        now=NOW,
        severity="normal",
        dissatisfied_before=0,
        policy=CallbackPolicy(max_attempts=1),
    )
    assert decision.verdict is Verdict.CLOSE_UNREACHABLE


def test_a_recorded_callback_takes_no_second_outcome() -> None:
    with pytest.raises(CallbackClosed, match="already satisfied"):
        decide_outcome(
            _callback(status="satisfied"),
            "dissatisfied",
            agent="a",
            note=None,
            now=NOW,
            severity="normal",
            dissatisfied_before=0,
            policy=POLICY,
        )
