"""One fault, many callers, as reporting derives it: callers joined to an incident or outage notice (told the
ETA, resolved when the fault is fixed, called back on their own), a merged caller, the incident's own clock
and escalations kept out of the cases, and the KPIs counting each incident once."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.reporting.case_state import COUNTERS, TimelineEvent, contribution, derive
from services.reporting.handling_reports import serious_csv_rows, serious_incident
from services.reporting.incident_handling import incident_handling
from services.reporting.incident_state import derive_incident, sla_outcome
from services.reporting.kpis import IncidentSums, KpiGroup, kpi_figures, with_incidents
from services.reporting.model import (
    AssetCounts,
    HotspotRules,
    TimelineEntry,
    score_asset_hotspots,
    sort_events,
    subject_of,
)
from services.reporting.rollups import ALL
from services.reporting.timeliness import DueSums, callback_outcome
from shared.contracts import Event
from tests.fakes.reporting import InMemoryTransactions, ReadModelTables
from tests.support.reporting_events.incidents import CAUSE_ANALYSIS, FEEDER, PUMP, STATION, Storm, storm
from tests.unit.reporting.door import project_through

CN = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def timeline_of(events: list[Event], key: uuid.UUID) -> list[TimelineEvent]:
    """A subject's events as the store hands them to the derivation."""
    _, entries = sort_events(e for e in events if e.complaint_id == key)
    return [TimelineEvent(str(e.event_id), e.event_type, e.occurred_at, e.payload) for e in entries]


async def projected(events: list[Event]) -> ReadModelTables:
    tx = InMemoryTransactions()
    await project_through(tx, events)
    return tx.tables


def test_a_joined_caller_is_told_the_eta_resolved_when_the_fault_is_fixed_and_closed() -> None:
    s = storm(T0)
    second = s.callers[1]
    events = timeline_of(s.events, second.complaint_id)
    types = [e.event_type for e in sorted(events, key=lambda e: e.sort_key)]
    assert types == [
        "complaint.received",
        "complaint.joined",
        "complaint.eta_changed",
        "complaint.fault_fixed",
        "callback.scheduled",
        "callback.attempted",
    ]
    joined = derive(str(second.complaint_id), events[:2])
    assert joined.status == "joined" and joined.incident_id == str(s.incident_id) and joined.outage_id is None
    assert joined.eta == s.at(220)  # as told when joining: opened at 40 + 180 min
    assert joined.work_order_id == str(s.incident_wo) and joined.work_order_status is None  # in no queue
    assert joined.resolve_by is None and joined.first_resolved_at is None

    moved = derive(str(second.complaint_id), events[:3])
    assert moved.status == "joined" and moved.eta == s.at(320)

    fixed = derive(str(second.complaint_id), events)
    assert fixed.status == "resolved" and fixed.first_resolved_at == s.at(300) and fixed.eta == s.at(320)
    assert (fixed.asset_type, fixed.asset_id) == (STATION["type"], STATION["id"])
    c = contribution(fixed, CN)
    assert c is not None and c["key"] == ["2026-11-23", "repair", "heating_temperature", "phone", "heping"]
    assert c["counters"] == dict.fromkeys(COUNTERS, 0) | {
        "received": 1,
        "fixed_with_group": 1,  # resolved with the incident: never late or in time on the incident's clock
        "callbacks_done": 1,  # but called back like anyone
        "dissatisfied": 1,
    }
    assert c["handling_ms"] == 0 and c["bucket"] is None

    first = derive(str(s.callers[0].complaint_id), timeline_of(s.events, s.callers[0].complaint_id))
    assert first.status == "closed" and first.close_outcome == "satisfied"


def test_a_merged_caller_keeps_its_own_routing_but_leaves_the_queue() -> None:
    s = storm(T0)
    first = s.callers[0]
    state = derive(str(first.complaint_id), timeline_of(s.events, first.complaint_id))
    assert state.incident_id == str(s.incident_id)
    assert state.work_order_id == str(s.incident_wo) and state.work_order_status is None  # its own is merged
    assert state.acknowledge_by is None and state.resolve_by is None  # the incident's clock applies now
    assert (state.asset_type, state.asset_id) == (STATION["type"], STATION["id"])  # not the building it named
    c = contribution(state, CN)
    assert c is not None
    counters = c["counters"]
    assert (counters["routed"], counters["acknowledged"], counters["acknowledged_in_time"]) == (1, 1, 1)
    assert (counters["resolved"], counters["resolved_in_time"], counters["fixed_with_group"]) == (0, 0, 1)
    assert counters["closed"] == 1 and counters["satisfied"] == 1


