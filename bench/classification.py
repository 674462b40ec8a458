"""Classification benchmark: rules + model and the rule engine alone, on one core; with `--base`, another tree's code
measured in the same run.

    .venv/bin/python -m bench.classification [--repeat 3] [--file F ...] [--base /tmp/bench-base] [--rounds 2]

Classifies every complaint of the files the way dispatch's batch path does (one `classify` per complaint, rules and
model loaded once), for each engine in turn, and prints one table: ms per complaint (mean, p50, p99) and throughput.
With `--base TREE`, each round measures TREE's `services/` and then this tree's, each in a process of its own (so
each imports its own code), and the table sets the best round of each side by side; the outputs of the two trees
(category, severity, validity, reasons, scores, triage, suggestions, confidence) are compared, so a faster
classifier that decides differently shows. Ends with one JSON line: `{"mode": "classification",
"ms_per_complaint", "base_ms_per_complaint", "same_outputs"}`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("rules only", "rules + model")


def measure(files: list[Path], repeat: int) -> dict[str, Any]:
    """Per engine: mean, p50 and p99 ms per complaint; and a digest of every decision, to compare trees by."""
    from services.dispatch.classification import ComplaintFacts, classify, load_rules
    from services.dispatch.learning.model import load_model

    rows = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    facts = [ComplaintFacts(text=r["text"], channel=r.get("channel", "")) for r in rows]
    rules, figures = load_rules(), {}
    decisions = hashlib.sha256()
    for engine in ENGINES:
        model = load_model() if engine == "rules + model" else None
        for f in facts[:20]:  # warm caches (OpenCC, term filters) outside the measurement
            classify(f, rules, model=model)
        spent = []
        for _ in range(repeat):
            for f in facts:
                started = time.perf_counter()
                classify(f, rules, model=model)
                spent.append((time.perf_counter() - started) * 1000)
        for f in facts:
            c = classify(f, rules, model=model)
            seen = [c.category, c.severity, c.valid, c.invalid_reason, c.reasons, dict(c.scores), c.triage]
            decisions.update(json.dumps([*seen, c.suggestions, c.confidence], default=str).encode())
        cuts = statistics.quantiles(spent, n=100)
        figures[engine] = {"mean": statistics.fmean(spent), "p50": cuts[49], "p99": cuts[98]}
    return {"complaints": len(facts), "ms": figures, "decisions": decisions.hexdigest()}


#: What a measuring process runs: this file's `measure`, loaded by path, with `services` imported from its working
#: directory (the tree measured), not from this tree's bench package (the base tree's may differ or be absent).
_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bench_classification", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(module.measure([__import__("pathlib").Path(f) for f in sys.argv[3:]], int(sys.argv[2]))))
"""


def _in_own_process(tree: Path, files: list[Path], repeat: int) -> dict[str, Any]:
    """`measure` in a fresh interpreter importing `services` from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", _CHILD, __file__, str(repeat), *map(str, files)]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _best(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    return {e: min((r["ms"][e] for r in runs), key=lambda m: m["mean"]) for e in ENGINES}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--file", type=Path, action="append", help="JSONL of complaints (text, channel); repeatable")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", type=Path, help="a tree (git worktree) whose code is measured beside this one")
    parser.add_argument("--rounds", type=int, default=2, help="with --base: rounds, base then this tree in each")
    args = parser.parse_args()
    files = [f.resolve() for f in (args.file or [ROOT / "services/dispatch/learning/data/seed_train.jsonl"])]
    base_runs: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds if args.base else 1):
        if args.base:
            base_runs.append(_in_own_process(args.base.resolve(), files, args.repeat))
        runs.append(_in_own_process(ROOT, files, args.repeat))
    ours, base = _best(runs), _best(base_runs) if base_runs else None
    same = None if not base_runs else all(r["decisions"] == runs[0]["decisions"] for r in base_runs)
    print(f"\n## bench.classification: {runs[0]['complaints']} complaints x {args.repeat}, best of {len(runs)}\n")
    print(
        "| engine | figure | "
        + ("base | " if base else "")
        + "this tree |\n|---|---|"
        + ("---|" if base else "")
        + "---|"
    )
    for engine in ENGINES:
        for figure in ("mean", "p50", "p99"):
            before = f"{base[engine][figure]:.3f} ms | " if base else ""
            print(f"| {engine} | {figure} | {before}{ours[engine][figure]:.3f} ms |")
    if same is not None:
        print(f"\nsame decisions in both trees: {'yes' if same else 'NO'}")
    summary = {
        "mode": "classification",
        "ms_per_complaint": {e: round(ours[e]["mean"], 4) for e in ENGINES},
        "base_ms_per_complaint": {e: round(base[e]["mean"], 4) for e in ENGINES} if base else None,
        "same_outputs": same,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
