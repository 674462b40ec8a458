"""How case contributions turn into changes of the incremental tables (KPI rollups, handling-time
histogram, hourly hotspot counts per district x category and per asset).

A re-derived case takes its previous contribution back (-1) and adds its new one (+1); the sums of those
changes over a batch are what one upsert per table applies. Rows that end at zero are deleted by the
repository, so the tables hold only what the events imply and a rebuild yields the same rows.
A contribution saved before a counter or the asset existed reads as zero / no asset.
A case not routed yet (`case_state.UNROUTED_CATEGORY`) has no category: it is in the KPIs' `received` and in its
asset's hotspot counts at once, and in its district x category's once routed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from services.reporting.case_state import COUNTERS, UNROUTED_CATEGORY

#: The dimensions KPIs are rolled up along (with the index of the value in a contribution's key);
#: "all" carries totals and daily trends.
DIMENSIONS: tuple[tuple[str, int | None], ...] = (
    ("department", 1),
    ("category", 2),
    ("channel", 3),
    ("district", 4),
    ("all", None),
)
#: The key of the "all" rollup rows.
ALL = "*"


class RollupDeltas:
    """Sums of contribution changes, keyed by the row they change."""

    def __init__(self) -> None:
        self._kpi: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * (len(COUNTERS) + 1))
        self._handling: dict[tuple[str, str, str, int], int] = defaultdict(int)
        self._hotspots: dict[tuple[str, str, str], int] = defaultdict(int)
        self._assets: dict[tuple[str, str, str], int] = defaultdict(int)

    def add(self, contribution: dict[str, Any] | None, sign: int) -> None:
        """Count a contribution in (`sign` +1) or take it back out (-1); None contributes nothing."""
        if not contribution:
            return
        key = contribution["key"]
        # Only the counters the case has (most are 0), each with its column, worked out once for the five rows.
        counted = contribution["counters"]
        changes = [(i, sign * counted[name]) for i, name in enumerate(COUNTERS) if counted.get(name)]
        handling_ms, bucket = sign * contribution["handling_ms"], contribution["bucket"]
        for dimension, index in DIMENSIONS:
            rollup = (dimension, key[0], key[index] if index is not None else ALL)
            row = self._kpi[rollup]
            for i, change in changes:
                row[i] += change
            row[-1] += handling_ms
            if bucket is not None:
                self._handling[(*rollup, bucket)] += sign
        if key[2] != UNROUTED_CATEGORY:
            self._hotspots[(contribution["hour"], key[4], key[2])] += sign
        if contribution.get("asset"):
            asset_type, asset_id = contribution["asset"]
            self._assets[(contribution["hour"], asset_type, asset_id)] += sign

    def kpi_rows(self) -> list[tuple[Any, ...]]:
        """(dimension, day, key, *COUNTERS, handling_ms) for every rollup row that changes."""
        return [(dim, _day(day), key, *row) for (dim, day, key), row in self._kpi.items() if any(row)]

    def handling_rows(self) -> list[tuple[str, date, str, int, int]]:
        """(dimension, day, key, bucket, change in cases) for every histogram bucket that changes."""
        return [(dim, _day(day), key, bucket, n) for (dim, day, key, bucket), n in self._handling.items() if n]

    def hotspot_rows(self) -> list[tuple[datetime, str, str, int]]:
        """(hour, district, category, change in cases) for every hourly count that changes."""
        return [(datetime.fromisoformat(hour), d, c, n) for (hour, d, c), n in self._hotspots.items() if n]

    def asset_rows(self) -> list[tuple[datetime, str, str, int]]:
        """(hour, asset type, asset id, change in cases) for every hourly asset count that changes."""
        return [(datetime.fromisoformat(hour), t, i, n) for (hour, t, i), n in self._assets.items() if n]


def _day(day: str) -> date:
    return date.fromisoformat(day)
