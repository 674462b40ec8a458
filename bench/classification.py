"""Classification benchmark: rules + model against the old rule engine alone, in the same run, on one core.

    .venv/bin/python -m bench.classification [--repeat 3] [--file tests/data/complaints_blind.jsonl]

Classifies every complaint of the file the way dispatch's batch path does (one `classify` per complaint, rules and
model loaded once), for each engine in turn, and prints one table: ms per complaint (mean, p50, p99) and throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from services.dispatch.classification import ComplaintFacts, classify, load_rules
from services.dispatch.learning.model import load_model

ROOT = Path(__file__).resolve().parents[1]


def timings(facts: list[ComplaintFacts], engine: str, repeat: int) -> list[float]:
    rules = load_rules()
    model = load_model() if engine == "rules + model" else None
    for f in facts[:20]:  # warm caches (OpenCC, term filters) outside the measurement
        classify(f, rules, model=model)
    spent = []
    for _ in range(repeat):
        for f in facts:
            started = time.perf_counter()
            classify(f, rules, model=model)
            spent.append((time.perf_counter() - started) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=ROOT / "services/dispatch/learning/data/seed_train.jsonl")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    facts = [ComplaintFacts(text=r["text"], channel=r.get("channel", "")) for r in rows]
    print(f"{len(facts)} complaints x {args.repeat} from {args.file.name}; cpu count {os.cpu_count()}")
    print(f"{'engine':<16}{'mean ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'per s':>9}")
    for engine in ("rules only", "rules + model"):
        spent = timings(facts, engine, args.repeat)
        cuts = statistics.quantiles(spent, n=100)
        mean = statistics.fmean(spent)
        print(f"{engine:<16}{mean:>9.3f}{cuts[49]:>9.3f}{cuts[98]:>9.3f}{1000 / mean:>9,.0f}")


if __name__ == "__main__":
    main()
