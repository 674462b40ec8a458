"""What the bench reads from the platform, server-side, and the ceilings measured on the same broker and database.

Progress is one small query over the services' own tables (no watcher consumer on Kafka, no per-id lookups), a
second apart unless it grows costly (`POLL_SHARE`); its backend's CPU is reported, so that it is not billed to
Postgres. A complaint is *decided* when dispatch has its case (routed, in triage, linked, joined, invalid or settled
on contact: each outcome stores the case in the same transaction), *has its clocks* when followup holds every work
order dispatch opened, and is *visible* when reporting's case has left the `received` state.
Latencies come afterwards from the rows' own timestamps: intake's `accepted_at` → dispatch's work order
`created_at` (routed) or `triage_since` (in triage).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

try:
    from shared.kafka.security import client_options
except ImportError:  # a base tree from before issue 25 (bench/compare.sh): its broker is plaintext

    def client_options() -> dict[str, object]:  # type: ignore[misc]
        return {}


PROGRESS_SQL = """
SELECT (SELECT count(*) FROM intake.complaints) AS accepted,
       (SELECT count(*) FROM dispatch.cases) AS decided,
       (SELECT count(*) FROM dispatch.cases WHERE triage_since IS NOT NULL AND triaged_at IS NULL) AS triage,
       (SELECT count(*) FROM dispatch.work_orders) AS orders,
       (SELECT count(*) FROM followup.work_orders) AS clocks,
       (SELECT count(*) FROM reporting.cases WHERE status <> 'received') AS visible
"""


@dataclass(frozen=True)
class Progress:
    accepted: int
    decided: int
    triage: int
    orders: int
    clocks: int
    visible: int

    def done(self, expected: int) -> bool:
        """Every one of `expected` complaints decided, with its clocks, and visible in reporting."""
        return (
            self.accepted >= expected
            and self.decided >= expected
            and self.clocks >= self.orders
            and self.visible >= expected
        )

    def left(self, expected: int) -> int:
        """How far from `done(expected)`: the largest of the stages' shortfalls."""
        return max(
            expected - self.accepted, expected - self.decided, self.orders - self.clocks, expected - self.visible
        )

    def line(self) -> str:
        return (
            f"accepted {self.accepted:,}  decided {self.decided:,} (triage {self.triage:,})  orders "
            f"{self.orders:,}  clocks {self.clocks:,}  visible {self.visible:,}"
        )


async def progress(conn: asyncpg.Connection) -> Progress:
    return Progress(**dict(await conn.fetchrow(PROGRESS_SQL)))


#: Between two progress polls the bench waits at least this many times the poll's own time while the end is far off:
#: the counts scan whole tables, and at 100,000 complaints a poll took up to 360 ms, so polled every second they took a
#: sixth of a core from the platform they measure (and were billed to Postgres).
POLL_SHARE = 20


class Waited(NamedTuple):
    state: Progress
    #: The wall time `done(expected)` was first seen (None: timed out).
    done: float | None
    #: CPU seconds the progress queries cost Postgres (their backend's), to take out of Postgres's figure.
    probe_cpu_s: float


async def wait_done(dsn: str, expected: int, patience: float, every: float = 1.0) -> Waited:
    """Poll until `done(expected)`. Every `every` seconds while a poll is cheap; once it is not, less often while much
    is left, and every `every` seconds again as the end nears (the time left, at the pace of the last polls, under
    twice the wait), so the moment it is done is still seen within about `every`."""
    conn = await asyncpg.connect(dsn)
    backend = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
    try:
        deadline = time.monotonic() + patience
        last: tuple[float, int] | None = None
        while True:
            polled = time.monotonic()
            state = await progress(conn)
            took, now = time.monotonic() - polled, time.monotonic()
            print(f"\r  {state.line()}", end="", flush=True)
            if state.done(expected) or now > deadline:
                print()
                return Waited(state, time.time() if state.done(expected) else None, _cpu_s(backend))
            left = state.left(expected)
            wait = every
            if took * POLL_SHARE > every and last is not None and last[1] > left:
                eta = left * (now - last[0]) / (last[1] - left)
                wait = min(took * POLL_SHARE, max(every, eta / 2))
            last = (now, left)
            await asyncio.sleep(wait)
    finally:
        await conn.close()


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def latencies(dsn: str, since: float) -> dict[str, list[float]]:
    """accepted → routed and accepted → in triage (ms) of the complaints accepted since `since`, from the rows'
    server-side timestamps."""
    conn = await asyncpg.connect(dsn)
    try:
        after = datetime.fromtimestamp(since, UTC)
        routed = await conn.fetch(
            "SELECT extract(epoch FROM w.created_at - i.accepted_at) * 1000 AS ms FROM intake.complaints i "
            "JOIN dispatch.work_orders w USING (complaint_id) WHERE w.cycle = 1 AND i.accepted_at >= $1",
            after,
        )
        triage = await conn.fetch(
            "SELECT extract(epoch FROM d.triage_since - i.accepted_at) * 1000 AS ms FROM intake.complaints i "
            "JOIN dispatch.cases d USING (complaint_id) WHERE d.triage_since IS NOT NULL AND i.accepted_at >= $1",
            after,
        )
        return {"routed": [float(r["ms"]) for r in routed], "triage": [float(r["ms"]) for r in triage]}
    finally:
        await conn.close()


