"""The KPI formulas: rates, mean handling time and percentiles from summed counters and histograms.

Pure arithmetic over what the rollup tables hold, so a report over a year sums a few thousand rows and
the formulas are tested without a database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from services.reporting.case_state import COUNTERS, HANDLING_BUCKETS_H
from services.reporting.timeliness import DueSums, score_averages

#: A KPI row as it is answered and exported, column by column.
KpiFigures = dict[str, str | int | float | None]


@dataclass(frozen=True)
class IncidentSums:
    """The incidents opened in a group: each counts once, however many callers it has."""

    incidents: int = 0
    resolved: int = 0
    resolved_in_time: int = 0
    households: int = 0


@dataclass(frozen=True)
class KpiGroup:
    """Summed counters (see `case_state.COUNTERS`, plus `handling_ms`) and the handling-time histogram
    (bucket → cases) of one group of cases, and the incidents of the group (None where the grouping does
    not apply to incidents, e.g. by channel)."""

    key: str
    sums: dict[str, int]
    histogram: dict[int, int]
    incidents: IncidentSums | None = None
    due: DueSums = field(default_factory=DueSums)
    #: Routed cases of the group whose first acknowledgement is still missing past its deadline (at report time).
    ack_overdue: int = 0


def with_incidents(groups: list[KpiGroup], incidents: dict[str, IncidentSums]) -> list[KpiGroup]:
    """Each group with the incidents opened in it; a group that had incidents but no case received in the
    period (the callers may have called on another day) still gets its row, after the others, in key order."""
    known = {g.key for g in groups}
    empty = dict.fromkeys((*COUNTERS, "handling_ms"), 0)
    extra = [KpiGroup(key, empty, {}) for key in sorted(incidents.keys() - known)]
    return [replace(g, incidents=incidents.get(g.key, IncidentSums())) for g in [*groups, *extra]]


def with_due(groups: list[KpiGroup], due: dict[str, DueSums]) -> list[KpiGroup]:
    """Each group with what fell due in it (see `timeliness`); a group with something due but no case received
    in the period still gets its row, after the others, in key order."""
    known = {g.key for g in groups}
    empty = dict.fromkeys((*COUNTERS, "handling_ms"), 0)
    extra = [KpiGroup(key, empty, {}) for key in sorted(due.keys() - known)]
    return [replace(g, due=due.get(g.key, DueSums())) for g in [*groups, *extra]]


def with_ack_overdue(groups: list[KpiGroup], overdue: dict[str, int]) -> list[KpiGroup]:
    """Each group with its routed cases still not acknowledged past their deadline (same cohort: no new rows)."""
    return [replace(g, ack_overdue=overdue.get(g.key, 0)) for g in groups]


def rate(num: int, den: int) -> float | None:
    """A share, rounded to 4 places; None when there is nothing to divide by (not 0: "no data")."""
    return round(num / den, 4) if den else None


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile of a bucketed distribution, interpolated linearly inside its bucket."""
    total = sum(histogram.values())
    if not total:
        return None
    target, seen = q * total, 0
    for bucket in sorted(histogram):
        n = histogram[bucket]
        if seen + n >= target:
            upper = HANDLING_BUCKETS_H[bucket]
            lower = HANDLING_BUCKETS_H[bucket - 1] if bucket > 0 else 0.0
            if math.isinf(upper):
                return round(lower, 2)
            return round(lower + (upper - lower) * ((target - seen) / n), 2)
        seen += n
    return None


def kpi_figures(group: KpiGroup) -> KpiFigures:
    """Every KPI of a group. Counters are of the cases received in the period; timeliness and callback coverage
    of what fell due in it (`timeliness`: open overdue cases and missed callbacks count against them). Handling
    time is over the cases resolved on their own clock; reopen rate over every settled case, including callers
    whose fault was fixed with their incident, outage notice or the case they duplicated (`fixed_with_group`) and
    complaints settled at first contact; first-contact resolution a share of the valid complaints (invalid ones
    are counted apart and in no other denominator: they have no work order and no callback); acknowledgement in
    time a share of the acknowledgements that fell due: the routed cases acknowledged, and those still not
    acknowledged past their deadline (one whose deadline has not come is not due: with nothing due the rate is
    null, shown "—", never a red 0 %, issue 24); satisfaction of the callbacks that reached a verdict (unreachable
    customers count neither way); customers reached by message: of the cases with a customer message due (not
    suppressed), those with one delivered. Incident timeliness: the incidents resolved by their deadline, each once."""
    s, due = group.sums, group.due
    settled = s["resolved"] + s["fixed_with_group"] + s["resolved_on_contact"]
    valid = s["received"] - s["invalid"]
    return {
        "key": group.key,
        "received": s["received"],
        "invalid": s["invalid"],
        "valid": valid,
        "resolved_on_contact": s["resolved_on_contact"],
        "first_contact_rate": rate(s["resolved_on_contact"], valid),
        "routed": s["routed"],
        "resolved": s["resolved"],
        "resolved_in_time": s["resolved_in_time"],
        "due": due.due,
        "due_in_time": due.in_time,
        "due_late": due.late,
        "due_open_overdue": due.open_overdue,
        "timeliness_rate": rate(due.in_time, due.due),
        "acknowledged": s["acknowledged"],
        "acknowledged_in_time": s["acknowledged_in_time"],
        "ack_in_time_rate": rate(s["acknowledged_in_time"], s["acknowledged"] + group.ack_overdue),
        "callbacks_done": s["callbacks_done"],
        "fixed_with_group": s["fixed_with_group"],
        "callbacks_due": due.callbacks_due,
        "callbacks_completed": due.callbacks_completed,
        "callbacks_unreachable": due.callbacks_unreachable,
        "callbacks_missed": due.callbacks_missed,
        "callback_attempts": due.callback_attempts,
        "callback_coverage": rate(due.callbacks_completed, due.callbacks_due),
        **score_averages(due),
        "satisfied": s["satisfied"],
        "dissatisfied": s["dissatisfied"],
        "satisfaction_rate": rate(s["satisfied"], s["satisfied"] + s["dissatisfied"]),
        "reopened": s["reopened"],
        "reopen_rate": rate(s["reopened"], settled),
        "closed": s["closed"],
        "messaged": s["messaged"],
        "reached_by_message": s["reached_by_message"],
        "message_reach_rate": rate(s["reached_by_message"], s["messaged"]),
        "on_site": s["on_site"],
        "on_site_in_time": s["on_site_in_time"],
        "on_site_rate": rate(s["on_site_in_time"], s["on_site"]),
        "handling_mean_hours": round(s["handling_ms"] / s["resolved"] / 3_600_000, 2) if s["resolved"] else None,
        "handling_median_hours": percentile(group.histogram, 0.5),
        "handling_p90_hours": percentile(group.histogram, 0.9),
        **_incident_figures(group.incidents),
    }


#: The incident figures of a KPI row (null where a grouping has no incidents, e.g. by channel).
INCIDENT_FIGURES = (
    "incidents",
    "incidents_resolved",
    "incidents_resolved_in_time",
    "incident_timeliness",
    "incident_households",
)


def _incident_figures(sums: IncidentSums | None) -> KpiFigures:
    if sums is None:
        return dict.fromkeys(INCIDENT_FIGURES)
    return {
        "incidents": sums.incidents,
        "incidents_resolved": sums.resolved,
        "incidents_resolved_in_time": sums.resolved_in_time,
        "incident_timeliness": rate(sums.resolved_in_time, sums.resolved),
        "incident_households": sums.households,
    }
