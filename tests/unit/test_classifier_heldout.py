"""The classifier on 200 labeled complaints written apart from the shared sample (tests/data/complaints_heldout.jsonl).

Set A (H001-H120) was written before the rules were read and set B (H121-H200) before the rules were changed again.
Both were used afterwards to fix general gaps in rules.toml, so the figures asserted here are regression guards, not
an estimate of accuracy on unseen complaints: measured blind, before any fix from it, set A scored category 87.5 %,
department 90 %, severity 92.5 %, and set B category 81 %, department 87.5 %, severity 92.5 %.
They pin the rule engine alone (`--rules-only`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from services.dispatch.evaluate import main as evaluate_main
from shared.contracts import Category, Severity

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "complaints_heldout.jsonl"
SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "complaints_sample.jsonl"

# A little under what the shipped rules reach on this file (category 100 %, department 100 %, severity 99.5 %).
THRESHOLDS = {"category_accuracy": 0.95, "department_accuracy": 0.95, "severity_accuracy": 0.95}


def _rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def test_heldout_file_is_well_formed_and_varied() -> None:
    rows = _rows(HELDOUT)
    assert len(rows) == 200
    assert [row["id"] for row in rows] == [f"H{i:03d}" for i in range(1, 201)]
    assert {row["category"] for row in rows} == set(Category)
    assert {row["severity"] for row in rows} == set(Severity)
    assert {row["lang"] for row in rows} == {"zh", "zh-Hant", "en", "mixed"}
    assert {row["utility"] for row in rows} == {"heating", "electricity", "water", "gas"}
    assert Counter(row["set"] for row in rows) == {"A": 120, "B": 80}
    for row in rows:
        assert set(row["acceptable"]) <= set(Category) - {row["category"]}, row["id"]


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared sample not present")
def test_heldout_complaints_are_not_taken_from_the_sample() -> None:
    sample_texts = {row["text"] for row in _rows(SAMPLE)}
    assert not sample_texts & {row["text"] for row in _rows(HELDOUT)}


def test_evaluate_on_the_heldout_file_meets_the_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_main([str(HELDOUT), "--rules-only"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n"] == 200
    for figure, threshold in THRESHOLDS.items():
        assert summary[figure] >= threshold, (figure, summary)
