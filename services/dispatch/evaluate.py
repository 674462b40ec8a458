"""Measure the classifier on a labeled JSONL file: `python -m services.dispatch.evaluate PATH [--rules RULES]`.

Each line: {"id", "text", "channel", "category", "acceptable": [...], "department", "severity", ...}; optional
"category_hint", "history", "lang" and "style". A category is right if it is the label or one of `acceptable`; a
department if it is the label's or an acceptable category's. Prints accuracies with 95 % Wilson intervals, figures
per language and style, a confusion table, every miss with its reasons, and as its last line one JSON object, so
CI and operators tuning rules.toml read the same figures. Accuracies count every complaint, triaged or not;
`auto_*` count the share routed without triage. `--rules-only` measures the rule engine alone; `--model FILE`
another exported model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify, load_rules
from services.dispatch.classification.classifier import SHIPPED, Shipped
from services.dispatch.gate import wilson
from services.dispatch.learning.model import CategoryModel, read_model
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


def judge(row: dict[str, Any], rules: Rules, model: CategoryModel | Literal[Shipped.MODEL] | None = SHIPPED) -> Outcome:
    facts = ComplaintFacts(
        text=row["text"],
        channel=row.get("channel", ""),
        category_hint=row.get("category_hint"),
        history=row.get("history") or {},
    )
    result = classify(facts, rules, model=model)
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
    auto = [o for o in outcomes if not o.result.triage]

    def share(attr: str, items: list[Outcome]) -> float:
        return round(sum(getattr(o, attr) for o in items) / len(items), 4) if items else 0.0

    return {
        "category_accuracy": share("category_ok", outcomes),
        "department_accuracy": share("department_ok", outcomes),
        "severity_accuracy": share("severity_ok", outcomes),
        "n": n,
        "auto_share": round(len(auto) / n, 4) if n else 0.0,
        "auto_category_accuracy": share("category_ok", auto),
        "auto_department_accuracy": share("department_ok", auto),
        "triage_share": round((n - len(auto)) / n, 4) if n else 0.0,
    }


def _figure(items: list[Outcome], attr: str) -> str:
    right, n = sum(getattr(o, attr) for o in items), len(items)
    if not n:
        return "n/a"
    low, high = wilson(right, n)
    return f"{right / n:6.1%} [{low:5.1%}, {high:5.1%}]"


def breakdown(outcomes: list[Outcome]) -> list[str]:
    """Accuracies with 95 % Wilson intervals: overall, auto-routed, and per language and style."""
    head = f"{'':<22}{'n':>5} {'triage':>7}  {'category':<24}{'department':<24}severity"
    lines = [head]
    groups: list[tuple[str, list[Outcome]]] = [
        ("all", outcomes),
        ("auto-routed", [o for o in outcomes if not o.result.triage]),
    ]
    for key in ("lang", "style"):
        values = sorted({str(o.row[key]) for o in outcomes if key in o.row})
        groups += [(f"{key}={v}", [o for o in outcomes if str(o.row.get(key)) == v]) for v in values]
    for name, items in groups:
        triaged = sum(o.result.triage for o in items) / len(items) if items else 0.0
        lines.append(
            f"{name:<22}{len(items):>5} {triaged:>7.1%}  {_figure(items, 'category_ok'):<24}"
            f"{_figure(items, 'department_ok'):<24}{_figure(items, 'severity_ok')}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.dispatch.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="labeled JSONL file")
    parser.add_argument("--rules", type=Path, default=None, help="rules file (default: the shipped rules.toml)")
    parser.add_argument("--rules-only", action="store_true", help="the rule engine alone, without the category model")
    parser.add_argument("--model", type=Path, default=None, help="an exported model file (default: the shipped one)")
    args = parser.parse_args(argv)

    rules = load_rules(args.rules)
    model: CategoryModel | Literal[Shipped.MODEL] | None = SHIPPED
    if args.rules_only:
        model = None
    elif args.model is not None:
        model = read_model(args.model)
    started = time.perf_counter()
    outcomes = [judge(row, rules, model) for row in read_rows(args.path)]
    elapsed = time.perf_counter() - started
    summary = summarise(outcomes)

    n = summary["n"]
    versions = sorted({o.result.model_version for o in outcomes if o.result.model_version})
    engine = f"rules {rules.version}" + (f" and model {', '.join(versions)}" if versions else " only")
    print(f"{args.path}: {n} complaints classified in {elapsed:.2f} s with {engine}")
    for key in ("category", "department", "severity"):
        right = sum(getattr(o, f"{key}_ok") for o in outcomes)
        print(f"{key + ' accuracy':<20} {summary[key + '_accuracy']:.1%} ({right}/{n})")
    print(
        f"{'triage share':<20} {summary['triage_share']:.1%}; "
        f"auto-routed category {summary['auto_category_accuracy']:.1%}"
    )
    print()
    print("\n".join(breakdown(outcomes)))
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
