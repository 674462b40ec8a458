"""The handling rules in reporting's pure code: how a case counts in timeliness and a callback in coverage at
report time, first-contact resolution over valid complaints only, and what a case derives from the new events
(owner, invalid and overturned, settled at first contact, coordinated parts, root cause, corrective actions)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.reporting.case_parts import corrective_action_overdue
from services.reporting.case_state import COUNTERS, TimelineEvent, contribution, derive
from services.reporting.handling_reports import serious_csv_rows, staff_rows
from services.reporting.kpis import KpiGroup, kpi_figures, with_due
from services.reporting.schemas import SeriousCaseRead
from services.reporting.timeliness import DueSums, callback_outcome, due_outcome
from shared.contracts import ComplaintRouted, Event, WorkOrderAcknowledged, new_event
from tests.fakes.reporting import InMemoryTransactions
from tests.support.reporting_events.handling import Scripted, events, period_script
from tests.unit.reporting.door import project_through

CN = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(hours=8)
EMPTY = dict.fromkeys((*COUNTERS, "handling_ms"), 0)


def test_a_case_counts_in_timeliness_by_its_deadline_and_the_report_time() -> None:
    before, after = DEADLINE - timedelta(minutes=1), DEADLINE + timedelta(minutes=1)
    assert due_outcome(DEADLINE, True, before) == "in_time"  # resolved early: counted even before its deadline
    assert due_outcome(DEADLINE, False, after) == "late"
    assert due_outcome(DEADLINE, None, after) == "open_overdue"  # still open past it: against timeliness
    assert due_outcome(DEADLINE, None, DEADLINE) == "open_overdue"  # the deadline itself has passed
    assert due_outcome(DEADLINE, None, before) == "not_due"  # open, not due yet: not counted


def test_timeliness_is_in_time_over_everything_due_open_overdue_included() -> None:
    figures = kpi_figures(KpiGroup("repair", EMPTY, {}, due=DueSums(in_time=6, late=2, open_overdue=2)))
    assert (figures["due"], figures["due_in_time"], figures["due_open_overdue"]) == (10, 6, 2)
    assert figures["timeliness_rate"] == 0.6  # 6 / 10, where counting only resolved cases would say 6 / 8
    assert kpi_figures(KpiGroup("repair", EMPTY, {}))["timeliness_rate"] is None  # nothing due: no data


def test_a_callback_counts_in_coverage_only_when_it_reached_the_customer() -> None:
    due, before, after = DEADLINE, DEADLINE - timedelta(hours=1), DEADLINE + timedelta(hours=1)
    assert callback_outcome(due, "satisfied", True, before) == "completed"
    assert callback_outcome(due, "dissatisfied", True, after) == "completed"
    assert callback_outcome(due, "unreachable", True, before) == "unreachable"  # closed: counted, not covered
    assert callback_outcome(due, "unreachable", False, after) == "missed"  # a retry pending past its due time
    assert callback_outcome(due, "unreachable", False, before) == "not_due"
    assert callback_outcome(due, None, False, after) == "missed"
    assert callback_outcome(due, None, False, before) == "not_due"
    sums = DueSums(callbacks_completed=7, callbacks_unreachable=1, callbacks_missed=2, callback_attempts=12)
    figures = kpi_figures(KpiGroup("total", EMPTY, {}, due=sums))
    assert (figures["callbacks_due"], figures["callback_attempts"], figures["callback_coverage"]) == (10, 12, 0.7)


def test_survey_scores_are_averaged_with_their_counts() -> None:
    sums = DueSums(scores=(("supply", 13, 3), ("attitude", 9, 2), ("speed", 0, 0), ("billing", 1, 1)))
    figures = kpi_figures(KpiGroup("total", EMPTY, {}, due=sums))
    assert (figures["score_supply"], figures["score_supply_n"]) == (4.33, 3)
    assert (figures["score_speed"], figures["score_speed_n"]) == (None, 0)
    assert figures["score_billing"] == 1.0


def test_first_contact_rate_is_over_valid_complaints_and_invalid_ones_count_apart() -> None:
    sums = EMPTY | {"received": 10, "invalid": 2, "resolved_on_contact": 2, "resolved": 4, "reopened": 1}
    figures = kpi_figures(KpiGroup("phone", sums, {}))
    assert (figures["valid"], figures["invalid"], figures["first_contact_rate"]) == (8, 2, 0.25)
    assert figures["reopen_rate"] == round(1 / 6, 4)  # settled: 4 resolved + 2 at first contact


def test_groups_with_something_due_but_nothing_received_get_a_row() -> None:
    groups = with_due([KpiGroup("repair", EMPTY | {"received": 1}, {})], {"billing": DueSums(late=1)})
    assert [(g.key, g.due.due) for g in groups] == [("repair", 0), ("billing", 1)]


def test_a_corrective_action_is_overdue_past_its_deadline_unless_done_by_it() -> None:
    assert corrective_action_overdue(DEADLINE, None, DEADLINE + timedelta(seconds=1))
    assert not corrective_action_overdue(DEADLINE, None, DEADLINE - timedelta(seconds=1))
    assert not corrective_action_overdue(DEADLINE, DEADLINE - timedelta(hours=1), DEADLINE + timedelta(days=3))
    assert corrective_action_overdue(DEADLINE, DEADLINE + timedelta(hours=1), DEADLINE + timedelta(days=3))


def _timeline(case: Scripted, extra: list[Event] | None = None) -> list[TimelineEvent]:
    return [
        TimelineEvent(str(e.event_id), e.event_type, e.occurred_at, e.model_dump(mode="json")["payload"])
        for e in [*events(case, T0), *(extra or [])]
    ]


def _script(n: int) -> Scripted:
    return next(c for c in period_script() if c.n == n)


def test_a_coordinated_case_is_resolved_only_when_its_last_part_is() -> None:
    case = _script(10)
    timeline = _timeline(case)
    lead_done = [e for e in timeline if e.occurred_at <= T0 + timedelta(hours=5)]
    partial = derive(str(case.complaint_id), lead_done)
    assert partial.status == "in_progress" and partial.first_resolved_at is None
    assert partial.resolved_in_time is None and partial.counters["resolved"] == 0
    whole = derive(str(case.complaint_id), timeline)
    assert whole.status == "resolved" and whole.first_resolved_at == T0 + timedelta(hours=8.5)
    assert whole.resolved_in_time is False and whole.due_at == DEADLINE  # held to the lead's deadline
    assert [(w.role, w.department, w.case_resolved) for w in whole.work_orders] == [
        ("lead", "repair", False),
        ("assisting", "billing", True),
    ]
    assert (whole.root_cause, whole.root_cause_zh) == ("repair.pipe_burst", "管道破裂")  # the lead's
    assert whole.cause_analysis == {"summary": "corroded main under the compound", "analysed_by": "leadership"}
    assert [(a.status, a.completed_at is not None) for a in whole.corrective_actions] == [
        ("done", True),
        ("open", False),
    ]
    rng = random.Random(13)
    for _ in range(20):
        shuffled = timeline[:]
        rng.shuffle(shuffled)
        assert derive(str(case.complaint_id), shuffled) == whole


def test_an_invalid_complaint_counts_apart_until_a_supervisor_overturns_it() -> None:
    case = _script(12)
    invalid = derive(str(case.complaint_id), _timeline(case))
    assert (invalid.status, invalid.invalid, invalid.invalid_reason, invalid.owner) == (
        "invalid",
        True,
        "outside the service area",
        "agent-a",
    )
    c = contribution(invalid, CN)
    assert c is not None and c["key"][1] == "customer_service"  # who explains it to the customer
    assert c["counters"]["invalid"] == 1 and c["counters"]["routed"] == 0 and invalid.due_at is None
    overturned = derive(str(case.complaint_id), _timeline(case, [_routed(case, T0 + timedelta(hours=1))]))
    assert (overturned.status, overturned.invalid, overturned.due_at) == ("assigned", False, T0 + timedelta(hours=9))
    c = contribution(overturned, CN)
    assert c is not None and c["key"][1] == "repair" and c["counters"]["invalid"] == 0 and c["counters"]["routed"] == 1


def test_a_complaint_settled_at_first_contact_has_no_clock_and_is_called_back() -> None:
    case = _script(14)
    settled = derive(str(case.complaint_id), _timeline(case))
    assert (settled.status, settled.resolved_on_contact, settled.handled_on_contact) == (
        "resolved",
        True,
        "explained the tariff",
    )
    assert settled.due_at is None and settled.work_order_id is None and settled.owner == "agent-a"
    counters = settled.counters
    assert (counters["resolved_on_contact"], counters["resolved"], counters["callbacks_done"]) == (1, 0, 1)
    (callback,) = settled.callbacks
    assert (callback.outcome, callback.agent, callback.score_attitude) == ("satisfied", "agent-c", 5)


def test_a_first_contact_resolution_reopened_into_a_work_order_no_longer_counts_as_one() -> None:
    case = _script(14)
    reopened = derive(str(case.complaint_id), _timeline(case, [_routed(case, T0 + timedelta(hours=7))]))
    assert (reopened.resolved_on_contact, reopened.counters["resolved_on_contact"]) == (False, 0)
    assert reopened.due_at == T0 + timedelta(hours=15)  # now held to its work order's deadline
    assert reopened.handled_on_contact == "explained the tariff"  # what was said on the call stays on record


def test_the_owner_is_who_took_it_else_its_work_orders_owner() -> None:
    assert derive(str(_script(1).complaint_id), _timeline(_script(1))).owner == "agent-a"
    assert derive(str(_script(2).complaint_id), _timeline(_script(2))).owner == "desk-1"
    assert derive(str(_script(5).complaint_id), _timeline(_script(5))).owner is None


def test_nobody_took_it_so_the_first_to_acknowledge_its_work_order_owns_it() -> None:
    """A web, app or partner complaint: `workorder.acknowledged` v2 names the department that signed first."""
    web = _script(7)
    timeline = _timeline(web)
    assigned = derive(str(web.complaint_id), [e for e in timeline if e.event_type != "workorder.acknowledged"])
    assert assigned.owner is None
    assert derive(str(web.complaint_id), timeline).owner == "repair-desk-3"
    # Once someone owns it, a later signature (another part, another cycle) does not take it over.
    taken = _script(1)
    later = _acknowledged(taken, T0 + timedelta(hours=3), owner="billing-desk-9")
    assert derive(str(taken.complaint_id), _timeline(taken, [later])).owner == "agent-a"


async def test_the_script_projects_the_same_whatever_the_batching() -> None:
    published = [e for case in period_script() for e in events(case, T0)]
    at_once = InMemoryTransactions()
    await project_through(at_once, published)
    shuffled = published[:]
    random.Random(5).shuffle(shuffled)
    piecewise = InMemoryTransactions()
    for start in range(0, len(shuffled), 7):
        await project_through(piecewise, shuffled[start : start + 7])
    assert piecewise.tables.cases == at_once.tables.cases
    assert piecewise.tables.kpi_rollup == at_once.tables.kpi_rollup


def test_staff_rows_join_the_three_counts_and_rate_only_verdicts() -> None:
    rows = staff_rows(
        [{"staff_id": "b", "cases_owned": 3, "first_contact_resolutions": 1}],
        [{"staff_id": "a", "callbacks_done": 2}],
        [
            {"staff_id": "b", "satisfied": 1, "dissatisfied": 1, "unreachable": 4}
            | {"score_supply_sum": 7, "score_supply_n": 2}
        ],
    )
    assert [(r.staff_id, r.cases_owned, r.callbacks_done) for r in rows] == [("a", 0, 2), ("b", 3, 0)]
    assert (rows[1].satisfaction_rate, rows[1].score_supply, rows[1].score_speed) == (0.5, 3.5, None)
    assert rows[0].satisfaction_rate is None


def test_the_serious_csv_has_a_line_per_action_and_one_for_a_case_without() -> None:
    base = {
        "complaint_id": uuid.uuid4(),
        "reference_no": "TS-1",
        "category": "safety_hazard",
        "department": "repair",
        "severity": "emergency",
        "district": "heping",
        "status": "resolved",
        "accepted_at": T0,
        "first_resolved_at": None,
        "closed_at": None,
        "owner": None,
        "cause_analysis": None,
        "root_cause": None,
        "root_cause_zh": None,
        "root_cause_en": None,
        "root_cause_note": None,
        "escalations": [],
    }
    action = {
        "action_id": uuid.uuid4(),
        "work_order_id": None,
        "department": "repair",
        "description": "d",
        "owner": "o",
        "deadline": DEADLINE,
        "status": "open",
        "set_by": "l",
        "set_at": T0,
        "completed_at": None,
        "outcome": None,
        "overdue": True,
    }
    cases = [
        SeriousCaseRead.model_validate(base | {"corrective_actions": []}),
        SeriousCaseRead.model_validate(base | {"reference_no": "TS-2", "corrective_actions": [action, action]}),
    ]
    lines = serious_csv_rows(cases)
    assert [(line.reference_no, line.action_owner, line.action_overdue) for line in lines] == [
        ("TS-1", None, None),
        ("TS-2", "o", True),
        ("TS-2", "o", True),
    ]


def _routed(case: Scripted, at: datetime) -> Event:
    """A supervisor's overturn: the complaint is routed after all (reason `reclassified`)."""

    deadlines = {
        "starts_at": at,
        "acknowledge_by": at + timedelta(minutes=30),
        "on_site_by": None,
        "resolve_by": at + timedelta(hours=8),
        "interim_reply_by": None,
        "callback_limit": "24h",
        "policy_id": "script",
    }
    payload = {
        "complaint_id": case.complaint_id,
        "reference_no": case.reference_no,
        "work_order_id": case.work_order_id,
        "cycle": 1,
        "department": "repair",
        "category": "equipment_fault",
        "severity": "normal",
        "priority": 3,
        "valid": True,
        "invalid_reason": None,
        "reasons": ["overturned"],
        "deadlines": deadlines,
        "channel": case.channel,
        "district": case.district,
        "account_no": None,
        "routed_at": at,
        "reason": "reclassified",
        "previous_work_order_id": None,
    }
    return new_event(
        ComplaintRouted,
        complaint_id=case.complaint_id,
        payload=payload,
        producer="test",
        correlation_id="c",
        occurred_at=at,
    )


def _acknowledged(case: Scripted, at: datetime, *, owner: str) -> Event:
    """Another work order of the case signed for, its payload naming `owner`."""
    payload = {
        "work_order_id": case.assisting_work_order_id,
        "complaint_id": case.complaint_id,
        "reference_no": case.reference_no,
        "department": "billing",
        "cycle": 1,
        "status": "acknowledged",
        "actor": "billing",
        "at": at,
        "owner": owner,
    }
    return new_event(
        WorkOrderAcknowledged,
        complaint_id=case.complaint_id,
        payload=payload,
        producer="test",
        correlation_id="c",
        occurred_at=at,
    )
