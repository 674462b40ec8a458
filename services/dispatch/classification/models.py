"""What the classifier reads and what it decides: plain frozen values, so callers can log, compare and test them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from shared.contracts import Category


class Department(StrEnum):
    REPAIR = "repair"
    BILLING = "billing"
    CUSTOMER_SERVICE = "customer_service"


class Severity(StrEnum):
    """Ordered from mildest to gravest; `rank` compares them without relying on declaration order elsewhere."""

    NORMAL = "normal"
    SERIOUS = "serious"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.NORMAL: 0, Severity.SERIOUS: 1, Severity.EMERGENCY: 2}


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


@dataclass(frozen=True)
class ComplaintFacts:
    """The facts the classifier needs; the caller looks up `history` (category → earlier complaints in window)."""

    text: str
    channel: str
    category_hint: str | None = None
    history: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", _frozen_counts(self.history))


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
