"""The rules behind the reports: periods, hotspots, KPI shares, overdue minutes, rollup changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.reporting.case_state import COUNTERS
from services.reporting.kpis import KpiGroup, kpi_figures, with_ack_overdue
from services.reporting.model import (
    MAX_PERIOD_DAYS,
    AreaCounts,
    HotspotRules,
    InvalidPeriod,
    Period,
    overdue_minutes,
    reporting_period,
    score_hotspots,
)
from services.reporting.rollups import RollupDeltas

TODAY = date(2026, 11, 23)


def test_a_period_not_given_is_the_30_days_up_to_today() -> None:
    assert reporting_period(TODAY, None, None) == Period(date(2026, 10, 25), TODAY)
    assert reporting_period(TODAY, None, date(2026, 1, 31)) == Period(date(2026, 1, 2), date(2026, 1, 31))
    assert reporting_period(TODAY, TODAY, None) == Period(TODAY, TODAY)
    longest = TODAY - timedelta(days=MAX_PERIOD_DAYS)
    assert reporting_period(TODAY, longest, None) == Period(longest, TODAY)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (date(2026, 11, 24), TODAY, "after to"),
        (TODAY - timedelta(days=MAX_PERIOD_DAYS + 1), TODAY, "period too long"),
        (None, date(1, 1, 1), "too early"),
    ],
)
def test_periods_refused(start: date | None, end: date, reason: str) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        reporting_period(TODAY, start, end)
    assert refused.value.field_message == reason


def test_hotspots_surge_against_the_baseline_and_rank_surges_first() -> None:
    counts = [
        AreaCounts("tiexi", "billing", current=4, before=0),  # steep, but a handful: no surge
        AreaCounts("heping", "outage", current=12, before=14),  # 7 days of 24 h windows: baseline 2
        AreaCounts("shenhe", "outage", current=3, before=21),  # below its baseline of 3
        AreaCounts("dadong", "other", current=0, before=70),  # nothing in the window: not listed
    ]
    found = score_hotspots(counts, window_hours=24, baseline_days=7, rules=HotspotRules(surge_ratio=3, min_count=5))
    assert [(h.district, h.baseline, h.ratio, h.surge) for h in found] == [
        ("heping", 2.0, 6.0, True),
        ("tiexi", 0.0, 4.0, False),  # a baseline below one case counts as one
        ("shenhe", 3.0, 1.0, False),
    ]


def test_kpi_shares_are_null_without_a_denominator() -> None:
    sums = dict.fromkeys((*COUNTERS, "handling_ms"), 0) | {"received": 2, "routed": 2, "acknowledged": 1}
    figures = kpi_figures(KpiGroup("repair", sums, {}))
    assert figures["ack_in_time_rate"] == 0.0
    assert figures["timeliness_rate"] is None and figures["handling_mean_hours"] is None
    assert figures["handling_median_hours"] is None


def test_acknowledgement_in_time_is_over_the_acknowledgements_that_fell_due() -> None:
    """Issue 24: routed this morning, none acknowledged yet and no deadline passed — nothing due, so no rate (the
    dashboard's "—"), not a red 0 %. An acknowledgement missing past its deadline counts against it."""
    sums = dict.fromkeys((*COUNTERS, "handling_ms"), 0) | {"received": 3, "routed": 3}
    assert kpi_figures(KpiGroup("repair", sums, {}))["ack_in_time_rate"] is None
    sums |= {"acknowledged": 1, "acknowledged_in_time": 1}
    assert kpi_figures(KpiGroup("repair", sums, {}))["ack_in_time_rate"] == 1.0  # the third is not due yet
    assert kpi_figures(KpiGroup("repair", sums, {}, ack_overdue=1))["ack_in_time_rate"] == 0.5
    grouped = with_ack_overdue([KpiGroup("repair", sums, {}), KpiGroup("billing", sums, {})], {"billing": 2})
    assert [g.ack_overdue for g in grouped] == [0, 2]


def test_satisfaction_counts_only_callbacks_with_a_verdict() -> None:
    sums = dict.fromkeys((*COUNTERS, "handling_ms"), 0) | {
        "resolved": 4,
        "resolved_in_time": 3,
        "callbacks_done": 4,
        "satisfied": 2,
        "dissatisfied": 1,  # the fourth callback did not reach the customer
        "handling_ms": 4 * 3_600_000 * 5,
    }
    figures = kpi_figures(KpiGroup("total", sums, {}))
    assert figures["satisfaction_rate"] == 0.6667
    assert figures["handling_mean_hours"] == 5.0


def test_overdue_minutes_are_whole_minutes_past_the_deadline() -> None:
    deadline = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert overdue_minutes(deadline + timedelta(minutes=90, seconds=59), deadline) == 90


def test_a_case_moving_between_rows_moves_its_count() -> None:
    """A reclassified case takes its count out of the old department's row and into the new one's."""

    def contribution(department: str) -> dict[str, object]:
        return {
            "key": ["2026-11-23", department, "outage", "phone", "heping"],
            "counters": dict.fromkeys(COUNTERS, 0) | {"received": 1},
            "handling_ms": 0,
            "bucket": None,
            "hour": "2026-11-23T01:00:00+00:00",
        }

    deltas = RollupDeltas()
    deltas.add(contribution("repair"), -1)
    deltas.add(contribution("billing"), +1)
    changed = {(dimension, key): row[0] for dimension, _day, key, *row in deltas.kpi_rows()}
    assert changed == {("department", "repair"): -1, ("department", "billing"): 1}
    assert deltas.hotspot_rows() == []  # same hour, district and category: nothing to write