async def exactness(dsn: str, accepted: int) -> str:
    """Lost and doubled: accepted (202) but not in intake, and work orders doubled for one complaint's cycle."""
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM intake.complaints")
        doubled = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM dispatch.work_orders GROUP BY complaint_id, cycle "
            "HAVING count(*) > 1) d"
        )
        return f"{max(accepted - stored, 0)} / {doubled}"
    finally:
        await conn.close()


def pct(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100)[q - 1]


def percentiles(values: list[float]) -> str:
    parts = [pct(values, q) for q in (50, 95, 99)]
    return " / ".join("-" if p is None else f"{p:,.0f}" for p in parts) + f" ms (n={len(values):,})"


async def raw_hop(bootstrap: str, n: int = 30_000) -> float:
    """Ceiling: consume n records from one topic and produce each to another, batched, idempotent producer."""
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=True)
    await producer.start()
    # Two dead-letter topics nothing else touches during the bench (the broker does not auto-create topics).
    source, sink = "ingress.department-updates.dlq", "complaint.contact.dlq"
    payload = b"x" * 700
    try:
        await asyncio.gather(*[await producer.send(source, payload, key=str(i).encode()) for i in range(n)])
        consumer = AIOKafkaConsumer(
            source,
            **client_options(),
            bootstrap_servers=bootstrap,
            group_id=f"hop-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        started, moved = time.monotonic(), 0
        try:
            while moved < n:
                batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
                sent = [await producer.send(sink, r.value, key=r.key) for rs in batch.values() for r in rs]
                await asyncio.gather(*sent)
                await consumer.commit()
                moved += len(sent)
        finally:
            await consumer.stop()
        return n / (time.monotonic() - started)
    finally:
        await producer.stop()


async def pg_inserts(dsn: str, n: int = 20_000) -> dict[str, float]:
    """Ceiling: rows/s of one transaction inserting n complaint-sized rows, by executemany and by COPY."""
    rows = [
        (uuid.uuid4(), f"HT-{i:06d}", "web", "heping", "家里暖气不热，室温只有16度。" * 2, datetime.now(UTC))
        for i in range(n)
    ]
    ddl = (
        "CREATE TEMP TABLE bench_rows (id uuid PRIMARY KEY, account text, channel text, district text, "
        "text text, at timestamptz)"
    )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(ddl)
        result = {}
        for how in ("executemany", "copy"):
            await conn.execute("TRUNCATE bench_rows")
            started = time.monotonic()
            async with conn.transaction():
                if how == "copy":
                    await conn.copy_records_to_table("bench_rows", records=rows)
                else:
                    await conn.executemany("INSERT INTO bench_rows VALUES ($1, $2, $3, $4, $5, $6)", rows)
            result[how] = n / (time.monotonic() - started)
        return result
    finally:
        await conn.close()


async def batch_records(urls: list[str]) -> dict[str, tuple[float, float]]:
    """Each consumer's handled batches and their records so far (`kafka_consumer_batch_records`, from the services'
    `/metrics`, read with prometheus-client's own parser); a service that does not answer (stopped) or predates the
    histogram adds nothing."""
    found: dict[str, list[float]] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for url in urls:
            try:
                text = (await client.get(f"{url}/metrics")).text
            except httpx.HTTPError:
                continue
            for family in text_string_to_metric_families(text):
                if family.name != "kafka_consumer_batch_records":
                    continue
                for sample in family.samples:
                    kind = sample.name.removeprefix(family.name)
                    if kind in ("_count", "_sum"):
                        counts = found.setdefault(sample.labels["consumer"], [0.0, 0.0])
                        counts[kind == "_sum"] += sample.value
    return {consumer: (batches, records) for consumer, (batches, records) in found.items()}


def batch_fill(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> str:
    """Records per handled batch over the window, per consumer with any, most batches first."""
    window = {
        consumer: (batches - before.get(consumer, (0.0, 0.0))[0], records - before.get(consumer, (0.0, 0.0))[1])
        for consumer, (batches, records) in after.items()
    }
    shown = sorted(((c, b, r) for c, (b, r) in window.items() if b > 0), key=lambda item: -item[1])
    return "; ".join(f"{c} {r / b:.1f} ({b:,.0f} batches)" for c, b, r in shown) or "no batch handled"
