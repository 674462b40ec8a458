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
    """The decision plus why: `reasons` are meant for the agent's screen and the audit trail.

    `scores` are the rules' category scores (routing's next-best category on a return reads them); the model's view
    is in `suggestions` and `confidence`.
    """

    category: Category
    department: Department
    severity: Severity
    valid: bool
    invalid_reason: str | None
    reasons: tuple[str, ...]
    scores: Mapping[str, float]
    #: True when the complaint should go to the supervisors' triage queue rather than to `department`.
    triage: bool = False
    #: The model's best categories with their probabilities, best first (empty when classified by rules only).
    suggestions: tuple[tuple[Category, float], ...] = ()
    #: The category model consulted for this decision (None: rules only).
    model_version: str | None = None
    #: The model's probability of the chosen category; None when a rule decided.
    confidence: float | None = None
