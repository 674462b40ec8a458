"""Load benchmark of the platform, in the three modes of issue 27, each ending with one JSON line of its figures.

    .venv/bin/python -m bench.load --mode drain --count 3000      # pre-loaded backlog, consumers started after
    .venv/bin/python -m bench.load --mode ingress --seconds 30    # intake alone, as fast as it accepts
    .venv/bin/python -m bench.load --mode latency --rate 200 --seconds 30   # open loop at a fixed rate
    ... --profile DIR      # py-spy flame graphs of each service over the measured window, into DIR
    ... --pg-stats         # statements and commits per complaint (Postgres log), row writes per schema

- *drain*: the platform runs, a warm-up goes all the way through, then dispatch, followup and reporting are
  stopped, N complaints are posted to intake (onto Kafka), and the three are started again; timed from their
  start until every complaint is decided (routed, in triage, linked, ...), every work order has its clocks in
  followup and every case is visible in reporting. `drain_per_s` = N / that time.
- *ingress*: only intake runs (plus Postgres and Kafka); closed loop with `--concurrency` connections.
  `ingress_per_s` = accepted / elapsed; the generator's own CPU is reported beside intake's.
- *latency*: everything runs; one POST every 1/rate s whatever the answers do (open loop); accepted → routed from
  intake's `accepted_at` and dispatch's work-order `created_at` (server clocks), so no watcher adds load.
- Every mode, after its window: the raw aiokafka consume → produce hop on the same broker and batched Postgres
  inserts (executemany and COPY) on the same database: the ceilings.
CPU per complaint per process (psutil) over the measured window; services log at INFO, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import psutil

from bench import kafka_requests, probes
from bench.posting import Poster
from bench.profile import Flames, PgStats, postgres_cpu_by_client
from bench.stack import DOWNSTREAM, SERVICES, Stack

PLATFORM = (*SERVICES, "kafka", "postgres")


class Window:
    """The measured window: CPU deltas, and the optional profilers, started and stopped together."""

    def __init__(self, stack: Stack, args: argparse.Namespace, services: tuple[str, ...]) -> None:
        self.stack, self.args, self.services = stack, args, services
        self.flames: Flames | None = None
        self.pg: PgStats | None = PgStats(stack.dsn, stack.postgres_log()) if args.pg_stats else None
        self.cpu: dict[str, float] = {}
        self.rows: list[tuple[str, str, str]] = []

    async def open(self, attach: bool = True) -> None:
        if self.pg is not None:
            await self.pg.begin()
        if attach:
            self.attach()
        self.batches = await probes.batch_records(self._urls())
        self.kafka = await asyncio.to_thread(kafka_requests.read_counters)
        self.cpu = self.stack.cpu_seconds()
        self.pg_cpu = self.stack.postgres_processes_cpu()
        self.machine = psutil.cpu_times()
        self.started = time.time()

    def attach(self) -> None:
        if self.args.profile:
            pids = {n: p for n, p in self.stack.pids().items() if n in self.services}
            self.flames = Flames(Path(self.args.profile), self.args.mode, pids)

    async def close(self, complaints: int, probe_s: float = 0.0) -> dict[str, float]:
        """CPU ms per complaint of each process over the window; `probe_s`, the CPU the bench's progress queries cost
        Postgres, is taken out of Postgres's and shown on its own row."""
        after = self.stack.cpu_seconds()
        pg_after = self.stack.postgres_processes_cpu()
        after["postgres"] = after.get("postgres", 0.0) - probe_s
        if self.flames is not None:
            self.flames.stop()
        kafka = await asyncio.to_thread(kafka_requests.read_counters)
        self.rows.append(self._noise(after))
        self.rows.append(await self._postgres_split(pg_after, after, complaints))
        batches = probes.batch_fill(self.batches, await probes.batch_records(self._urls()))
        self.rows.append(("records per handled batch, per consumer (kafka_consumer_batch_records)", batches, ""))
        requests = kafka_requests.per_complaint(self.kafka, kafka, complaints)
        self.rows.append(("Kafka per complaint (the broker's RequestMetrics, over JMX)", requests, ""))
        if self.pg is not None:
            self.rows += await self.pg.end(self.stack.pids(), complaints)
        per = max(complaints, 1)
        self.rows.append(
            (
                "the bench's progress queries in Postgres (not in its figure)",
                f"{probe_s * 1000 / per:.2f} ms per complaint",
                "",
            )
        )
        return {name: (after[name] - self.cpu.get(name, 0.0)) * 1000 / per for name in after}

    def _urls(self) -> list[str]:
        """The running services' addresses (their `/metrics`)."""
        return [self.stack.url(name) for name in self.stack.pids() if name in SERVICES]

    async def _postgres_split(
        self, pg_after: dict[int, float], after: dict[str, float], complaints: int
    ) -> tuple[str, str, str]:
        """Postgres's CPU per complaint by whose work it did (`profile.postgres_cpu_by_client`)."""
        split = await postgres_cpu_by_client(self.stack.dsn, self.stack.pids(), self.pg_cpu, pg_after)
        # Postgres's figure without the progress queries (on their own row; their connection has ended by now).
        total = after.get("postgres", 0.0) - self.cpu.get("postgres", 0.0)
        split["ended"] = total - sum(split.values())
        per = max(complaints, 1)
        shown = sorted(((name, s * 1000 / per) for name, s in split.items()), key=lambda item: -item[1])
        return (
            "CPU postgres by whose work (backends by their client, background processes by kind)",
            ", ".join(f"{name} {ms:.2f}" for name, ms in shown if abs(ms) >= 0.005) + " ms per complaint",
            "",
        )

    def _noise(self, after: dict[str, float]) -> tuple[str, str, str]:
        """How busy the machine was, and how much of it was not the platform nor the generator: the noise."""
        now, seconds = psutil.cpu_times(), time.time() - self.started
        idle = (now.idle + now.iowait) - (self.machine.idle + self.machine.iowait)
        busy = sum(now) - sum(self.machine) - idle
        ours = sum(after.values()) - sum(self.cpu.values())
        cores = psutil.cpu_count() or 1
        return (
            "machine during the window: busy / of which other processes (not platform, not generator)",
            f"{busy / seconds:.2f} / {max(busy - ours, 0) / seconds:.2f} of {cores} cores "
            f"(load average {os.getloadavg()[0]:.1f})",
            "other ≈ 0 for clean figures",
        )