async def test_the_incidents_own_events_and_escalations_make_no_case() -> None:
    s = storm(T0)
    tables = await projected(s.events)
    callers = {c.complaint_id for c in [*s.callers, *s.outage_callers]}
    assert set(tables.cases) == callers
    assert not any(str(row["reference_no"]).startswith(("INC-", "OUT-")) for row in tables.cases.values())
    incident = tables.incidents[s.incident_id]
    assert incident["reference_no"] == s.incident_ref and incident["status"] == "resolved"
    assert (incident["escalations"], incident["escalation_level"], incident["sla_warnings"]) == (1, 1, 1)
    assert (incident["households"], incident["complaint_count"]) == (3, 3)
    assert (incident["asset_type"], incident["asset_id"], incident["family"]) == (*STATION.values(), "no_heat")
    assert incident["opened_at"] == s.at(40) and incident["opened_day"].isoformat() == "2026-11-23"
    assert incident["resolve_by"] == s.resolve_by and incident["resolved_at"] == s.at(300)
    assert incident["work_order_status"] == "resolved" and incident["eta"] == s.at(320)
    assert sla_outcome(s.at(1000), incident["resolve_by"], incident["resolved_at"]) == "breached"


async def test_a_serious_incident_has_its_cause_actions_and_escalations_for_the_leadership_report() -> None:
    """An incident's resolution at serious severity, its corrective actions and their escalations travel keyed and
    referenced as the incident: they make no case, and the leadership report reads them from its timeline."""
    s = storm(T0)
    done = s.corrective_action(1, 300, "service every station pump", deadline=2000, completed=1500)
    late = s.corrective_action(2, 300, "fit a standby pump", deadline=600)
    tables = await projected(s.events)
    assert s.incident_id not in tables.cases and set(tables.cases) == {
        c.complaint_id for c in [*s.callers, *s.outage_callers]
    }
    row = tables.incidents[s.incident_id]
    handling = incident_handling(str(s.incident_id), str(s.incident_wo), timeline_of(s.events, s.incident_id))
    assert handling.cause_analysis == {"summary": CAUSE_ANALYSIS, "analysed_by": "repair-lead"}
    assert (handling.root_cause, handling.root_cause_en, handling.root_cause_note) == (
        PUMP["code"],
        PUMP["label_en"],
        "bearing worn out",
    )
    assert [(a.action_id, a.status, a.completed_at) for a in handling.corrective_actions] == [
        (str(late), "open", None),  # nearest deadline first
        (str(done), "done", s.at(1500)),
    ]
    assert [(e["stage"], e["corrective_action_id"]) for e in handling.escalations] == [
        ("resolve", None),
        ("corrective_action", str(late)),
    ]
    read = serious_incident(row, handling, s.at(700))
    assert (read.kind, read.reference_no, read.severity, read.households) == ("incident", s.incident_ref, "serious", 3)
    assert (read.accepted_at, read.first_resolved_at, read.status) == (s.at(40), s.at(300), "resolved")
    assert [(a.description, a.overdue) for a in read.corrective_actions] == [
        ("fit a standby pump", True),
        ("service every station pump", False),
    ]
    assert [e.escalated_to for e in read.escalations] == ["supervisor", "department_manager"]
    lines = serious_csv_rows([read])
    assert [(line.kind, line.action_description, line.cause_analysis) for line in lines] == [
        ("incident", "fit a standby pump", CAUSE_ANALYSIS),
        ("incident", "service every station pump", CAUSE_ANALYSIS),
    ]
    assert {line.escalations for line in lines} == {2}


async def test_an_open_incident_takes_its_deadline_from_its_work_order() -> None:
    s = storm(T0, resolved=False)
    incident = (await projected(s.events)).incidents[s.incident_id]
    assert incident["status"] == "open" and incident["resolved_at"] is None
    assert incident["resolve_by"] == s.resolve_by and incident["work_order_status"] == "acknowledged"
    assert sla_outcome(s.at(100), incident["resolve_by"], None) == "on_track"
    assert sla_outcome(s.at(300), incident["resolve_by"], None) == "overdue"


