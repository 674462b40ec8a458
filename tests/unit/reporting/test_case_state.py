"""Case state and KPI contribution derived from a timeline: order-independent, exact counters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.reporting.case_state import (
    HANDLING_BUCKETS_H,
    UNROUTED_CATEGORY,
    UNROUTED_DEPARTMENT,
    TimelineEvent,
    contribution,
    derive,
    handling_bucket,
)
from services.reporting.kpis import percentile

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CN = ZoneInfo("Asia/Shanghai")
WO = "11111111-1111-1111-1111-111111111111"


def ev(n: int, event_type: str, minutes: float, **payload: object) -> TimelineEvent:
    return TimelineEvent(f"00000000-0000-0000-0000-{n:012d}", event_type, T0 + timedelta(minutes=minutes), payload)


def wo(status: str, minutes: float, **extra: object) -> dict[str, object]:
    resolution = {"resolution": "r", "root_cause": "c"} if status == "resolved" else {}
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    return {"work_order_id": WO, "department": "repair", "cycle": 1, "status": status, "at": at, **resolution, **extra}


CALLBACK = {
    "callback_id": "22222222-2222-2222-2222-222222222222",
    "department": "repair",
    "cycle": 1,
    "due_at": (T0 + timedelta(hours=24)).isoformat(),
    "at": (T0 + timedelta(minutes=200)).isoformat(),
    "attempt": 1,
    "agent": "agent-7",
    "final": True,
}
ESCALATED = {
    "stage": "resolve",
    "escalated_to": "department_manager",
    "department": "repair",
    "reason": "r",
    "deadline": None,
    "escalated_at": (T0 + timedelta(minutes=300)).isoformat(),
}


TIMELINE = [
    ev(
        1,
        "complaint.received",
        0,
        reference_no="TS-20261123-000001",
        channel="phone",
        text="t",
        accepted_at=T0.isoformat(),
        customer={"account_no": "A1", "name_masked": "王**", "phone_masked": "139***"},
        location={"district": "heping", "address": "a"},
    ),
    ev(
        2,
        "complaint.routed",
        1,
        work_order_id=WO,
        category="outage",
        department="repair",
        severity="normal",
        priority=3,
        cycle=1,
        deadlines={
            "acknowledge_by": (T0 + timedelta(minutes=30)).isoformat(),
            "resolve_by": (T0 + timedelta(hours=24)).isoformat(),
        },
    ),
    ev(3, "workorder.acknowledged", 20, **wo("acknowledged", 20)),
    ev(4, "workorder.resolved", 150, **wo("resolved", 150)),
    ev(5, "callback.attempted", 200, **CALLBACK, outcome="dissatisfied"),
    ev(6, "complaint.reopened", 201, reopen_count=1),
    ev(7, "complaint.escalated", 300, **ESCALATED, level=2),
]


def test_counters_of_a_handled_case() -> None:
    state = derive("c1", TIMELINE)
    assert state.status == "reopened" and state.reopen_count == 1 and state.escalation_level == 2
    c = contribution(state, CN)
    assert c is not None
    assert c["key"] == ["2026-11-23", "repair", "outage", "phone", "heping"]
    assert c["counters"] == {
        "received": 1,
        "routed": 1,
        "acknowledged": 1,
        "acknowledged_in_time": 1,
        "resolved": 1,
        "resolved_in_time": 1,
        "callbacks_done": 1,
        "satisfied": 0,
        "dissatisfied": 1,
        "reopened": 1,
        "closed": 0,
        "fixed_with_group": 0,
        "invalid": 0,
        "resolved_on_contact": 0,
        "messaged": 0,
        "reached_by_message": 0,
        "on_site": 0,
        "on_site_in_time": 0,
    }
    assert c["handling_ms"] == 150 * 60_000
    assert HANDLING_BUCKETS_H[c["bucket"]] >= 2.5 > HANDLING_BUCKETS_H[c["bucket"] - 1]


@pytest.mark.parametrize(("limit", "arrived", "counted"), [(45, 40, (1, 1)), (45, 50, (1, 0)), (None, 40, (0, 0))])
def test_on_site_timeliness_is_the_first_arrival_against_its_limit(
    limit: int | None, arrived: int, counted: tuple[int, int]
) -> None:
    """Seed 002's 维修及时率: a crew's first arrival on a work order held to an on-site limit, in time or not; a work
    order without such a limit (most categories) is not in it."""
    routed = TIMELINE[1]
    deadlines = dict(routed.payload["deadlines"])  # type: ignore[call-overload]
    if limit is not None:
        deadlines["on_site_by"] = (T0 + timedelta(minutes=limit)).isoformat()
    timeline = [
        TIMELINE[0],
        ev(2, "complaint.routed", 1, **{**routed.payload, "deadlines": deadlines}),
        TIMELINE[2],
        ev(8, "workorder.started", arrived, **wo("in_progress", arrived)),
        ev(9, "workorder.started", arrived + 30, **wo("in_progress", arrived + 30)),  # a second visit: not counted
    ]
    c = contribution(derive("c1", timeline), CN)
    assert c is not None
    assert (c["counters"]["on_site"], c["counters"]["on_site_in_time"]) == counted


def test_any_arrival_order_gives_the_same_result() -> None:
    expected = contribution(derive("c1", TIMELINE), CN)
    rng = random.Random(7)
    for _ in range(50):
        shuffled = TIMELINE[:]
        rng.shuffle(shuffled)
        assert contribution(derive("c1", shuffled), CN) == expected


def test_a_case_counts_as_received_before_it_is_routed_then_moves_to_its_cohort() -> None:
    """Issue 24: a case in triage (or not routed yet) is in `received` from its complaint.received on."""
    unrouted = contribution(derive("c1", TIMELINE[:1]), CN)
    assert unrouted is not None and unrouted["key"][1:3] == [UNROUTED_DEPARTMENT, UNROUTED_CATEGORY]
    assert unrouted["counters"]["received"] == 1 and unrouted["counters"]["routed"] == 0
    partial = contribution(derive("c1", TIMELINE[:2]), CN)
    assert partial is not None and partial["key"][1:3] == ["repair", "outage"]
    assert partial["counters"]["received"] == 1 and partial["counters"]["resolved"] == 0


def test_a_case_in_triage_counts_as_received() -> None:
    triage = ev(2, "complaint.awaiting_triage", 1, severity="normal", suggestions=[], reasons=["low confidence"])
    waiting = derive("c1", [TIMELINE[0], triage])
    assert waiting.status == "awaiting_triage"
    c = contribution(waiting, CN)
    assert c is not None and c["key"][1] == UNROUTED_DEPARTMENT and c["counters"]["received"] == 1


def test_nothing_counts_before_the_complaint_itself_arrived() -> None:
    assert contribution(derive("c1", TIMELINE[1:2]), CN) is None


def test_late_acknowledgement_and_resolution() -> None:
    late = [
        *TIMELINE[:2],
        ev(3, "workorder.acknowledged", 45, **wo("acknowledged", 45)),
        ev(4, "workorder.resolved", 26 * 60, **wo("resolved", 26 * 60)),
    ]
    c = contribution(derive("c1", late), CN)
    assert c is not None
    assert c["counters"]["acknowledged_in_time"] == 0 and c["counters"]["resolved_in_time"] == 0


def test_percentiles_from_buckets() -> None:
    hist: dict[int, int] = {}
    values = [0.2, 1.2, 2.5, 4.5, 4.6, 7, 11, 23, 47, 100]
    for v in values:
        hist[handling_bucket(v)] = hist.get(handling_bucket(v), 0) + 1
    median = percentile(hist, 0.5)
    assert median is not None and 4.0 <= median <= 5.0  # the true median, 4.55, lies in the (4, 5] bucket
    p90 = percentile(hist, 0.9)
    assert p90 is not None and 36 <= p90 <= 48
    assert percentile({}, 0.5) is None
