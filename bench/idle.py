"""What the platform costs while nothing happens: CPU per second of each process of an idle platform.

    .venv/bin/python -m bench.idle --seconds 20

Why it matters: a platform that burns CPU at rest (consumers asking the broker for records that are not there,
relays, pollers, timers) does so under load too, and the benches bill it to every complaint — at 50/s, 100 ms of
idle CPU a second is 2 ms a complaint. The same four services as `bench.load` (intake, dispatch, followup,
reporting) with Kafka and Postgres; nothing is posted. After `--settle` seconds (groups joined, start-up done; 60 by
default, since the broker's JIT compilers use 60–70 ms a second for about a minute after start and a long-running
broker does not), the CPU each process uses over `--seconds` is divided by them. Ends with one JSON line:
`{"mode": "idle", "cpu_ms_per_s", "cpu_ms_per_s_by_process"}`; `bench/compare.sh` runs it on both trees.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.load import PLATFORM
from bench.stack import Stack


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of the measured window")
    parser.add_argument(
        "--settle",
        type=float,
        default=60,
        help="seconds between ready and the window: the broker's JIT compilers work for about a minute after start",
    )
    args = parser.parse_args()
    stack = Stack()
    try:
        stack.start()
        time.sleep(args.settle)  # the window must not hold the groups' joins or the start-up's tail
        before, started = stack.cpu_seconds(), time.monotonic()
        time.sleep(args.seconds)
        after, elapsed = stack.cpu_seconds(), time.monotonic() - started
    finally:
        stack.stop()
    per_s = {name: 1000 * (after.get(name, 0.0) - before.get(name, 0.0)) / elapsed for name in (*PLATFORM, "generator")}
    total = sum(per_s[name] for name in PLATFORM)
    print(f"\n## bench.idle ({elapsed:.1f} s)\n\n| process | CPU ms per second, idle |\n|---|---|")
    for name in (*PLATFORM, "generator"):
        print(f"| {name} | {per_s[name]:.1f} |")
    print(f"| **platform** | **{total:.1f}** (of 2,000 on two cores) |")
    print(
        json.dumps(
            {
                "mode": "idle",
                "cpu_ms_per_s": round(total, 1),
                "cpu_ms_per_s_by_process": {k: round(v, 1) for k, v in per_s.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
