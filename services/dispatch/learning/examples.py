"""Labelled complaints for training: the seed set, supervisors' corrections and the frozen blind set."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from shared.contracts import Category

SEED_PATH = Path(__file__).with_name("data") / "seed_train.jsonl"
BLIND_PATH = Path(__file__).resolve().parents[3] / "tests" / "data" / "complaints_blind.jsonl"


@dataclass(frozen=True)
class Example:
    """One labelled complaint. A correction also says what was predicted, by which model, and where it came from."""

    text: str
    channel: str
    category: Category
    severity: str = "normal"
    department: str = ""
    predicted_category: str | None = None
    model_version: str | None = None
    source: str | None = None
    id: str | None = None
    lang: str | None = None
    style: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Example:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        values["category"] = Category(row["category"])
        values.setdefault("channel", "")
        return cls(**values)


def read_examples(path: str | Path) -> list[Example]:
    with Path(path).open(encoding="utf-8") as lines:
        return [Example.from_row(json.loads(line)) for line in lines if line.strip()]
