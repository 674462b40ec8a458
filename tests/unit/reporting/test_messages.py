"""Issue 21 in reporting: each message of a case with its latest delivery status (`notification.delivery`), one
timeline line per message, and the KPI "customers actually reached by message" — derived so that any batching and
order of the events give the same tables (a rebuild's rule)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from services.reporting.case_state import COUNTERS, CaseState, TimelineEvent, derive
from services.reporting.kpis import KpiGroup, kpi_figures
from services.reporting.model import sort_events
from services.reporting.views import one_line_per_message
from shared.contracts import Event
from tests.fakes.reporting import InMemoryTransactions
from tests.support.reporting_events.cases import T0, case_events
from tests.support.reporting_events.messages import delivery
from tests.unit.reporting.door import project_through

CN = ZoneInfo("Asia/Shanghai")


def _timeline(events: list[Event]) -> list[TimelineEvent]:
    _, entries = sort_events(events)
    return [TimelineEvent(str(e.event_id), e.event_type, e.occurred_at, e.payload) for e in entries]


def _state(events: list[Event]) -> CaseState:
    return derive(str(events[0].complaint_id), _timeline(events))


def test_each_message_keeps_its_latest_status_and_the_case_counts_as_reached() -> None:
    case = case_events(1)
    cid = case[0].complaint_id
    receipt, interim, staff = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    reports = [
        delivery(cid, receipt, "queued", 1, attempts=0),
        delivery(cid, receipt, "sent", 2),
        delivery(cid, receipt, "delivered", 3),
        delivery(cid, interim, "queued", 5, attempts=0, template="interim_reply", reason="quiet_hours"),
        delivery(cid, staff, "delivered", 4, template="escalation", kind="staff", channel="console"),
    ]
    state = _state([*case, *reports])
    assert sorted((m.template_id, m.status) for m in state.messages) == [
        ("complaint_received", "delivered"),
        ("escalation", "delivered"),
        ("interim_reply", "queued"),
    ]
    by_template = {m.template_id: m for m in state.messages}
    assert by_template["complaint_received"].attempts == 1 and by_template["interim_reply"].reason == "quiet_hours"
    assert (state.counters["messaged"], state.counters["reached_by_message"]) == (1, 1)


def test_failed_counts_as_not_reached_suppressed_as_not_due_and_staff_not_at_all() -> None:
    failed, suppressed, staff_only = case_events(1), case_events(2), case_events(3)
    f, s, t = (c[0].complaint_id for c in (failed, suppressed, staff_only))
    states = [
        _state([*failed, delivery(f, uuid.uuid4(), "failed", 3, attempts=12)]),
        _state([*suppressed, delivery(s, uuid.uuid4(), "suppressed", 1, attempts=0, reason="daily_cap", channel=None)]),
        _state([*staff_only, delivery(t, uuid.uuid4(), "delivered", 1, kind="staff", channel="console")]),
    ]
    assert [(x.counters["messaged"], x.counters["reached_by_message"]) for x in states] == [(1, 0), (0, 0), (0, 0)]


def test_the_latest_report_wins_whatever_the_event_ids_and_arrival_order() -> None:
    """Reports of one instant (a vendor answering at once) are ordered by attempts, then how far the status came."""
    case = case_events(1)
    cid, nid = case[0].complaint_id, uuid.uuid4()
    reports = [
        delivery(cid, nid, "queued", 1, attempts=0),
        delivery(cid, nid, "sent", 2, attempts=1),
        delivery(cid, nid, "queued", 2, attempts=1, reason="isv.BUSINESS_LIMIT_CONTROL"),
        delivery(cid, nid, "sent", 3, attempts=2),
        delivery(cid, nid, "delivered", 3, attempts=2),
    ]
    rng = random.Random(3)
    for _ in range(20):
        shuffled = [*case, *reports]
        rng.shuffle(shuffled)
        (message,) = _state(shuffled).messages
        assert (message.status, message.attempts, message.provider_message_id) == ("delivered", 2, "vendor-1")


async def test_reports_before_their_case_make_no_case_and_any_batching_gives_the_same_tables() -> None:
    case = case_events(1)
    cid = case[0].complaint_id
    incident = uuid.uuid4()  # a staff notice about an incident is keyed by the incident's id
    reports = [
        delivery(cid, uuid.uuid4(), "sent", 1),
        delivery(cid, uuid.uuid4(), "delivered", 2, template="interim_reply"),
        delivery(incident, uuid.uuid4(), "delivered", 1, template="escalation", kind="staff", channel="console"),
    ]
    early = InMemoryTransactions()
    await project_through(early, reports)
    assert early.tables.cases == {} and early.tables.kpi_rollup == {}, "nothing to derive from delivery reports alone"

    await project_through(early, case)
    assert set(early.tables.cases) == {cid}, "no phantom case for the incident's notice"
    messages = early.tables.cases[cid]["messages"]
    assert sorted(m["status"] for m in messages) == ["delivered", "sent"]

    at_once = InMemoryTransactions()
    await project_through(at_once, [*case, *reports])
    rng = random.Random(5)
    for _ in range(5):
        shuffled = [*case, *reports]
        rng.shuffle(shuffled)
        piecewise = InMemoryTransactions()
        for start in range(0, len(shuffled), 2):
            await project_through(piecewise, shuffled[start : start + 2])
        assert piecewise.tables.cases == at_once.tables.cases == early.tables.cases
        assert piecewise.tables.kpi_rollup == at_once.tables.kpi_rollup == early.tables.kpi_rollup
    messaged = COUNTERS.index("messaged")
    all_row = next(v for (dim, _, _), v in at_once.tables.kpi_rollup.items() if dim == "all")
    assert (all_row[messaged], all_row[messaged + 1]) == (1, 1)


def test_the_timeline_shows_each_message_once_where_it_was_requested_with_its_latest_status() -> None:
    case = case_events(1)
    cid, nid = case[0].complaint_id, uuid.uuid4()
    steps = (("queued", 30, 0), ("sent", 31, 1), ("delivered", 200, 1))
    reports = [delivery(cid, nid, s, m, attempts=a, requested=30) for s, m, a in steps]
    _, entries = sort_events([*case, *reports])
    rows = [
        {"event_id": e.event_id, "event_type": e.event_type, "occurred_at": e.occurred_at, "payload": e.payload}
        for e in entries
    ]
    lines = one_line_per_message(sorted(rows, key=lambda r: (r["occurred_at"], str(r["event_id"]))))
    deliveries = [line for line in lines if line["event_type"] == "notification.delivery"]
    assert len(deliveries) == 1 and deliveries[0]["payload"]["status"] == "delivered"
    assert deliveries[0]["occurred_at"] == T0 + timedelta(minutes=30), "placed when it was requested"
    types = [line["event_type"] for line in lines]
    assert (
        types.index("workorder.acknowledged") < types.index("notification.delivery") < types.index("workorder.resolved")
    )
    assert len(lines) == len(case) - 1 + 1  # the contact is never on a timeline


def test_the_reach_rate_is_null_when_no_message_was_due() -> None:
    empty = dict.fromkeys((*COUNTERS, "handling_ms"), 0)
    assert kpi_figures(KpiGroup("total", empty, {}))["message_reach_rate"] is None
    some = empty | {"messaged": 4, "reached_by_message": 3}
    figures = kpi_figures(KpiGroup("total", some, {}))
    assert (figures["messaged"], figures["reached_by_message"], figures["message_reach_rate"]) == (4, 3, 0.75)