async def warm_up(stack: Stack, args: argparse.Namespace, wait: bool) -> int:
    """Consumer groups joined and the JVM's hot paths compiled before measuring; the complaints accepted so far."""
    poster = Poster(stack.urls("intake"), 8)
    await poster.closed_loop(args.warmup, 0, 8)
    await poster.close()
    if wait:
        waited = await probes.wait_done(stack.dsn, len(poster.accepted), 300)
        if waited.done is None:
            raise SystemExit(f"warm-up complaints never went through: {waited.state.line()}")
    return len(poster.accepted)


async def drain(stack: Stack, args: argparse.Namespace, out: dict[str, Any]) -> Window:
    warm = await warm_up(stack, args, wait=True)
    stack.halt(DOWNSTREAM)
    poster = Poster(stack.urls("intake"), args.concurrency)
    posted_s = await poster.closed_loop(args.count, 0, args.concurrency)
    await poster.close()
    n = len(poster.accepted)
    window = Window(stack, args, DOWNSTREAM)
    await window.open(attach=False)  # CPU and statements counted from before the services start
    began = time.time()
    stack.launch(DOWNSTREAM)
    window.attach()  # py-spy from the services' first instructions
    stack.await_ready(DOWNSTREAM)
    ready = time.time()
    state, done, probe_s = await probes.wait_done(stack.dsn, warm + n, args.timeout)
    out["accepted"] = warm + n
    cpu = await window.close(n, probe_s)
    start_ms = {name: stack.startup.get(name, 0.0) * 1000 / max(n, 1) for name in DOWNSTREAM}
    out["cpu"] = {name: ms - start_ms.get(name, 0.0) for name, ms in cpu.items()}
    elapsed = (done or time.time()) - began
    out["drain_per_s"] = n / elapsed if done else None
    out["table"] += [
        ("complaints pre-loaded onto Kafka (consumers stopped)", f"{n:,} in {posted_s:.1f} s", ""),
        ("refused posts", _refused(poster), "none"),
        ("services started → ready", f"{ready - began:.1f} s", ""),
        ("drained: decided, with clocks, visible" if done else "NOT drained (timeout)", f"{elapsed:.1f} s", ""),
        ("drain rate (from the services' start)", f"{out['drain_per_s'] or 0:,.0f} complaints/s", "≥ 600/s"),
        ("final state", state.line(), ""),
        (
            "start-up CPU of dispatch, followup, reporting (subtracted below)",
            f"{sum(start_ms.values()):.2f} ms per complaint ({sum(stack.startup.get(k, 0) for k in DOWNSTREAM):.1f} s)",
            "",
        ),
    ]
    return window


async def ingress(stack: Stack, args: argparse.Namespace, out: dict[str, Any]) -> Window:
    warm = await warm_up(stack, args, wait=False)
    window = Window(stack, args, ("intake",))
    await window.open()
    poster = Poster(stack.urls("intake"), args.concurrency)
    elapsed = await poster.closed_loop(None, args.seconds, args.concurrency)
    await poster.close()
    n = len(poster.accepted)
    out["accepted"] = warm + n
    out["cpu"] = await window.close(n)
    out["ingress_per_s"] = n / elapsed
    out["table"] += [
        (
            "accepted (202), intake alone, closed loop",
            f"{n:,} in {elapsed:.1f} s, {args.concurrency} connections to {args.intake_replicas} intake process(es)",
            "",
        ),
        ("refused posts", _refused(poster), "none"),
        ("ingress rate", f"{out['ingress_per_s']:,.0f} accepted/s", "≥ 800/s"),
    ]
    return window


