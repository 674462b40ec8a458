"""What the metrics cost: CPU per complaint of every process with the Prometheus instrumentation on and off,
measured in the same run (not a test: a table to read).

    .venv/bin/python -m bench.metrics_cost --rate 50 --seconds 60 --rounds 2   # about 10 minutes

Each round starts the platform twice as `bench.load` does — `METRICS_ENABLED=false` (no HTTP, FastStream or
process-metric instrumentation; `/metrics` still answers) and `METRICS_ENABLED=true` with every service
scraped every `--scrape-interval` seconds, as Prometheus would — sends the same number of complaints through
at a fixed rate after a warm-up, waits until reporting has them all, and reads each process's CPU time. The
platform shares the machine with the load generator (and whatever else runs there), so single figures are
noisy: several rounds, alternating the order, and the median are what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics

import httpx

from bench import probes
from bench.posting import Poster
from bench.stack import SERVICES, Stack


async def _scrape_forever(urls: list[str], interval: float, stop: asyncio.Event, scrapes: list[int]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            for url in urls:
                response = await client.get(f"{url}/metrics")
                response.raise_for_status()
                scrapes[0] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def _through(stack: Stack, count: int, within_s: float) -> None:
    """Wait until `count` complaints are decided, with clocks, and visible in reporting (those in triage count:
    reporting's KPIs do not count them as received)."""
    state, done, _ = await probes.wait_done(stack.dsn, count, within_s)
    if done is None:
        raise SystemExit(f"the platform never caught up with {count} complaints: {state.line()}")


async def _measure(args: argparse.Namespace, stack: Stack, scrape: bool) -> tuple[int, dict[str, float], int]:
    """Complaints measured, CPU seconds per process over them, scrapes made."""
    warm = Poster(stack.url("intake"), 8)
    await warm.closed_loop(args.warmup, 0, 8)
    await warm.close()
    await _through(stack, len(warm.accepted), 180)
    stop, scrapes = asyncio.Event(), [0]
    urls = [stack.url(name) for name in SERVICES]
    scraper = asyncio.create_task(_scrape_forever(urls, args.scrape_interval, stop, scrapes)) if scrape else None
    before = stack.cpu_seconds()
    poster = Poster(stack.url("intake"), args.concurrency)
    await poster.open_loop(args.rate, args.seconds)
    await poster.close()
    await _through(stack, len(warm.accepted) + len(poster.accepted), args.drain)
    after = stack.cpu_seconds()
    stop.set()
    if scraper is not None:
        await scraper
    used = {name: after[name] - before.get(name, 0.0) for name in after if name != "generator"}
    return len(poster.accepted), used, scrapes[0]


def _run_once(args: argparse.Namespace, metrics_on: bool) -> tuple[int, dict[str, float], int]:
    os.environ["METRICS_ENABLED"] = "true" if metrics_on else "false"
    stack = Stack()
    try:
        stack.start()
        return asyncio.run(_measure(args, stack, scrape=metrics_on))
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="complaints per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs, the order alternating")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--scrape-interval", type=float, default=15.0, help="seconds between scrapes (metrics on)")
    parser.add_argument("--drain", type=float, default=300)
    args = parser.parse_args()

    per_complaint: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    scrapes = 0
    for round_no in range(args.rounds):
        for metrics_on in (False, True) if round_no % 2 == 0 else (True, False):
            print(f"round {round_no + 1}: metrics {'on' if metrics_on else 'off'}", flush=True)
            count, cpu, made = _run_once(args, metrics_on)
            scrapes += made
            per_complaint[metrics_on].append({name: used / count * 1000 for name, used in cpu.items()})
    names = sorted({n for runs in per_complaint.values() for run in runs for n in run})

    def runs(on: bool, pick: tuple[str, ...]) -> list[float]:
        return [sum(run.get(n, 0.0) for n in pick) for run in per_complaint[on]]

    print(
        f"\nCPU per complaint, median of {args.rounds} run(s) each, {args.rate:g}/s for {args.seconds:g} s "
        f"({scrapes} scrapes of /metrics with metrics on)\n"
    )
    print("| process | metrics off (ms) | metrics on (ms) | added | each run off / on (ms) |\n|---|---|---|---|---|")
    rows = [(n, (n,)) for n in names] + [
        ("the four services", SERVICES),
        ("whole platform", tuple(names)),
    ]
    for label, pick in rows:
        off, on = statistics.median(runs(False, pick)), statistics.median(runs(True, pick))
        added = f"{(on - off) / off * 100:+.1f} %" if off else "n/a"
        each = " ".join(f"{v:.2f}" for v in runs(False, pick)) + " / " + " ".join(f"{v:.2f}" for v in runs(True, pick))
        print(f"| {label} | {off:.2f} | {on:.2f} | {added} | {each} |")


if __name__ == "__main__":
    main()