async def test_an_outage_caller_has_no_work_order_and_the_notice_its_eta() -> None:
    s = storm(T0)
    tables = await projected(s.events)
    outage = tables.outages[s.outage_id]
    assert (outage["status"], outage["kind"], outage["complaint_count"]) == ("active", "unplanned", 1)
    assert outage["expected_end"] == s.at(400) and (outage["asset_type"], outage["asset_id"]) == tuple(FEEDER.values())
    (caller,) = s.outage_callers
    case = tables.cases[caller.complaint_id]
    assert case["outage_id"] == str(s.outage_id) and case["incident_id"] is None
    assert case["status"] == "joined" and case["eta"] == s.at(400) and case["work_order_id"] is None
    counters = tables.contributions[caller.complaint_id]["counters"]  # type: ignore[index]
    assert counters["received"] == 1 and counters["routed"] == 0  # counted under repair (supply outages)


async def test_kpis_count_callers_once_each_and_the_incident_once() -> None:
    s = storm(T0)
    tables = await projected(s.events)
    (day,) = {day for (_, day, _) in tables.kpi_rollup}
    sums = dict(zip((*COUNTERS, "handling_ms"), tables.kpi_rollup[("all", day, ALL)], strict=True))
    assert sums["received"] == 4  # three callers of the incident, one of the outage notice
    assert (sums["resolved"], sums["resolved_in_time"], sums["fixed_with_group"]) == (0, 0, 3)
    incident = tables.incidents[s.incident_id]
    in_time = int(incident["resolved_at"] <= incident["resolve_by"])
    callers = [tables.cases[c.complaint_id] for c in [*s.callers, *s.outage_callers]]
    assert all(case["due_at"] is None for case in callers)  # no resolve deadline of their own: not in timeliness
    later = s.at(60 * 24 * 3)  # every callback due by now
    counted = Counter(
        callback_outcome(b["due_at"], b["outcome"], b["final"], later) for case in callers for b in case["callbacks"]
    )
    due = DueSums(callbacks_completed=counted["completed"], callbacks_missed=counted["missed"])
    figures = kpi_figures(KpiGroup("total", sums, {}, IncidentSums(1, 1, in_time, incident["households"]), due))
    assert figures["timeliness_rate"] is None  # no case resolved on its own clock: nothing late, nothing in time
    # Two of the three fixed callers' callbacks were scheduled, and both reached the customer (the third is not due).
    assert (figures["callbacks_due"], figures["callbacks_completed"], figures["callback_coverage"]) == (2, 2, 1.0)
    assert figures["satisfaction_rate"] == 0.5
    assert (figures["incidents"], figures["incident_households"], figures["incident_timeliness"]) == (1, 3, 0.0)


def test_incident_figures_join_the_groups_each_once() -> None:
    empty = dict.fromkeys((*COUNTERS, "handling_ms"), 0)
    groups = [KpiGroup("heping", empty | {"received": 3}, {}), KpiGroup("tiexi", empty | {"received": 1}, {})]
    merged = with_incidents(groups, {"heping": IncidentSums(1, 1, 1, 3), "dadong": IncidentSums(2, 0, 0, 40)})
    assert [(g.key, g.incidents) for g in merged] == [
        ("heping", IncidentSums(1, 1, 1, 3)),
        ("tiexi", IncidentSums()),
        ("dadong", IncidentSums(2, 0, 0, 40)),  # incidents but no case received in the period: a row of its own
    ]
    channel = kpi_figures(KpiGroup("phone", empty, {}))  # by channel incidents have no group: null, not 0
    assert channel["incidents"] is None and channel["incident_timeliness"] is None


async def test_hotspots_by_asset_count_the_diagnosed_asset() -> None:
    s = storm(T0)
    tables = await projected(s.events)
    by_asset: dict[tuple[str, str], int] = {}
    for (_, asset_type, asset_id), n in tables.asset_hotspots.items():
        by_asset[(asset_type, asset_id)] = by_asset.get((asset_type, asset_id), 0) + n
    assert by_asset == {tuple(STATION.values()): 3, tuple(FEEDER.values()): 1}
    found = score_asset_hotspots(
        [AssetCounts("heat_exchange_station", "HES-0231", current=6, before=7), AssetCounts("feeder", "F", 1, 0)],
        window_hours=24,
        baseline_days=7,
        rules=HotspotRules(surge_ratio=3, min_count=5),
    )
    assert [(h.asset_id, h.ratio, h.surge) for h in found] == [("HES-0231", 6.0, True), ("F", 1.0, False)]


