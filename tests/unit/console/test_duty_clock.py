"""The duty page's clock: since the call, and left to go (negative once overdue); unreadable times show nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from services.console.duty_clock import clock_of

NOW = datetime(2026, 12, 6, 3, 0, 30, tzinfo=UTC)


def test_since_the_call_and_left_to_go() -> None:
    call = {"called_at": "2026-12-06T03:00:00+00:00", "go_by": "2026-12-06T03:03:00+00:00"}
    assert clock_of(call, NOW) == {"since_s": 30, "left_s": 150}
    assert clock_of({**call, "go_by": "2026-12-06T11:00:10+08:00"}, NOW)["left_s"] == -20


def test_a_time_followup_did_not_give_shows_nothing() -> None:
    assert clock_of({"called_at": "yesterday", "go_by": None}, NOW) == {"since_s": None, "left_s": None}
    assert clock_of({"called_at": "2026-12-06T03:00:00"}, NOW)["since_s"] is None  # no offset: not ours to guess
