"""The shipped category model at serving time: numpy only, no training library.

A linear model over the sparse features of `features.py`: tf-idf (sublinear tf, l2-normalised) times a weight
matrix plus an intercept, softmax over the eight categories. `train.py` fits it with scikit-learn and writes it
as one compressed .npz (`category_model.npz`); this module reads that file and nothing else. The triage policy
(`triage.toml`, beside the model) travels with it: which confidence is too low, when a rules/model disagreement
sends a complaint to supervisors.
"""

from __future__ import annotations

import io
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from services.dispatch.learning.features import complaint_features
from shared.contracts import Category

DEFAULT_MODEL_PATH = Path(__file__).with_name("category_model.npz")
DEFAULT_POLICY_PATH = Path(__file__).with_name("triage.toml")


@dataclass(frozen=True)
class TriagePolicy:
    """When a complaint goes to the supervisors' triage queue instead of a department (see triage.toml)."""

    min_confidence: float = 0.5
    disagreement_triage: bool = True
    disagreement_min_rule_score: float = 0.0
    suggestions: int = 3
    authoritative_emergency_categories: tuple[Category, ...] = (Category.SAFETY_HAZARD,)
    authoritative_min_scores: Mapping[Category, float] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any]) -> TriagePolicy:
        triage = raw.get("triage", {})
        rules = raw.get("authoritative_rules", {})
        return cls(
            min_confidence=float(triage.get("min_confidence", 0.5)),
            disagreement_triage=bool(triage.get("disagreement_triage", True)),
            disagreement_min_rule_score=float(triage.get("disagreement_min_rule_score", 0.0)),
            suggestions=max(3, int(triage.get("suggestions", 3))),
            authoritative_emergency_categories=tuple(Category(c) for c in rules.get("with_emergency_trigger", [])),
            authoritative_min_scores={Category(c): float(s) for c, s in rules.get("min_score", {}).items()},
        )


def load_policy(path: str | Path | None = None) -> TriagePolicy:
    source = Path(path) if path is not None else DEFAULT_POLICY_PATH
    return TriagePolicy.from_toml(tomllib.loads(source.read_text(encoding="utf-8")))


@dataclass(frozen=True, eq=False)
class CategoryModel:
    """Feature name → column, idf per column, weights (columns × categories) and intercepts; pure arithmetic."""

    version: str
    classes: tuple[Category, ...]
    vocabulary: Mapping[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    policy: TriagePolicy = field(default_factory=TriagePolicy)
    meta: Mapping[str, Any] = field(default_factory=dict)

    #: Float64 copies, made once (`__post_init__`): the sums run in float64, and converting the gathered rows on
    #: every call cost more than the gather. The values are exactly the float32 ones, so the results are the same.
    _coef64: np.ndarray = field(init=False, repr=False)
    _intercept64: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_coef64", self.coef.astype(np.float64))
        object.__setattr__(self, "_intercept64", self.intercept.astype(np.float64))

    def probabilities(self, text: str, channel: str) -> np.ndarray:
        """P(category | text, channel), in the order of `classes`."""
        vocabulary = self.vocabulary
        columns: list[int] = []
        tf: list[float] = []
        for name, count in complaint_features(text, channel).items():
            column = vocabulary.get(name)
            if column is not None:
                columns.append(column)
                tf.append(1.0 + math.log(count))
        logits = self._intercept64.copy()
        if columns:
            # One gather for the idf (a numpy scalar read per feature cost more than the rest of the loop).
            index = np.array(columns, dtype=np.intp)
            weights = np.array(tf)
            weights *= self.idf[index]
            weights /= np.sqrt(weights @ weights)
            logits += weights @ self._coef64[index]
        logits -= logits.max()
        odds = np.exp(logits)
        probabilities: np.ndarray = odds / odds.sum()
        return probabilities

    def ranked(self, text: str, channel: str) -> list[tuple[Category, float]]:
        """Every category with its probability, best first."""
        probs = self.probabilities(text, channel)
        order = np.argsort(-probs, kind="stable")
        return [(self.classes[i], float(probs[i])) for i in order]

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    def to_bytes(self) -> bytes:
        """The exported file's bytes (dispatch keeps promoted candidates in its database as these)."""
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta = {**self.meta, "version": self.version, "classes": [c.value for c in self.classes]}
        out = io.BytesIO()
        np.savez_compressed(
            out,
            features=np.array(names, dtype=np.str_),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
        )
        return out.getvalue()


def read_model(path: str | Path, policy: TriagePolicy | None = None) -> CategoryModel:
    """Read an exported model file (no pickle: plain arrays and a JSON header)."""
    return model_from_bytes(Path(path).read_bytes(), policy)


def model_from_bytes(raw: bytes, policy: TriagePolicy | None = None) -> CategoryModel:
    """A model from an exported file's bytes (`CategoryModel.to_bytes`)."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        names = [str(n) for n in data["features"]]
        return CategoryModel(
            version=meta["version"],
            classes=tuple(Category(c) for c in meta["classes"]),
            vocabulary={name: i for i, name in enumerate(names)},
            idf=data["idf"].astype(np.float32),
            coef=data["coef"].astype(np.float32),
            intercept=data["intercept"].astype(np.float32),
            policy=policy if policy is not None else load_policy(),
            meta=meta,
        )


@lru_cache(maxsize=4)
def load_model(path: str | Path | None = None) -> CategoryModel:
    """The shipped model (or the one at `path`) with the shipped triage policy, read once per process."""
    return read_model(path if path is not None else DEFAULT_MODEL_PATH)
