"""The reads of figures: department queues and overdue work orders, KPIs (from the incremental rollups), hotspots,
timeliness of what fell due in a period, incidents and outage notices, repeat complainants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Literal

from services.reporting.case_parts import SCORES
from services.reporting.kpis import IncidentSums, KpiGroup
from services.reporting.model import OPEN_WORK_ORDER_STATUSES, AreaCounts, AssetCounts, GroupBy
from services.reporting.repository.sql import OPEN_WORK_ORDERS, SUMMED, CaseRow, Tables
from services.reporting.timeliness import DueSums

#: The key of a due-in-the-period group (timeliness, callback coverage) per grouping; by day it is the local
#: day it fell due (`$4`, the time zone).
_DUE_KEYS: dict[str, str] = {
    "department": "c.kpi_department",
    "category": "c.kpi_category",
    "channel": "c.channel",
    "district": "c.district",
}

#: A case's KPI group key per grouping, read off its contribution (`case_state.contribution`: the cohort's day,
#: department, category, channel, district), as the rollups are keyed.
_COHORT_KEYS: dict[str, str] = {
    "day": "c.contribution -> 'key' ->> 0",
    "department": "c.contribution -> 'key' ->> 1",
    "category": "c.contribution -> 'key' ->> 2",
    "channel": "c.contribution -> 'key' ->> 3",
    "district": "c.contribution -> 'key' ->> 4",
    "total": "'total'",
}

#: An incident's KPI group key per grouping (see `model.INCIDENT_GROUPINGS`).
_INCIDENT_KEYS: dict[str, str] = {
    "department": "department",
    "category": "category",
    "district": "district",
    "day": "to_char(opened_day, 'YYYY-MM-DD')",
}

_INCIDENT_SUMS = (
    "count(*) AS incidents, count(resolved_at) AS resolved, "
    "count(*) FILTER (WHERE resolved_at <= resolve_by) AS resolved_in_time, "
    "coalesce(sum(households), 0) AS households"
)

#: Timeliness counts of a group of cases (`timeliness.due_outcome`, `$3` = now).
_DUE_CASES = (
    "count(*) FILTER (WHERE c.resolved_in_time) AS in_time, "
    "count(*) FILTER (WHERE NOT c.resolved_in_time) AS late, "
    "count(*) FILTER (WHERE c.resolved_in_time IS NULL AND c.due_at <= $3) AS open_overdue"
)

#: Coverage counts of a group of callbacks (`timeliness.callback_outcome`, `$3` = now), attempts and the survey.
_DUE_CALLBACKS = (
    "count(*) FILTER (WHERE b.outcome IN ('satisfied', 'dissatisfied')) AS completed, "
    "count(*) FILTER (WHERE b.outcome = 'unreachable' AND b.final) AS unreachable, "
    "count(*) FILTER (WHERE (b.outcome IS NULL OR (b.outcome = 'unreachable' AND NOT b.final)) AND b.due_at <= $3) "
    "AS missed, "
    "coalesce(sum(b.attempts), 0) AS attempts, "
    + ", ".join(f"coalesce(sum(b.score_{n}), 0) AS {n}_sum, count(b.score_{n}) AS {n}_n" for n in SCORES)
)


class FigureReads(Tables):
    """What the KPI, queue, hotspot, incident and outage reports read."""

    async def queues(self, now: datetime) -> list[Mapping[str, Any]]:
        """Per department: its open work orders (each part of a coordinated case in its own department's queue,
        and an incident's own work order in its department's), and how many are past their resolve deadline."""
        return await self._fetch(
            "SELECT o.department, count(*) AS open, count(*) FILTER (WHERE o.resolve_by < $2) AS overdue "
            f"FROM ({OPEN_WORK_ORDERS.format(schema=self.schema)}) o "
            "GROUP BY o.department ORDER BY o.department",
            list(OPEN_WORK_ORDER_STATUSES),
            now,
        )

    async def overdue(
        self, now: datetime, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]:
        """Open work orders past their resolve deadline, the longest overdue first, and how many there are: one
        row per work order (a coordinated case's assisting part in its own department's list, and still there
        after its lead is resolved; an incident's own work order, `kind` incident), with its case's fields."""
        open_orders = OPEN_WORK_ORDERS.format(schema=self.schema)
        where = "o.resolve_by < $2 AND ($3::text IS NULL OR o.department = $3)"
        args = (list(OPEN_WORK_ORDER_STATUSES), now, department)
        rows = await self._fetch(
            f"SELECT * FROM ({open_orders}) o WHERE {where} "
            "ORDER BY o.resolve_by, o.complaint_id, o.work_order_id LIMIT $4 OFFSET $5",
            *args,
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM ({open_orders}) o WHERE {where}", *args)
        return rows, total

    async def kpi_groups(self, group_by: GroupBy, first: date, last: date) -> list[KpiGroup]:
        """The cases received from `first` to `last` (local days, inclusive), grouped, in key order. Reads
        only the rollup of the requested dimension ("all" by day for the trend)."""
        by_day = group_by == "day"
        key = "to_char(day, 'YYYY-MM-DD')" if by_day else "key"
        dimension = "all" if by_day else group_by
        sums = ", ".join(f"sum({c})::bigint AS {c}" for c in SUMMED)
        rows = await self._fetch(
            f"SELECT {key} AS key, {sums} FROM {self.schema}.kpi_rollup "
            "WHERE dimension = $1 AND day BETWEEN $2 AND $3 GROUP BY 1 ORDER BY 1",
            dimension,
            first,
            last,
        )
        buckets = await self._fetch(
            f"SELECT {key} AS key, bucket, sum(n)::bigint AS n FROM {self.schema}.kpi_rollup_handling "
            "WHERE dimension = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2",
            dimension,
            first,
            last,
        )
        histograms: dict[str, dict[int, int]] = defaultdict(dict)
        for r in buckets:
            histograms[r["key"]][r["bucket"]] = r["n"]
        return [KpiGroup(r["key"], {c: r[c] or 0 for c in SUMMED}, histograms.get(r["key"], {})) for r in rows]

    async def kpi_total(self, first: date, last: date) -> KpiGroup:
        """All cases received from `first` to `last`, as one group keyed "total"."""
        sums = ", ".join(f"sum({c})::bigint AS {c}" for c in SUMMED)
        row = await self._fetchrow(
            f"SELECT {sums} FROM {self.schema}.kpi_rollup WHERE dimension = 'all' AND day BETWEEN $1 AND $2",
            first,
            last,
        )
        buckets = await self._fetch(
            f"SELECT bucket, sum(n)::bigint AS n FROM {self.schema}.kpi_rollup_handling "
            "WHERE dimension = 'all' AND day BETWEEN $1 AND $2 GROUP BY 1",
            first,
            last,
        )
        sums_found = {c: (row[c] or 0) if row else 0 for c in SUMMED}
        return KpiGroup("total", sums_found, {r["bucket"]: r["n"] for r in buckets})

    async def ack_overdue(
        self, group_by: GroupBy | Literal["total"], since: datetime, until: datetime, now: datetime
    ) -> dict[str, int]:
        """Per group, the cases received in [since, until) that were routed and whose first acknowledgement is
        still missing with their acknowledge deadline passed at `now` (`kpis.kpi_figures`: due, against the rate)."""
        rows = await self._fetch(
            f"SELECT {_COHORT_KEYS[group_by]} AS key, count(*) AS n FROM {self.schema}.cases c "
            "WHERE c.accepted_at >= $1 AND c.accepted_at < $2 AND c.acknowledge_by <= $3 "
            "AND c.contribution -> 'counters' ->> 'routed' = '1' "
            "AND c.contribution -> 'counters' ->> 'acknowledged' = '0' GROUP BY 1",
            since,
            until,
            now,
        )
        return {r["key"]: r["n"] for r in rows if r["key"] is not None}

    async def area_counts(self, baseline_start: datetime, window_start: datetime, now: datetime) -> list[AreaCounts]:
        """District x category cases from the hour `window_start` falls in up to `now`, and in the hours
        from `baseline_start` up to it."""
        rows = await self._fetch(
            "SELECT district, category, "
            "sum(n) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz)) AS current, "
            "sum(n) FILTER (WHERE hour < date_trunc('hour', $1::timestamptz)) AS before, "
            "min(hour) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz) AND n > 0) AS since "
            f"FROM {self.schema}.hotspot_hourly WHERE hour >= date_trunc('hour', $2::timestamptz) AND hour <= $3 "
            "GROUP BY district, category",
            window_start,
            baseline_start,
            now,
        )
        return [AreaCounts(r["district"], r["category"], r["current"] or 0, r["before"] or 0, r["since"]) for r in rows]

    async def asset_counts(self, baseline_start: datetime, window_start: datetime, now: datetime) -> list[AssetCounts]:
        """Cases per asset, in the window and in the baseline hours before it (as `area_counts`)."""
        rows = await self._fetch(
            "SELECT asset_type, asset_id, "
            "sum(n) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz)) AS current, "
            "sum(n) FILTER (WHERE hour < date_trunc('hour', $1::timestamptz)) AS before, "
            "min(hour) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz) AND n > 0) AS since "
            f"FROM {self.schema}.hotspot_asset_hourly WHERE hour >= date_trunc('hour', $2::timestamptz) "
            "AND hour <= $3 GROUP BY asset_type, asset_id",
            window_start,
            baseline_start,
            now,
        )
        return [
            AssetCounts(r["asset_type"], r["asset_id"], r["current"] or 0, r["before"] or 0, r["since"]) for r in rows
        ]

    async def incidents(self, status: str | None, *, limit: int, offset: int) -> tuple[list[Mapping[str, Any]], int]:
        """Incidents (with `status`, or all), the most recently opened first, and how many there are."""
        return await self._page("incidents", status, "opened_at DESC NULLS LAST, incident_id", limit, offset)

    async def outages(self, status: str | None, *, limit: int, offset: int) -> tuple[list[Mapping[str, Any]], int]:
        """Outage notices (with `status`, or all), the latest start first, and how many there are."""
        return await self._page("outages", status, "starts_at DESC, outage_id", limit, offset)

    async def _page(
        self, table: str, status: str | None, order: str, limit: int, offset: int
    ) -> tuple[list[Mapping[str, Any]], int]:
        where = "$1::text IS NULL OR status = $1"
        rows = await self._fetch(
            f"SELECT * FROM {self.schema}.{table} WHERE {where} ORDER BY {order} LIMIT $2 OFFSET $3",
            status,
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM {self.schema}.{table} WHERE {where}", status)
        return rows, total

    async def incident_groups(self, group_by: GroupBy, first: date, last: date) -> dict[str, IncidentSums]:
        """The incidents opened from `first` to `last` (local days), grouped as the KPI rows are."""
        key = _INCIDENT_KEYS[group_by]
        rows = await self._fetch(
            f"SELECT {key} AS key, {_INCIDENT_SUMS} FROM {self.schema}.incidents "
            "WHERE opened_day BETWEEN $1 AND $2 GROUP BY 1",
            first,
            last,
        )
        return {r["key"]: _incident_sums(r) for r in rows}

    async def incident_total(self, first: date, last: date) -> IncidentSums:
        row = await self._fetchrow(
            f"SELECT {_INCIDENT_SUMS} FROM {self.schema}.incidents WHERE opened_day BETWEEN $1 AND $2", first, last
        )
        return _incident_sums(row)

    async def repeat_complainants(self, since: datetime, min_cases: int) -> list[Mapping[str, Any]]:
        """Accounts with at least `min_cases` cases accepted since `since`, the most first (at most 200)."""
        return await self._fetch(
            f"SELECT account_no, count(*) AS cases, max(accepted_at) AS last_at FROM {self.schema}.cases "
            "WHERE account_no IS NOT NULL AND accepted_at >= $1 GROUP BY account_no HAVING count(*) >= $2 "
            "ORDER BY count(*) DESC, account_no LIMIT 200",
            since,
            min_cases,
        )

    async def due_groups(
        self, group_by: GroupBy, since: datetime, until: datetime, now: datetime, timezone: str
    ) -> dict[str, DueSums]:
        """Timeliness and callback coverage of the cases and callbacks due in [since, until), grouped like
        the KPI rows (by day: the local day it fell due), counted as `timeliness` rules at `now`."""
        by_day = group_by not in _DUE_KEYS
        zone = [timezone] if by_day else []  # $4, only where a key needs it
        case_key = "to_char(c.due_at AT TIME ZONE $4, 'YYYY-MM-DD')" if by_day else _DUE_KEYS[group_by]
        callback_key = "to_char(b.due_at AT TIME ZONE $4, 'YYYY-MM-DD')" if by_day else _DUE_KEYS[group_by]
        cases = await self._fetch(
            f"SELECT {case_key} AS key, {_DUE_CASES} FROM {self.schema}.cases c "
            "WHERE c.due_at >= $1 AND c.due_at < $2 GROUP BY 1",
            since,
            until,
            now,
            *zone,
        )
        callbacks = await self._fetch(
            f"SELECT {callback_key} AS key, {_DUE_CALLBACKS} FROM {self.schema}.callbacks b "
            f"JOIN {self.schema}.cases c USING (complaint_id) "
            "WHERE b.due_at >= $1 AND b.due_at < $2 GROUP BY 1",
            since,
            until,
            now,
            *zone,
        )
        return _due_sums(cases, callbacks)

    async def due_total(self, since: datetime, until: datetime, now: datetime) -> DueSums:
        cases = await self._fetch(
            f"SELECT 'total' AS key, {_DUE_CASES} FROM {self.schema}.cases c WHERE c.due_at >= $1 AND c.due_at < $2",
            since,
            until,
            now,
        )
        callbacks = await self._fetch(
            f"SELECT 'total' AS key, {_DUE_CALLBACKS} FROM {self.schema}.callbacks b "
            "WHERE b.due_at >= $1 AND b.due_at < $2",
            since,
            until,
            now,
        )
        return _due_sums(cases, callbacks).get("total", DueSums())


def _due_sums(cases: list[Mapping[str, Any]], callbacks: list[Mapping[str, Any]]) -> dict[str, DueSums]:
    found: dict[str | None, DueSums] = {}
    for r in cases:
        found[r["key"]] = DueSums(in_time=r["in_time"], late=r["late"], open_overdue=r["open_overdue"])
    for r in callbacks:
        base = found.get(r["key"], DueSums())
        scores = tuple((n, r[f"{n}_sum"], r[f"{n}_n"]) for n in SCORES)
        found[r["key"]] = replace(
            base,
            callbacks_completed=r["completed"],
            callbacks_unreachable=r["unreachable"],
            callbacks_missed=r["missed"],
            callback_attempts=r["attempts"],
            scores=scores,
        )
    # A case received before its "received" event reached reporting has no channel yet: in the totals only.
    return {k: sums for k, sums in found.items() if k is not None and (sums.due or sums.callbacks_due)}


def _incident_sums(row: Mapping[str, Any] | None) -> IncidentSums:
    if row is None:
        return IncidentSums()
    return IncidentSums(row["incidents"], row["resolved"], row["resolved_in_time"], row["households"])
