"""Dashboard KPI queries over 1,000,000 cases: incremental tables vs scanning the cases.

    .venv/bin/python -m bench.reporting_kpis [--cases 1000000] [--runs 40]

Starts its own embedded Postgres (a temporary folder, removed afterwards), loads N cases spread over
a year into reporting's read model — the case rows and the incremental KPI, handling-time and hotspot
tables they imply, built with the product's own `contribution()` — then times the dashboard's queries
(the same functions the API calls) and, as the baseline measured in the same run, the same KPIs
computed by scanning the cases table. Prints one table of p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from embedded.postgres import EmbeddedPostgres
from services.reporting.case_state import COUNTERS, CaseState, contribution
from services.reporting.model import HotspotRules, Period
from services.reporting.repository import ReadModels
from services.reporting.rollups import DIMENSIONS
from services.reporting.views import ReportViews
from shared.db import snapshots
from shared.migrations import apply

TZ = ZoneInfo("Asia/Shanghai")
REPORTING_MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "reporting" / "migrations"
DEPARTMENTS = {
    "repair": ["heating_temperature", "equipment_fault", "outage", "safety_hazard"],
    "billing": ["billing"],
    "customer_service": ["service_attitude", "consultation", "other"],
}
CHANNELS = ["phone", "web", "app", "wechat", "counter", "email", "partner_12345", "partner_95598"]
DISTRICTS = [f"district-{i:02d}" for i in range(12)]


def synthetic_case(rng: random.Random, now: datetime) -> tuple[CaseState, dict[str, object] | None]:
    department = rng.choices(list(DEPARTMENTS), weights=[6, 2, 2])[0]
    accepted = now - timedelta(seconds=rng.randrange(365 * 86400))
    state = CaseState(
        complaint_id=str(uuid.uuid4()),
        reference_no=f"TS-{accepted:%Y%m%d}-{rng.randrange(10**6):06d}",
        account_no=f"HT-{rng.randrange(300_000):06d}",
        channel=rng.choice(CHANNELS),
        district=rng.choice(DISTRICTS),
        accepted_at=accepted,
        category=rng.choice(DEPARTMENTS[department]),
        department=department,
        severity=rng.choices(["normal", "serious", "emergency"], weights=[7, 2, 1])[0],
        cycle=1,
    )
    state.kpi_department, state.kpi_category = department, state.category
    state.acknowledge_by = accepted + timedelta(hours=2)
    state.resolve_by = accepted + timedelta(hours=48)
    resolved = rng.random() < 0.9 or accepted < now - timedelta(days=3)
    hours = rng.lognormvariate(2.3, 1.0)
    state.counters = {
        "received": 1,
        "routed": 1,
        "acknowledged": 1,
        "acknowledged_in_time": int(rng.random() < 0.93),
        "resolved": int(resolved),
        "resolved_in_time": int(resolved and hours <= 48),
        "callbacks_done": int(resolved and rng.random() < 0.95),
        "satisfied": 0,
        "dissatisfied": 0,
        "reopened": 0,
        "closed": 0,
    }
    if resolved:
        state.handling_hours = hours
        state.first_resolved_at = accepted + timedelta(hours=hours)
        if state.counters["callbacks_done"]:
            happy = rng.random() < 0.88
            state.counters["satisfied" if happy else "dissatisfied"] = 1
            state.counters["reopened" if not happy else "closed"] = 1
        state.status = state.work_order_status = "resolved"
    else:
        state.status = state.work_order_status = "acknowledged"
    return state, contribution(state, TZ)


async def load(dsn: str, n: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply(conn, REPORTING_MIGRATIONS, "reporting")
        rng = random.Random(42)
        now = datetime.now(UTC)
        kpi: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0] * (len(COUNTERS) + 1))
        handling: dict[tuple[object, ...], int] = defaultdict(int)
        hotspots: dict[tuple[object, ...], int] = defaultdict(int)
        chunk: list[tuple[object, ...]] = []
        columns = [
            "complaint_id",
            "reference_no",
            "account_no",
            "channel",
            "district",
            "accepted_at",
            "category",
            "department",
            "severity",
            "status",
            "cycle",
            "work_order_status",
            "acknowledge_by",
            "resolve_by",
            "first_resolved_at",
            "reopen_count",
            "escalation_level",
        ]
        for i in range(n):
            s, c = synthetic_case(rng, now)
            chunk.append(
                (
                    uuid.UUID(s.complaint_id),
                    f"{s.reference_no}-{i}",
                    s.account_no,
                    s.channel,
                    s.district,
                    s.accepted_at,
                    s.category,
                    s.department,
                    s.severity,
                    s.status,
                    s.cycle,
                    s.work_order_status,
                    s.acknowledge_by,
                    s.resolve_by,
                    s.first_resolved_at,
                    0,
                    0,
                )
            )
            assert c is not None
            key = c["key"]
            day = date.fromisoformat(key[0])
            for dimension, index in DIMENSIONS:
                rollup = (dimension, day, key[index] if index is not None else "*")
                row = kpi[rollup]
                for j, name in enumerate(COUNTERS):
                    row[j] += c["counters"][name]
                row[-1] += c["handling_ms"]
                if c["bucket"] is not None:
                    handling[(*rollup, c["bucket"])] += 1
            hotspots[(datetime.fromisoformat(c["hour"]), key[4], key[2])] += 1
            if len(chunk) == 50_000:
                await conn.copy_records_to_table("cases", schema_name="reporting", columns=columns, records=chunk)
                chunk = []
        if chunk:
            await conn.copy_records_to_table("cases", schema_name="reporting", columns=columns, records=chunk)
        await conn.copy_records_to_table(
            "kpi_rollup",
            schema_name="reporting",
            columns=["dimension", "day", "key", *COUNTERS, "handling_ms"],
            records=[(*k, *v) for k, v in kpi.items()],
        )
        await conn.copy_records_to_table(
            "kpi_rollup_handling",
            schema_name="reporting",
            columns=["dimension", "day", "key", "bucket", "n"],
            records=[(*k, v) for k, v in handling.items()],
        )
        await conn.copy_records_to_table(
            "hotspot_hourly",
            schema_name="reporting",
            columns=["hour", "district", "category", "n"],
            records=[(*k, v) for k, v in hotspots.items()],
        )
        await conn.execute("ANALYZE")
        print(
            f"loaded {n:,} cases: {len(kpi):,} KPI rows, {len(handling):,} histogram rows, "
            f"{len(hotspots):,} hotspot rows"
        )
    finally:
        await conn.close()


SCAN_KPIS = """
SELECT {g} AS key, count(*) AS received, count(first_resolved_at) AS resolved,
       count(*) FILTER (WHERE first_resolved_at <= resolve_by) AS resolved_in_time,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_resolved_at - accepted_at)) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_resolved_at - accepted_at)) AS p90