async def latency(stack: Stack, args: argparse.Namespace, out: dict[str, Any]) -> Window:
    warm = await warm_up(stack, args, wait=True)
    window = Window(stack, args, SERVICES)
    await window.open()
    poster = Poster(stack.urls("intake"), args.concurrency)
    elapsed = await poster.open_loop(args.rate, args.seconds)
    await poster.close()
    n = len(poster.accepted)
    state, done, probe_s = await probes.wait_done(stack.dsn, warm + n, args.timeout)
    out["accepted"] = warm + n
    out["cpu"] = await window.close(n, probe_s)
    lat = await probes.latencies(stack.dsn, window.started)
    out["p99_routed_ms"] = probes.pct(lat["routed"], 99)
    out["table"] += [
        (
            "offered (open loop) / accepted",
            f"{args.rate:,.0f}/s for {elapsed:.1f} s: {n:,} accepted, the last answer {poster.tail_s:.1f} s after",
            "",
        ),
        ("refused posts", _refused(poster), "none"),
        ("accepted → routed p50 / p95 / p99", probes.percentiles(lat["routed"]), "p99 ≤ 100 ms at 200/s"),
        ("accepted → in triage p50 / p95 / p99", probes.percentiles(lat["triage"]), ""),
        ("all through (decided, clocks, visible)" if done else "NOT all through (timeout)", state.line(), ""),
    ]
    return window


def _refused(poster: Poster) -> str:
    return ", ".join(f"{k}: {v}" for k, v in poster.refused.items()) or "none"


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    out: dict[str, Any] = {"table": [], "drain_per_s": None, "ingress_per_s": None, "p99_routed_ms": None}
    mode = {"drain": drain, "ingress": ingress, "latency": latency}[args.mode]
    window = await mode(stack, args, out)
    cpu: dict[str, float] = out.pop("cpu")
    platform_ms = sum(v for k, v in cpu.items() if k in PLATFORM)
    for name in sorted(cpu, key=lambda k: -cpu[k]):
        out["table"].append((f"CPU {name}", f"{cpu[name]:.2f} ms per complaint", ""))
    out["table"].append(("CPU whole platform (generator not counted)", f"{platform_ms:.2f} ms per complaint", "≤ 3 ms"))
    exact = await probes.exactness(stack.dsn, out.pop("accepted"))
    out["table"].append(("lost (202 but not stored) / doubled work orders", exact, "0 / 0"))
    out["table"] += window.rows
    ceilings: dict[str, float | None] = {
        "raw_hop_per_s": None,
        "pg_executemany_rows_per_s": None,
        "pg_copy_rows_per_s": None,
    }
    if not args.no_ceilings:
        ceilings["raw_hop_per_s"] = await probes.raw_hop(stack.bootstrap)
        inserts = await probes.pg_inserts(stack.dsn)
        ceilings["pg_executemany_rows_per_s"], ceilings["pg_copy_rows_per_s"] = inserts["executemany"], inserts["copy"]
        out["table"] += [
            ("ceiling: raw aiokafka consume → produce hop", f"{ceilings['raw_hop_per_s']:,.0f} records/s", ""),
            (
                "ceiling: Postgres executemany / COPY, 20,000 rows in one transaction",
                f"{inserts['executemany']:,.0f} / {inserts['copy']:,.0f} rows/s",
                "",
            ),
        ]
    out.update(
        ceilings,
        cpu_ms_per_complaint=platform_ms,
        cpu_ms_per_complaint_by_process={k: round(v, 3) for k, v in cpu.items()},
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--mode", choices=("drain", "ingress", "latency"), required=True)
    parser.add_argument("--count", type=int, default=3000, help="drain: complaints pre-loaded")
    parser.add_argument("--rate", type=float, default=200, help="latency: complaints offered per second")
    parser.add_argument("--seconds", type=float, default=30, help="ingress, latency: length of the window")
    parser.add_argument("--concurrency", type=int, default=32, help="connections of the closed-loop generator")
    parser.add_argument(
        "--intake-replicas", type=int, default=1, help="processes of intake, each on its own port (one uses one core)"
    )
    parser.add_argument("--warmup", type=int, default=500, help="complaints sent through before measuring")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the platform to catch up")
    parser.add_argument("--profile", metavar="DIR", help="py-spy flame graphs of each service into DIR")
    parser.add_argument("--pg-stats", action="store_true", help="statements and commits per complaint")
    parser.add_argument("--no-ceilings", action="store_true", help="skip the raw Kafka hop and Postgres inserts")
    args = parser.parse_args()
    stack = Stack()
    try:
        stack.start(("intake",) if args.mode == "ingress" else SERVICES)
        stack.add_replicas("intake", args.intake_replicas)
        out = asyncio.run(run(args, stack))
    finally:
        stack.stop()
    print(f"\n## bench.load --mode {args.mode}\n\n| figure | value | goal |\n|---|---|---|")
    for figure, value, goal in out.pop("table"):
        print(f"| {figure} | {value} | {goal} |")
    print(json.dumps({"mode": args.mode, **{k: _rounded(v) for k, v in out.items()}}, ensure_ascii=False))


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


if __name__ == "__main__":
    main()
