"""The promotion gate of the category model, and the blind-set figures it decides on (pure, numpy only).

One gate for the command (`python -m services.dispatch.retrain`) and the supervisors' screen (`/v1/models`): a
candidate is fitted on the seed set plus people's corrections, then it and the current model are scored on the
frozen blind set (`tests/data/complaints_blind.jsonl`, or `DISPATCH_BLIND_SET_PATH`); the candidate may be promoted
only if it scores no worse there, on category nor department (`BlindScores.no_worse_than`: within one complaint, the
blind set's resolution).

Kept honest: the blind set only gates — nothing is fitted or tuned on it, and a correction whose text is one of the
blind complaints' is held out of training (a supervisor may well triage a complaint worded like one of them; learning
it would score the candidate on an answer it was taught). A category counts right only when it is the blind label
itself, as the gate always measured. Each accuracy is shown with its 95 % Wilson interval, and per category, so a
person sees how little a one-complaint difference means before promoting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.dispatch.classification import ComplaintFacts, Rules, classify
from services.dispatch.learning.examples import Example
from services.dispatch.learning.model import CategoryModel, TriagePolicy
from services.dispatch.normalise import normalise
from shared.contracts import Category

#: How many more blind complaints a new model may get wrong (category, or department) and still count as no worse.
#: Any refit moves the complaints that sit on a decision boundary (two categories at p = 0.24 and 0.23, sent to
#: triage by both models) one way or the other; one such flip is below what a few hundred complaints can resolve,
#: two or more is a regression and blocks the promotion.
NOISE_COMPLAINTS = 1


def wilson(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion right/n."""
    if n == 0:
        return (0.0, 1.0)
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class ClassFigure:
    """One true category of the blind set: how many there are and how many the model put in it (its recall)."""

    category: Category
    n: int
    right: int


@dataclass(frozen=True)
class BlindScores:
    category_accuracy: float
    department_accuracy: float
    severity_accuracy: float
    auto_category_accuracy: float
    triage_share: float
    category_right: int = 0
    department_right: int = 0
    n: int = 0
    per_class: tuple[ClassFigure, ...] = field(default=())

    def no_worse_than(self, other: BlindScores) -> bool:
        """Non-inferior on category and department: at most `NOISE_COMPLAINTS` fewer complaints right on each."""
        return (
            self.category_right >= other.category_right - NOISE_COMPLAINTS
            and self.department_right >= other.department_right - NOISE_COMPLAINTS
        )

    def as_figures(self) -> dict[str, object]:
        """What the screen shows: each accuracy with its 95 % interval, the triage share, and per category."""
        low, high = wilson(self.category_right, self.n)
        d_low, d_high = wilson(self.department_right, self.n)
        return {
            "n": self.n,
            "category_right": self.category_right,
            "category_accuracy": self.category_accuracy,
            "category_interval": [round(low, 4), round(high, 4)],
            "department_right": self.department_right,
            "department_accuracy": self.department_accuracy,
            "department_interval": [round(d_low, 4), round(d_high, 4)],
            "triage_share": self.triage_share,
            "per_class": [
                {"category": c.category.value, "n": c.n, "right": c.right, "recall": round(c.right / c.n, 4)}
                for c in self.per_class
                if c.n
            ],
        }

    @classmethod
    def from_figures(cls, figures: dict[str, object]) -> BlindScores:
        """Back from `as_figures` (as stored with a candidate): enough for the gate and the screen."""
        n = int(figures["n"])  # type: ignore[call-overload]
        per_class = tuple(
            ClassFigure(Category(row["category"]), int(row["n"]), int(row["right"]))
            for row in figures.get("per_class", [])  # type: ignore[attr-defined]
        )
        return cls(
            category_accuracy=float(figures["category_accuracy"]),  # type: ignore[arg-type]
            department_accuracy=float(figures["department_accuracy"]),  # type: ignore[arg-type]
            severity_accuracy=0.0,
            auto_category_accuracy=0.0,
            triage_share=float(figures["triage_share"]),  # type: ignore[arg-type]
            category_right=int(figures["category_right"]),  # type: ignore[call-overload]
            department_right=int(figures["department_right"]),  # type: ignore[call-overload]
            n=n,
            per_class=per_class,
        )


def score(model: CategoryModel, examples: Sequence[Example], rules: Rules) -> BlindScores:
    """Top-1 accuracies over every example, the auto-routed share's category accuracy, and recall per category."""
    n = len(examples)
    category = department = severity = auto = auto_right = 0
    per_n: dict[Category, int] = dict.fromkeys(Category, 0)
    per_right: dict[Category, int] = dict.fromkeys(Category, 0)
    for e in examples:
        result = classify(ComplaintFacts(text=e.text, channel=e.channel), rules, model=model)
        right = result.category is e.category
        category += right
        per_n[e.category] += 1
        per_right[e.category] += right
        department += result.department is rules.department_of(e.category)
        severity += result.severity == e.severity
        if not result.triage:
            auto += 1
            auto_right += right
    return BlindScores(
        category_accuracy=round(category / n, 4),
        department_accuracy=round(department / n, 4),
        severity_accuracy=round(severity / n, 4),
        auto_category_accuracy=round(auto_right / auto, 4) if auto else 0.0,
        triage_share=round((n - auto) / n, 4),
        category_right=category,
        department_right=department,
        n=n,
        per_class=tuple(ClassFigure(c, per_n[c], per_right[c]) for c in Category),
    )


def training_set(seed: Sequence[Example], corrections: Sequence[Example]) -> list[Example]:
    """The seed set plus the corrections; the latest correction of a text wins over the seed label and earlier ones."""
    latest = {e.text: e for e in corrections}
    return [e for e in seed if e.text not in latest] + list(latest.values())


def held_out(corrections: Sequence[Example], blind: Sequence[Example]) -> tuple[list[Example], int]:
    """The corrections a candidate may learn from — none whose text (normalised) is a blind complaint's — and how
    many were held out."""
    blind_texts = {normalise(e.text) for e in blind}
    kept = [e for e in corrections if normalise(e.text) not in blind_texts]
    return kept, len(corrections) - len(kept)


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate and the blind-set scores of it and of the model it would replace."""

    model: CategoryModel
    scores: BlindScores
    current_version: str
    current_scores: BlindScores
    trained_on: int
    corrections: int
    held_out: int

    @property
    def passes(self) -> bool:
        return self.scores.no_worse_than(self.current_scores)


def fit_candidate(
    seed: list[Example],
    corrections: list[Example],
    blind: list[Example],
    *,
    current: CategoryModel,
    rules: Rules,
    policy: TriagePolicy | None = None,
) -> Candidate:
    """Fit on seed + the corrections not held out, and score both models on the blind set. Needs scikit-learn
    (the `learning` extra): imported here, so serving never loads it."""
    from services.dispatch.train import fit  # training only: serving never loads scikit-learn

    kept, dropped = held_out(corrections, blind)
    examples = training_set(seed, kept)
    model = fit(examples, policy=policy or current.policy)
    return Candidate(
        model=model,
        scores=score(model, blind, rules),
        current_version=current.version,
        current_scores=score(current, blind, rules),
        trained_on=len(examples),
        corrections=len(kept),
        held_out=dropped,
    )
