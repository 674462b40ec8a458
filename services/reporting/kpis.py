"""The KPI formulas: rates, mean handling time and percentiles from summed counters and histograms.

Pure arithmetic over what the rollup tables hold, so a report over a year sums a few thousand rows and
the formulas are tested without a database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.reporting.case_state import HANDLING_BUCKETS_H

#: A KPI row as it is answered and exported, column by column.
KpiFigures = dict[str, str | int | float | None]


@dataclass(frozen=True)
class KpiGroup:
    """Summed counters (see `case_state.COUNTERS`, plus `handling_ms`) and the handling-time histogram
    (bucket → cases) of one group of cases."""

    key: str
    sums: dict[str, int]
    histogram: dict[int, int]


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
    """Every KPI of a group. Timeliness, callback coverage and reopen rate are shares of the resolved
    cases; acknowledgement in time a share of the routed ones; satisfaction of the callbacks that reached
    a verdict (unreachable customers count neither way)."""
    s = group.sums
    return {
        "key": group.key,
        "received": s["received"],
        "routed": s["routed"],
        "resolved": s["resolved"],
        "resolved_in_time": s["resolved_in_time"],
        "timeliness_rate": rate(s["resolved_in_time"], s["resolved"]),
        "acknowledged": s["acknowledged"],
        "acknowledged_in_time": s["acknowledged_in_time"],
        "ack_in_time_rate": rate(s["acknowledged_in_time"], s["routed"]),
        "callbacks_done": s["callbacks_done"],
        "callback_coverage": rate(s["callbacks_done"], s["resolved"]),
        "satisfied": s["satisfied"],
        "dissatisfied": s["dissatisfied"],
        "satisfaction_rate": rate(s["satisfied"], s["satisfied"] + s["dissatisfied"]),
        "reopened": s["reopened"],
        "reopen_rate": rate(s["reopened"], s["resolved"]),
        "closed": s["closed"],
        "handling_mean_hours": round(s["handling_ms"] / s["resolved"] / 3_600_000, 2) if s["resolved"] else None,
        "handling_median_hours": percentile(group.histogram, 0.5),
        "handling_p90_hours": percentile(group.histogram, 0.9),
    }
