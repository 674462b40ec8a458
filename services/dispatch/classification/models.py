"""What the classifier reads and what it decides: plain frozen values, so callers can log, compare and test them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shared.contracts import Category, Department, Severity


@dataclass(frozen=True)
class ComplaintFacts:
    """The facts the classifier needs; the caller looks up `history` (category → earlier complaints in window)."""

    text: str
    channel: str
    category_hint: str | None = None
    history: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", MappingProxyType(dict(self.history)))


@dataclass(frozen=True)
class Classification:
    """The decision plus why: `reasons` are meant for the agent's screen and the audit trail."""

    category: Category
    department: Department
    severity: Severity
    valid: bool
    invalid_reason: str | None
    reasons: tuple[str, ...]
    scores: Mapping[str, float]
    #: Doubtful: the model's confidence is below the threshold, or rules and model disagree on the department —
    #: a supervisor decides (the triage queue) instead of a department.
    triage: bool = False
    #: The model's best categories with their probabilities, best first (what a supervisor is offered).
    suggestions: tuple[tuple[Category, float], ...] = ()
    model_version: str | None = None
    #: The model's probability of the chosen category; None when a rule decided.
    confidence: float | None = None