FROM reporting.cases WHERE accepted_at >= $1 AND accepted_at < $2 GROUP BY 1"""


async def timed(runs: int, call: object) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


async def measure(dsn: str, runs: int) -> list[tuple[str, str, float, float]]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    reports = ReportViews(
        queries=ReadModels(pool),
        snapshots=snapshots(pool, ReadModels),
        clock=lambda: now,
        timezone=TZ,
        contact_roles=frozenset(),
        hotspot_rules=HotspotRules(),
    )
    results = []
    try:
        for days in (30, 365):
            start = today - timedelta(days=days - 1)
            for group in ("department", "category", "channel", "district", "day"):
                label = f"KPIs {days}d by {group}"
                p50, p95 = await timed(runs, lambda g=group, s=start: reports.kpis(g, Period(s, today)))
                results.append((label, "incremental tables", p50, p95))
            since = datetime.combine(start, datetime.min.time(), TZ)
            until = datetime.combine(today + timedelta(days=1), datetime.min.time(), TZ)
            sql = SCAN_KPIS.format(g="department")
            p50, p95 = await timed(max(3, runs // 8), lambda q=sql, a=since, b=until: pool.fetch(q, a, b))
            results.append((f"KPIs {days}d by department", "baseline: scan cases", p50, p95))
        p50, p95 = await timed(runs, lambda: reports.hotspots(24, 7))
        results.append(("hotspots 24h vs 7d", "incremental tables", p50, p95))
        p50, p95 = await timed(runs, lambda: reports.queues())
        results.append(("open/overdue per department", "cases (partial index)", p50, p95))
        p50, p95 = await timed(runs, lambda: reports.overdue(None, page=1, page_size=20))
        results.append(("overdue list, first page", "cases (partial index)", p50, p95))
    finally:
        await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="uc-bench-"))
    postgres = EmbeddedPostgres(folder / "postgres", durable=False)
    postgres.start()
    try:
        started = time.monotonic()
        asyncio.run(load(postgres.dsn, args.cases))
        print(f"load took {time.monotonic() - started:.0f}s")
        rows = asyncio.run(measure(postgres.dsn, args.runs))
    finally:
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{'query':34} {'source':24} {'p50 ms':>8} {'p95 ms':>8}")
    print("-" * 78)
    for label, source, p50, p95 in rows:
        print(f"{label:34} {source:24} {p50:8.1f} {p95:8.1f}")
    worst = max(p95 for _, source, _, p95 in rows if source != "baseline: scan cases")
    print(f"\ndashboard queries: worst p95 {worst:.1f} ms (goal 50 ms) over {args.cases:,} cases")


if __name__ == "__main__":
    main()
