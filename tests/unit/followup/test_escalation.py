"""The escalation ladder on its own: who each rung is, where it stops, and the two ways up it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.followup.escalation import Ladder, breach, dissatisfied_again
from services.followup.model import Timer

LADDER = Ladder(("supervisor", "department_manager", "general_manager"))
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _breach_timer(level: int, stage: str = "acknowledge") -> Timer:
    return Timer(7, uuid.uuid4(), uuid.uuid4(), "breach", stage, level, NOW, NOW - timedelta(minutes=1))


def test_rungs_count_from_one_and_warnings_go_to_the_first() -> None:
    assert [LADDER.role(level) for level in (1, 2, 3)] == ["supervisor", "department_manager", "general_manager"]
    assert LADDER.warned == "supervisor" and LADDER.top == 3


def test_each_breach_climbs_one_rung_until_the_top() -> None:
    climbs = [breach(LADDER, _breach_timer(level), NOW) for level in (1, 2, 3)]
    assert [c.escalation.escalated_to for c in climbs] == ["supervisor", "department_manager", "general_manager"]
    assert [c.next_level for c in climbs] == [2, 3, None], "nobody above the general manager"


def test_a_breach_records_what_ran_out() -> None:
    timer = _breach_timer(1, stage="on_site")
    record = breach(LADDER, timer, NOW).escalation
    assert (record.stage, record.level, record.reason) == ("on_site", 1, "on_site deadline passed")
    assert (record.timer_id, record.subject_id, record.deadline, record.at) == (
        7,
        timer.subject_id,
        timer.deadline,
        NOW,
    )


def test_a_timer_above_a_shortened_ladder_stays_at_the_top() -> None:
    climb = breach(Ladder(("supervisor", "department_manager")), _breach_timer(3), NOW)
    assert (climb.escalation.level, climb.escalation.escalated_to, climb.next_level) == (2, "department_manager", None)


def test_dissatisfied_again_goes_straight_to_the_top() -> None:
    callback_id = uuid.uuid4()
    record = dissatisfied_again(LADDER, complaint_id=uuid.uuid4(), callback_id=callback_id, count=2, now=NOW)
    assert (record.stage, record.level, record.escalated_to) == ("satisfaction", 3, "general_manager")
    assert record.reason == "customer dissatisfied 2 times"
    assert record.subject_id == callback_id and record.timer_id is None and record.deadline is None


def test_an_empty_ladder_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one rung"):
        Ladder(())
