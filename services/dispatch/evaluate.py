"""Measure the classifier on a labeled JSONL file: `python -m services.dispatch.evaluate PATH [--rules RULES]`.

Each line: {"id", "text", "channel", "category", "acceptable": [...], "department", "severity", ...}; optional
"category_hint" and "history". A category is right if it is the label or one of `acceptable`; a department if it is
the label's or an acceptable category's. Prints accuracies, a confusion table, every miss with its reasons, and as
its last line one JSON object, so CI and operators tuning rules.toml read the same figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify, load_rules
from shared.contracts import Category

_SHORT = {
    Category.HEATING_TEMPERATURE: "heat",
    Category.EQUIPMENT_FAULT: "equip",
    Category.OUTAGE: "outage",
    Category.SAFETY_HAZARD: "safety",
    Category.BILLING: "billing",
    Category.SERVICE_ATTITUDE: "attitude",
    Category.CONSULTATION: "consult",
    Category.OTHER: "other",
}


@dataclass(frozen=True)
class Outcome:
    row: dict[str, Any]
    result: Classification
    category_ok: bool
    department_ok: bool
    severity_ok: bool


def read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def judge(row: dict[str, Any], rules: Rules) -> Outcome:
    facts = ComplaintFacts(
        text=row["text"],
        channel=row.get("channel", ""),
        category_hint=row.get("category_hint"),
        history=row.get("history") or {},
    )
    result = classify(facts, rules)
    allowed = {row["category"], *row.get("acceptable", [])}
    departments = {row["department"]} | {rules.department_of(Category(c)) for c in row.get("acceptable", [])}
    return Outcome(
        row=row,
        result=result,
        category_ok=result.category in allowed,
        department_ok=result.department in departments,
        severity_ok=result.severity == row["severity"],
    )


def _confusion(outcomes: list[Outcome]) -> list[str]:
    width = max(len(s) for s in _SHORT.values()) + 1
    lines = [
        "confusion (rows = true category, columns = predicted; acceptable alternatives fall off the diagonal):",
        " " * width + "".join(f"{s:>{width}}" for s in _SHORT.values()),
    ]
    for true in Category:
        counts = [sum(1 for o in outcomes if o.row["category"] == true and o.result.category == p) for p in Category]
        lines.append(f"{_SHORT[true]:<{width}}" + "".join(f"{c or '.':>{width}}" for c in counts))
    return lines


def _misses(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        wrong = [
            name
            for name, ok in (("category", o.category_ok), ("department", o.department_ok), ("severity", o.severity_ok))
            if not ok
        ]
        if not wrong:
            continue
        acceptable = "|".join(o.row.get("acceptable", []))
        lines.append(
            f"{o.row['id']} wrong {'+'.join(wrong)}: true {o.row['category']}"
            f"{' (or ' + acceptable + ')' if acceptable else ''}/{o.row['department']}/{o.row['severity']}"
            f", predicted {o.result.category}/{o.result.department}/{o.result.severity}"
        )
        lines.append(f"    text: {o.row['text']}")
        lines += [f"    - {reason}" for reason in o.result.reasons]
    return lines


def summarise(outcomes: list[Outcome]) -> dict[str, float | int]:
    n = len(outcomes)

    def share(attr: str) -> float:
        return round(sum(getattr(o, attr) for o in outcomes) / n, 4) if n else 0.0

    return {
        "category_accuracy": share("category_ok"),
        "department_accuracy": share("department_ok"),
        "severity_accuracy": share("severity_ok"),
        "n": n,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.dispatch.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="labeled JSONL file")
    parser.add_argument("--rules", type=Path, default=None, help="rules file (default: the shipped rules.toml)")
    args = parser.parse_args(argv)

    rules = load_rules(args.rules)
    started = time.perf_counter()
    outcomes = [judge(row, rules) for row in read_rows(args.path)]
    elapsed = time.perf_counter() - started
    summary = summarise(outcomes)

    n = summary["n"]
    print(f"{args.path}: {n} complaints classified in {elapsed:.2f} s with rules {rules.version}")
    for key in ("category", "department", "severity"):
        right = sum(getattr(o, f"{key}_ok") for o in outcomes)
        print(f"{key + ' accuracy':<20} {summary[key + '_accuracy']:.1%} ({right}/{n})")
    print()
    print("\n".join(_confusion(outcomes)))
    misses = _misses(outcomes)
    print()
    print("misclassified:" if misses else "misclassified: none")
    if misses:
        print("\n".join(misses))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
