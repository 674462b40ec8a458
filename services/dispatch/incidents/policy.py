"""The incident rules (`incidents.toml`): when complaints about one fault become one incident, which family a
complaint belongs to, and how grave an incident is. Checked when they load, like the classification rules."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import TypeVar

from shared.contracts import AssetKind, Category, Family, Severity

DEFAULT_PATH = Path(__file__).with_name("incidents.toml")
E = TypeVar("E", bound=Enum)


class IncidentRulesError(ValueError):
    """The rules file is wrong; the message names the entry."""


@dataclass(frozen=True)
class FamilyRule:
    family: Family
    #: The asset type whose failure this family is.
    asset_type: AssetKind
    #: Categories that can belong to this family, and those that always do (whatever their words).
    categories: frozenset[Category]
    always: frozenset[Category]
    #: Words (normalised) saying which supply stopped.
    terms: tuple[str, ...]
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class IncidentRules:
    threshold_households: int
    window: timedelta
    #: (households from, severity), ascending.
    severity_steps: tuple[tuple[int, Severity], ...]
    families: tuple[FamilyRule, ...]

    def family(self, family: Family) -> FamilyRule:
        return next(rule for rule in self.families if rule.family is family)

    def severity_for(self, households: int, *callers: Severity) -> Severity:
        """The step the households reached, or the gravest caller's severity if graver."""
        stepped = Severity.NORMAL
        for at_least, severity in self.severity_steps:
            if households >= at_least:
                stepped = severity
        return Severity.gravest(stepped, *callers)


def _enum(kind: type[E], value: object, where: str) -> E:
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(v.value for v in kind)
        raise IncidentRulesError(f"{where}: {value!r} is not one of {allowed}") from exc


def load_incident_rules(path: str | Path | None = None) -> IncidentRules:
    data = tomllib.loads(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
    threshold = data.get("threshold", {})
    households = int(threshold.get("households", 0))
    minutes = int(threshold.get("window_minutes", 0))
    if households < 2 or minutes < 1:
        raise IncidentRulesError("threshold: households must be at least 2 and window_minutes at least 1")
    steps = tuple(
        (int(step["households"]), _enum(Severity, step["severity"], f"severity step {i}"))
        for i, step in enumerate(data.get("severity", []))
    )
    if [s[0] for s in steps] != sorted({s[0] for s in steps}):
        raise IncidentRulesError("severity steps must have distinct household counts in ascending order")
    families = []
    for name, entry in data.get("families", {}).items():
        where = f"families.{name}"
        categories = frozenset(_enum(Category, c, where) for c in entry.get("categories", []))
        always = frozenset(_enum(Category, c, where) for c in entry.get("always", []))
        if not categories or not always <= categories:
            raise IncidentRulesError(f"{where}: needs categories, and `always` must be among them")
        families.append(
            FamilyRule(
                family=_enum(Family, name, where),
                asset_type=_enum(AssetKind, entry.get("asset_type"), where),
                categories=categories,
                always=always,
                terms=tuple(str(t).lower() for t in entry.get("terms", [])),
                label_zh=str(entry.get("label_zh", name)),
                label_en=str(entry.get("label_en", name)),
            )
        )
    if {f.family for f in families} != set(Family):
        raise IncidentRulesError("every family needs its entry: " + ", ".join(f.value for f in Family))
    return IncidentRules(households, timedelta(minutes=minutes), steps, tuple(families))