async def test_any_order_and_batching_give_the_same_read_models() -> None:
    """What a rebuild relies on, now across the incident, outage, work-order and escalation topics too."""
    events = [*storm(T0).events, *storm(T0 + timedelta(hours=2), seed=2, resolved=False).events]
    at_once = await projected(events)
    rng = random.Random(5)
    for _ in range(5):
        shuffled = events[:]
        rng.shuffle(shuffled)
        piecewise = InMemoryTransactions()
        for start in range(0, len(shuffled), 7):
            await project_through(piecewise, shuffled[start : start + 7])
        assert piecewise.tables.cases == at_once.cases
        assert piecewise.tables.incidents == at_once.incidents
        assert piecewise.tables.outages == at_once.outages
        assert piecewise.tables.kpi_rollup == at_once.kpi_rollup
        assert piecewise.tables.asset_hotspots == at_once.asset_hotspots
    again = InMemoryTransactions(at_once)
    assert await project_through(again, events) == 0  # a redelivery changes nothing


def test_which_read_model_an_event_feeds() -> None:
    s = storm(T0)
    _, entries = sort_events(s.events)
    subjects = {(e.event_type, subject_of(e)) for e in entries}
    assert ("workorder.assigned", "incident") in subjects and ("workorder.assigned", "case") not in subjects
    assert ("complaint.escalated", "incident") in subjects and ("complaint.sla_warning", "incident") in subjects
    assert ("workorder.reassigned", "case") in subjects  # the merged caller's own order
    assert {t for t, subject in subjects if subject == "outage"} == {
        "outage.declared",
        "outage.complaint_linked",
        "outage.updated",
    }
    assert {t for t, subject in subjects if t.startswith("complaint.") and subject == "case"} >= {
        "complaint.joined",
        "complaint.eta_changed",
        "complaint.fault_fixed",
        "complaint.received",
    }


def test_a_duplicate_is_resolved_when_its_parent_is_fixed() -> None:
    def ev(n: int, event_type: str, minutes: float, **payload: object) -> TimelineEvent:
        return TimelineEvent(
            f"{n:08d}-0000-0000-0000-000000000000", event_type, T0 + timedelta(minutes=minutes), payload
        )

    parent = str(uuid.UUID(int=1))
    events = [
        ev(1, "complaint.received", 0, reference_no="TS-1", channel="app", text="t", accepted_at=T0.isoformat(),
           customer={"account_no": "A1"}, location={"district": "heping", "address": "a"}),
        ev(2, "complaint.linked", 1, linked_to_complaint_id=parent, category="billing", department="billing"),
        ev(3, "complaint.fault_fixed", 90, linked_to_complaint_id=parent, department="billing", category="billing",
           fixed_at=(T0 + timedelta(minutes=90)).isoformat()),
        ev(4, "complaint.something_new", 95, whatever=True),  # a later event type: ignored, not a crash
    ]  # fmt: skip
    state = derive("dup", events)
    assert state.status == "resolved" and state.linked_to == parent
    assert state.first_resolved_at == T0 + timedelta(minutes=90)
    c = contribution(state, CN)
    assert c is not None and c["counters"]["fixed_with_group"] == 1 and c["counters"]["resolved"] == 0


def test_an_incident_without_its_own_events_yet_is_not_derived() -> None:
    """Its work order's events may arrive before incident.opened (another topic): no row until then."""
    s = Storm(T0)
    s.open_incident(0, [], merged={})
    work_order_only = [e for e in s.events if e.event_type.startswith("workorder.")]
    assert derive_incident(str(s.incident_id), timeline_of(work_order_only, s.incident_id), CN) is None
    assert derive_incident(str(s.incident_id), timeline_of(s.events, s.incident_id), CN) is not None


def test_sla_outcomes() -> None:
    deadline = T0 + timedelta(hours=4)
    assert sla_outcome(T0, None, None) == "unknown"
    assert sla_outcome(T0, deadline, deadline) == "met"
    assert sla_outcome(T0, deadline, deadline + timedelta(seconds=1)) == "breached"
    assert sla_outcome(deadline, deadline, None) == "on_track"
    assert sla_outcome(deadline + timedelta(minutes=1), deadline, None) == "overdue"


def _entry(topic: str, payload: dict[str, object]) -> TimelineEntry:
    return TimelineEntry(uuid.uuid4(), uuid.uuid4(), "x", T0, topic, payload)


def test_subject_rule_on_bare_entries() -> None:
    assert subject_of(_entry("incident.events", {})) == "incident"
    assert subject_of(_entry("outage.events", {"reference_no": "OUT-1"})) == "outage"
    assert subject_of(_entry("workorders.repair", {"reference_no": "INC-20261123-ABC"})) == "incident"
    assert subject_of(_entry("workorders.repair", {"reference_no": "TS-20261123-000001"})) == "case"
    assert subject_of(_entry("callback.events", {})) == "case"
