"""Read-model queries behind the API: KPIs from the incremental tables, hotspots, queues, archives."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import asyncpg

from services.reporting.case_state import COUNTERS, HANDLING_BUCKETS_H

GroupBy = Literal["department", "category", "channel", "district", "day"]


def _rate(num: int, den: int) -> float | None:
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


def kpi_row(key: str, sums: dict[str, int], histogram: dict[int, int]) -> dict[str, Any]:
    s = sums
    return {
        "key": key,
        "received": s["received"],
        "routed": s["routed"],
        "resolved": s["resolved"],
        "resolved_in_time": s["resolved_in_time"],
        "timeliness_rate": _rate(s["resolved_in_time"], s["resolved"]),
        "acknowledged": s["acknowledged"],
        "acknowledged_in_time": s["acknowledged_in_time"],
        "ack_in_time_rate": _rate(s["acknowledged_in_time"], s["routed"]),
        "callbacks_done": s["callbacks_done"],
        "callback_coverage": _rate(s["callbacks_done"], s["resolved"]),
        "satisfied": s["satisfied"],
        "dissatisfied": s["dissatisfied"],
        "satisfaction_rate": _rate(s["satisfied"], s["satisfied"] + s["dissatisfied"]),
        "reopened": s["reopened"],
        "reopen_rate": _rate(s["reopened"], s["resolved"]),
        "closed": s["closed"],
        "handling_mean_hours": round(s["handling_ms"] / s["resolved"] / 3_600_000, 2) if s["resolved"] else None,
        "handling_median_hours": percentile(histogram, 0.5),
        "handling_p90_hours": percentile(histogram, 0.9),
    }


async def kpis(
    conn: asyncpg.Pool | asyncpg.Connection, schema: str, start: date, end: date, group_by: GroupBy
) -> dict[str, Any]:
    """KPIs of the cases received from `start` to `end` (inclusive, local days), grouped. Reads only the
    rollup of the requested dimension ("all" by day for the trend and the totals)."""
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in (*COUNTERS, "handling_ms"))
    by_day = group_by == "day"
    group = "to_char(day, 'YYYY-MM-DD')" if by_day else "key"
    dimension = "all" if by_day else group_by
    rows = await conn.fetch(
        f"SELECT {group} AS key, {sums} FROM {schema}.kpi_rollup WHERE dimension = $1 AND day BETWEEN $2 AND $3 "
        "GROUP BY 1 ORDER BY 1",
        dimension,
        start,
        end,
    )
    total_row = await conn.fetchrow(
        f"SELECT {sums} FROM {schema}.kpi_rollup WHERE dimension = 'all' AND day BETWEEN $1 AND $2",
        start,
        end,
    )
    hist_rows = await conn.fetch(
        f"SELECT {group} AS key, bucket, sum(n)::bigint AS n FROM {schema}.kpi_rollup_handling "
        "WHERE dimension = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2",
        dimension,
        start,
        end,
    )
    total_hist_rows = await conn.fetch(
        f"SELECT bucket, sum(n)::bigint AS n FROM {schema}.kpi_rollup_handling "
        "WHERE dimension = 'all' AND day BETWEEN $1 AND $2 GROUP BY 1",
        start,
        end,
    )
    histograms: dict[str, dict[int, int]] = {}
    for r in hist_rows:
        histograms.setdefault(r["key"], {})[r["bucket"]] = r["n"]
    names = (*COUNTERS, "handling_ms")
    totals = {c: (total_row[c] or 0) if total_row else 0 for c in names}
    out = [kpi_row(r["key"], {c: r[c] or 0 for c in names}, histograms.get(r["key"], {})) for r in rows]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": group_by,
        "rows": out,
        "totals": kpi_row("total", totals, {r["bucket"]: r["n"] for r in total_hist_rows}),
    }


@dataclass(frozen=True)
class HotspotRules:
    surge_ratio: float = 3.0
    min_count: int = 5


async def hotspots(
    conn: asyncpg.Pool, schema: str, now: datetime, window_hours: int, baseline_days: int, rules: HotspotRules
) -> dict[str, Any]:
    """District x category counts in the last `window_hours` against the average window of the
    `baseline_days` before it; a surge is well above its baseline and not a handful of cases."""
    window_start = now - timedelta(hours=window_hours)
    baseline_start = window_start - timedelta(days=baseline_days)
    rows = await conn.fetch(
        f"SELECT district, category, "
        "sum(n) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz)) AS current, "
        "sum(n) FILTER (WHERE hour < date_trunc('hour', $1::timestamptz)) AS before "
        f"FROM {schema}.hotspot_hourly WHERE hour >= date_trunc('hour', $2::timestamptz) AND hour <= $3 "
        "GROUP BY district, category",
        window_start,
        baseline_start,
        now,
    )
    windows = baseline_days * 24 / window_hours
    out = []
    for r in rows:
        count = r["current"] or 0
        if not count:
            continue
        baseline = round((r["before"] or 0) / windows, 2)
        ratio = round(count / max(baseline, 1.0), 2)
        out.append(
            {
                "district": r["district"],
                "category": r["category"],
                "count": count,
                "baseline": baseline,
                "ratio": ratio,
                "surge": count >= rules.min_count and ratio >= rules.surge_ratio,
            }
        )
    out.sort(key=lambda h: (-h["surge"], -h["ratio"], -h["count"], h["district"], h["category"]))
    return {"window_hours": window_hours, "baseline_days": baseline_days, "rows": out}


CASE_FIELDS = (
    "complaint_id",
    "reference_no",
    "account_no",
    "channel",
    "district",
    "address",
    "category",
    "department",
    "severity",
    "priority",
    "status",
    "cycle",
    "work_order_id",
    "work_order_status",
    "acknowledge_by",
    "resolve_by",
    "linked_to",
    "reopen_count",
    "escalation_level",
    "accepted_at",
    "first_resolved_at",
    "closed_at",
    "close_outcome",
    "name_masked",
    "phone_masked",
    "text",
)
_CASE_SELECT = ", ".join(f"c.{f}" for f in CASE_FIELDS)
_OPEN = ("assigned", "acknowledged", "in_progress")


async def overdue(
    conn: asyncpg.Pool, schema: str, now: datetime, *, department: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Open work orders past their resolve deadline, the longest overdue first."""
    where = "c.work_order_status = ANY($1::text[]) AND c.resolve_by < $2 AND ($3::text IS NULL OR c.department = $3)"
    args = (list(_OPEN), now, department)
    rows = await conn.fetch(
        f"SELECT {_CASE_SELECT} FROM {schema}.cases c WHERE {where} ORDER BY c.resolve_by, c.complaint_id "
        "LIMIT $4 OFFSET $5",
        *args,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM {schema}.cases c WHERE {where}", *args)
    items = [dict(r) | {"overdue_minutes": int((now - r["resolve_by"]).total_seconds() // 60)} for r in rows]
    return items, total


async def queues(conn: asyncpg.Pool, schema: str, now: datetime) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT department, count(*) AS open, count(*) FILTER (WHERE resolve_by < $2) AS overdue "
        f"FROM {schema}.cases WHERE work_order_status = ANY($1::text[]) GROUP BY department ORDER BY department",
        list(_OPEN),
        now,
    )
    return [dict(r) for r in rows]


async def case_by_ref(conn: asyncpg.Pool, schema: str, ref: str) -> dict[str, Any] | None:
    column = "reference_no" if ref.startswith("TS-") else "complaint_id"
    try:
        value: Any = ref if column == "reference_no" else uuid.UUID(ref)
    except ValueError:
        return None
    row = await conn.fetchrow(f"SELECT {_CASE_SELECT} FROM {schema}.cases c WHERE c.{column} = $1", value)
    return dict(row) if row else None


async def timeline(conn: asyncpg.Pool, schema: str, complaint_id: Any) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT event_id, event_type, occurred_at, topic, payload FROM {schema}.timeline WHERE complaint_id = $1 "
        "ORDER BY occurred_at, event_id",
        complaint_id,
    )
    return [dict(r) for r in rows]


async def household(
    conn: asyncpg.Pool, schema: str, account_no: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await conn.fetch(
        f"SELECT {_CASE_SELECT} FROM {schema}.cases c WHERE c.account_no = $1 "
        "ORDER BY c.accepted_at DESC, c.complaint_id LIMIT $2 OFFSET $3",
        account_no,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM {schema}.cases WHERE account_no = $1", account_no)
    return [dict(r) for r in rows], total


async def repeat_complainants(
    conn: asyncpg.Pool, schema: str, now: datetime, days: int, min_cases: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT account_no, count(*) AS cases, max(accepted_at) AS last_at FROM {schema}.cases "
        "WHERE account_no IS NOT NULL AND accepted_at >= $1 GROUP BY account_no HAVING count(*) >= $2 "
        "ORDER BY count(*) DESC, account_no LIMIT 200",
        now - timedelta(days=days),
        min_cases,
    )
    return [dict(r) for r in rows]


async def cases_between(conn: asyncpg.Connection, schema: str, start: datetime, end: datetime) -> Any:
    """Cursor over the cases accepted in a period, for CSV export without loading them all."""
    return conn.cursor(
        f"SELECT {_CASE_SELECT} FROM {schema}.cases c WHERE c.accepted_at >= $1 AND c.accepted_at < $2 "
        "ORDER BY c.accepted_at, c.complaint_id",
        start,
        end,
    )
