"""Load benchmark of the whole platform: complaints POSTed to intake until routed and visible in reporting.

    .venv/bin/python -m bench.load --rate 200 --seconds 30      # fixed rate
    .venv/bin/python -m bench.load --seconds 60                 # as fast as the platform takes them
    .venv/bin/python -m bench.load --burst 100000               # a burst: everything at once, then drain

Starts the platform the way `make run` does (`python -m embedded`, a temporary data folder), posts
realistic mixed-channel complaints (texts from ../shared/data/complaints_sample.jsonl, varied customers,
districts and times) with a progress line, and prints one table: sustained end-to-end throughput,
latency percentiles (accepted → routed, accepted → visible in reporting), peak RSS of each service, and
— measured in the same run on the same broker — a raw aiokafka consume→produce hop as the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "complaints_sample.jsonl"
CHANNELS = ["phone", "web", "app", "wechat", "counter", "email"]
DISTRICTS = ["heping", "shenhe", "tiexi", "huanggu", "dadong", "hunnan", "yuhong", "sujiatun"]


def texts() -> list[str]:
    if SAMPLE.exists():
        return [json.loads(line)["text"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return ["家里暖气不热，室温只有16度。", "这个月电费账单比上个月多了一倍。", "楼道里有燃气味。"]


def body(rng: random.Random, pool: list[str], channel: str) -> dict[str, Any]:
    return {
        "channel": channel,
        "channel_ticket_id": f"{channel}-{uuid.uuid4().hex[:16]}",
        "received_at": datetime.now(UTC).isoformat(),
        "customer": {
            "account_no": f"HT-{rng.randrange(10**6):06d}",
            "name": "张先生",
            "phone": f"139{rng.randrange(10**8):08d}",
            "preferred_contact": "phone",
        },
        "location": {
            "address": f"{rng.choice(DISTRICTS)}区{rng.randrange(1, 200)}号",
            "district": rng.choice(DISTRICTS),
        },
        "text": rng.choice(pool),
    }


class Platform:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env or {}
        self.workdir = Path(tempfile.mkdtemp(prefix="uc-load-"))
        self.ready = self.workdir / "ready.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def start(self) -> None:
        env = {**os.environ, "PLATFORM_DATA_DIR": str(self.workdir / "data"), "LOG_LEVEL": "WARNING", **self.env}
        for port_env in ("INTAKE_HTTP_PORT", "DISPATCH_HTTP_PORT", "FOLLOWUP_HTTP_PORT", "REPORTING_HTTP_PORT"):
            env.pop(port_env, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "embedded", "--ready-file", str(self.ready)],
            cwd=ROOT,
            env=env,
            stdout=(self.workdir / "runner.out").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("platform did not start: " + (self.workdir / "runner.out").read_text()[-2000:])
            time.sleep(0.2)
        self.info = json.loads(self.ready.read_text())

    def services(self) -> dict[str, psutil.Process]:
        assert self.proc is not None
        found = {}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = " ".join(child.cmdline())
            except psutil.Error:
                continue
            for name in ("intake", "dispatch", "followup", "reporting"):
                if f"services.{name}" in cmd:
                    found[name] = child
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each service, the broker and Postgres (all its backends)."""
        assert self.proc is not None
        used: dict[str, float] = {}
        services = {child.pid: name for name, child in self.services().items()}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                name = services.get(child.pid) or ("broker" if "kafka.Kafka" in child.cmdline() else child.name())
                if name in ("intake", "dispatch", "followup", "reporting", "broker", "postgres"):
                    times = child.cpu_times()
                    # children_*: backends the postmaster already reaped (pool connections recycled in a long run)
                    spent = times.user + times.system + times.children_user + times.children_system
                    used[name] = used.get(name, 0.0) + spent
        return used

    def stop(self) -> None:
        """Stop the platform and delete its data folder (a burst leaves gigabytes of Kafka and Postgres data)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)


def progress(done: int, total: int | None, seconds: float, elapsed: float, accepted: int, retried: int) -> str:
    share = min(1.0, done / total if total else elapsed / seconds if seconds else 1.0)
    bar = "#" * int(share * 30)
    return (
        f"\r  [{bar:<30}] {share:4.0%}  posted {done:>7,}  accepted {accepted:>7,}  retried {retried:>5,}  "
        f"{elapsed:6.1f}s"
    )


async def post_all(
    intake: str,
    total: int | None,
    rate: float | None,
    seconds: float,
    concurrency: int,
    accepted: dict[str, float],
    refused: Counter[int | str] | None = None,
) -> float:
    """Post until `total` were sent or `seconds` passed; a transport error is retried with the same body (its
    channel ticket id makes the retry idempotent), anything but 202 is counted in `refused`."""
    rng, pool = random.Random(), texts()  # fresh accounts every run: a rerun must not be all repeat callers
    headers = {channel: {"X-API-Key": f"dev-only-{channel}-key"} for channel in CHANNELS}
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=concurrency * 4)
    started = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=intake, timeout=30, limits=limits) as client:

        async def post(item: dict[str, Any]) -> httpx.Response | str:
            """The answer, or the name of the transport error that ended the last of five attempts."""
            nonlocal retried
            failure = ""
            for _ in range(5):
                try:
                    return await client.post("/v1/complaints", json=item, headers=headers[item["channel"]])
                except httpx.TransportError as exc:
                    retried += 1
                    failure = type(exc).__name__
            return failure

        async def worker() -> None:
            while (item := await queue.get()) is not None:
                answer = await post(item)
                if isinstance(answer, httpx.Response) and answer.status_code == 202:
                    accepted[answer.json()["complaint_id"]] = time.time()
                elif refused is not None:
                    refused[answer if isinstance(answer, str) else answer.status_code] += 1

        retried = 0
        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        sent = 0
        while True:
            elapsed = time.monotonic() - started
            if (total is not None and sent >= total) or (total is None and elapsed >= seconds):
                break
            if rate is not None and sent >= rate * elapsed:
                await asyncio.sleep(min(0.01, (sent + 1) / rate - elapsed))
                continue
            channel = CHANNELS[sent % len(CHANNELS)]
            await queue.put(body(rng, pool, channel))
            sent += 1
            if sent % 200 == 0:
                print(progress(sent, total, seconds, elapsed, len(accepted), retried), end="", flush=True)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    print(progress(sent, total, seconds, time.monotonic() - started, len(accepted), retried), flush=True)
    return time.monotonic() - started


async def watch_routed(bootstrap: str, routed: dict[str, float], stop: asyncio.Event) -> None:
    # Kafka answers a fetch as soon as a record arrives, so the default fetch wait adds no latency.
    consumer = AIOKafkaConsumer(
        "complaint.routed", bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.time()
            for records in batch.values():
                for r in records:
                    routed.setdefault((r.key or b"").decode(), now)
    finally:
        await consumer.stop()


async def watch_reporting(dsn: str, accepted: dict[str, float], visible: dict[str, float], stop: asyncio.Event) -> None:
    """When each accepted complaint became visible, routed, in reporting's case view."""
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            # The oldest thousand still pending: cases become visible roughly in order, and a bigger lookup every
            # 100 ms would cost the database under test more than it measures.
            pending = [uuid.UUID(c) for c in list(accepted) if c not in visible][:1000]
            if pending:
                rows = await conn.fetch(
                    # routed to a department, or (doubtful) waiting for a supervisor in triage
                    "SELECT complaint_id FROM reporting.cases WHERE complaint_id = ANY($1::uuid[]) "
                    "AND (department IS NOT NULL OR status = 'awaiting_triage')",
                    pending,
                )
                now = time.time()
                for r in rows:
                    visible.setdefault(str(r["complaint_id"]), now)
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def raw_hop(bootstrap: str, n: int = 50_000) -> float:
    """Ceiling: consume n messages from one topic and produce each to another, batched, with aiokafka."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=True)
    await producer.start()
    payload = b"x" * 700
    await asyncio.gather(
        *[await producer.send("ingress.department-updates.dlq", payload, key=str(i).encode()) for i in range(n)]
    )
    consumer = AIOKafkaConsumer(
        "ingress.department-updates.dlq",
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
            futures = [
                await producer.send("complaint.contact.dlq", r.value, key=r.key)
                for records in batch.values()
                for r in records
            ]
            await asyncio.gather(*futures)
            await consumer.commit()
            moved += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()
    return n / (time.monotonic() - started)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else float("nan")


async def run(args: argparse.Namespace, platform: Platform) -> None:
    info = platform.info
    intake, bootstrap, dsn = info["services"]["intake"], info["kafka_bootstrap_servers"], info["database_url"]
    accepted: dict[str, float] = {}
    routed: dict[str, float] = {}
    visible: dict[str, float] = {}
    stop = asyncio.Event()
    peak: dict[str, int] = {}

    async def sample_rss() -> None:
        procs = platform.services()
        while not stop.is_set():
            for name, proc in procs.items():
                with contextlib.suppress(psutil.Error):
                    peak[name] = max(peak.get(name, 0), proc.memory_info().rss)
            await asyncio.sleep(0.5)

    # Warm-up: consumer groups on a fresh broker take seconds to get their partitions, and the Kafka JVM
    # compiles its hot paths over the first thousands of requests; measure after the warm-up complaints
    # went all the way through, as a long-running platform would be, not the join and the JIT.
    warm: dict[str, float] = {}
    await post_all(intake, args.warmup, None, 0, 8, warm)
    async with httpx.AsyncClient(base_url=info["services"]["reporting"], timeout=10) as client:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            kpis = (await client.get("/v1/kpis", headers={"X-API-Key": "dev-only-manager-key"})).json()
            if kpis["totals"]["received"] >= len(warm):
                break
            await asyncio.sleep(0.5)
        else:
            raise SystemExit("warm-up complaints never reached reporting")

    watchers = [
        asyncio.create_task(watch_routed(bootstrap, routed, stop)),
        asyncio.create_task(watch_reporting(dsn, accepted, visible, stop)),
        asyncio.create_task(sample_rss()),
    ]
    t0, cpu_before = time.time(), platform.cpu_seconds()
    refused: Counter[int | str] = Counter()
    post_s = await post_all(intake, args.burst, args.rate, args.seconds, args.concurrency, accepted, refused)
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline and not (set(accepted) <= set(routed) and set(accepted) <= set(visible)):
        print(
            f"\r  draining: routed {len(set(accepted) & set(routed)):,}/{len(accepted):,}, visible "
            f"{len(set(accepted) & set(visible)):,}",
            end="",
            flush=True,
        )
        await asyncio.sleep(0.5)
    print()
    stop.set()
    await asyncio.gather(*watchers, return_exceptions=True)
    cpu_after = platform.cpu_seconds()
    done = [c for c in accepted if c in visible]
    end_to_end_s = (max(visible[c] for c in done) - t0) if done else float("nan")
    to_routed = [(routed[c] - accepted[c]) * 1000 for c in accepted if c in routed]
    to_visible = [(visible[c] - accepted[c]) * 1000 for c in done]
    async with asyncpg.create_pool(dsn, min_size=1, max_size=1) as pool:
        # Where the time goes: intake accepted it -> dispatch's transaction started (consumed) -> the
        # work order's event left dispatch's outbox (routed timestamps come from the watcher above).
        lag = "extract(epoch FROM d.created_at - i.accepted_at) * 1000"
        stage = await pool.fetchrow(
            f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {lag}) AS p50, "
            f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {lag}) AS p95 "
            "FROM dispatch.cases d JOIN intake.complaints i USING (complaint_id) WHERE i.accepted_at >= $1",
            datetime.fromtimestamp(t0, UTC),
        )
        ids = [uuid.UUID(c) for c in accepted]
        intake_rows = await pool.fetchval("SELECT count(*) FROM intake.complaints WHERE complaint_id = ANY($1)", ids)
        cases = await pool.fetchval("SELECT count(*) FROM reporting.cases WHERE complaint_id = ANY($1)", ids)
        work_orders = await pool.fetchval("SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = ANY($1)", ids)
        linked = await pool.fetchval(
            "SELECT count(*) FROM dispatch.cases WHERE complaint_id = ANY($1) AND linked_to IS NOT NULL", ids
        )
        doubled = await pool.fetchval(
            "SELECT count(*) FROM (SELECT complaint_id FROM dispatch.work_orders WHERE complaint_id = ANY($1) "
            "GROUP BY complaint_id, cycle HAVING count(*) > 1) d",
            ids,
        )
    ceiling = await raw_hop(bootstrap)
    throughput = len(done) / end_to_end_s if done else 0.0
    lost = len(accepted) - len(done)
    rows = [
        ("complaints accepted (202)", f"{len(accepted):,} in {post_s:.1f} s", ""),
        ("refused or failed posts", ", ".join(f"{k}: {v}" for k, v in refused.items()) or "none", "none"),
        ("routed / visible in reporting", f"{len(to_routed):,} / {len(done):,} (lost: {lost:,})", "lost: 0"),
        (
            "doubled: intake rows / reporting cases / work orders per cycle",
            f"{intake_rows - len(accepted)} / {cases - len(accepted)} / {doubled}",
            "0 / 0 / 0",
        ),
        ("work orders / linked to an open one", f"{work_orders:,} / {linked:,}", ""),
        ("end-to-end throughput (POST → visible)", f"{throughput:,.0f} complaints/s", "≥ 1,500/s for 60 s"),
        ("accepted → routed p50 / p95 / p99", _percentiles(to_routed), "p99 ≤ 100 ms at 200/s"),
        ("accepted → visible p50 / p95 / p99", _percentiles(to_visible), ""),
        (
            "of which accepted → dispatch consumed it, p50 / p95",
            f"{stage['p50'] or 0:,.0f} / {stage['p95'] or 0:,.0f} ms",
            "",
        ),
    ]
    for name in sorted(peak):
        rows.append((f"peak RSS {name}", f"{peak[name] / 2**20:,.0f} MiB", ""))
    total = len(accepted) or 1
    for name in sorted(cpu_after, key=lambda n: cpu_before.get(n, 0) - cpu_after[n]):
        used = cpu_after[name] - cpu_before.get(name, 0.0)
        rows.append((f"CPU {name}", f"{used:,.1f} s = {used / total * 1000:.2f} ms per complaint", ""))
    rows.append(("ceiling: raw aiokafka consume→produce hop, same broker", f"{ceiling:,.0f} msg/s", ""))
    rows.append(("platform / ceiling", f"{throughput / ceiling:.4f}", ""))
    print("\n| figure | value | goal |\n|---|---|---|")
    for figure, value, goal in rows:
        print(f"| {figure} | {value} | {goal} |")


def _percentiles(values: list[float]) -> str:
    return f"{pct(values, 50):,.0f} / {pct(values, 95):,.0f} / {pct(values, 99):,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, help="complaints per second (default: as fast as accepted)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--burst", type=int, help="post this many as fast as possible, then drain")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=1000, help="complaints sent through before measuring")
    parser.add_argument("--drain", type=float, default=300, help="seconds to wait for routing and reporting")
    args = parser.parse_args()
    platform = Platform()
    platform.start()
    try:
        asyncio.run(run(args, platform))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
