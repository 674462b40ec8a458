"""The operator-editable rules (rules.toml) as a validated model: a typo fails loudly at load, never silently at 3 a.m.

Term syntax, for lexicons and triggers alike: plain text matches as written after normalisation (so a term may be
written in Traditional or Simplified characters, full- or half-width); `*` stands for a short gap inside one
clause ("暖气*停了" matches "暖气从昨天下午就停了"); a term starting with `re:` is a regular expression over the
normalised text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.contracts import Category, Channel, Department, Severity

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")

Terms = tuple[str, ...]


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file and every offending entry."""


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_terms(terms: Terms) -> Terms:
    for term in terms:
        if not term.replace("*", "").strip():
            raise ValueError(f"term {term!r} matches nothing")
        if term.startswith("re:"):
            try:
                re.compile(term[3:])
            except re.error as exc:
                raise ValueError(f"term {term!r} is not a valid regular expression: {exc}") from exc
    return terms


class TermGroup(_Rule):
    """Terms that are equally strong evidence for one category."""

    weight: float = Field(gt=0)
    terms: Terms = Field(min_length=1)
    note: str = ""

    terms_are_valid = field_validator("terms")(_check_terms)


class CategoryRules(_Rule):
    department: Department
    label: str = ""
    lexicon: tuple[TermGroup, ...] = ()


class NegationRules(_Rule):
    """A negator ("没有漏水": no leak) or a hypothetical ("如果漏水怎么办": a question) cancels the term after it."""

    negators_zh: Terms
    negators_en: Terms
    max_gap_chars: int = Field(ge=0, description="characters allowed between a Chinese negator and the term")
    max_gap_words: int = Field(ge=0, description="words allowed between an English negator and the term")
    hypotheticals_zh: Terms = ()
    hypotheticals_en: Terms = ()
    hypothetical_max_gap_chars: int = Field(default=8, ge=0)
    hypothetical_max_gap_words: int = Field(default=6, ge=0)
    exceptions: Terms = Field(default=(), description="words that contain a negator but negate nothing: 不停, 无法")


class MatchingRules(_Rule):
    gap_chars: int = Field(ge=1, le=40, description="how many characters a `*` in a term may stand for")
    gap_chars_latin: int = Field(ge=1, le=80, description="the same after an English word, whose words are longer")
    negation: NegationRules


class TemperatureRules(_Rule):
    """An indoor reading below the standard is evidence for a category (室温不达标)."""

    low_indoor_below: float
    weight: float = Field(gt=0)
    category: Category = Category.HEATING_TEMPERATURE


class HintRules(_Rule):
    """A channel's own category (e.g. a 95598 ticket type) adds `weight`; text evidence stronger by more wins."""

    weight: float = Field(ge=0)
    channel_weights: Mapping[Channel, float] = Field(default_factory=dict, description="overrides per channel")

    def weight_for(self, channel: str) -> float:
        known = channel in set(Channel)
        return self.channel_weights.get(Channel(channel), self.weight) if known else self.weight


class DecisionRules(_Rule):
    min_score: float = Field(gt=0, description="below this, the text says too little and `fallback` is chosen")
    fallback: Category = Category.OTHER
    tie_order: tuple[Category, ...] = Field(description="on equal scores the earlier category wins")

    @field_validator("tie_order")
    @classmethod
    def _every_category_once(cls, order: tuple[Category, ...]) -> tuple[Category, ...]:
        if sorted(order) != sorted(Category):
            raise ValueError(f"must list every category exactly once: {', '.join(Category)}")
        return order


class SeverityTrigger(_Rule):
    """Raises severity when any of `terms` (or a stated age) matches, and the extra condition, if any, holds.

    The extra condition is met by any of `requires_any` or an indoor temperature at most
    `requires_indoor_temp_at_most`; `categories` limits the trigger to complaints of those categories and
    `skip_categories` keeps it off others.
    """

    level: Severity
    reason: str = Field(min_length=1)
    terms: Terms = ()
    age_at_least: int | None = Field(default=None, ge=1)
    requires_any: Terms = ()
    requires_indoor_temp_at_most: float | None = None
    categories: tuple[Category, ...] = ()
    skip_categories: tuple[Category, ...] = ()
    negatable: bool = True

    terms_are_valid = field_validator("terms", "requires_any")(_check_terms)

    @model_validator(mode="after")
    def _has_evidence(self) -> SeverityTrigger:
        if self.level is Severity.NORMAL:
            raise ValueError("a trigger raises severity: level must be serious or emergency")
        if not self.terms and self.age_at_least is None:
            raise ValueError(f"trigger {self.reason!r} needs terms or age_at_least")
        return self


class RepeatRules(_Rule):
    """The `nth_complaint` complaint of one account in one category within `window_days` raises severity."""

    nth_complaint: int = Field(ge=2)
    window_days: int = Field(ge=1, description="for the caller that counts the history; the classifier trusts it")
    level: Severity = Severity.SERIOUS


class NotOursRules(_Rule):
    """Another utility's or provider's business (broadband, cable TV, property management): the customer is told
    whose it is."""

    business: str = Field(min_length=1, description="as the customer reads it: broadband/telecom, cable TV")
    terms: Terms = Field(min_length=1)

    terms_are_valid = field_validator("terms")(_check_terms)


class ValidityRules(_Rule):
    min_meaningful_chars: int = Field(ge=1)
    outside_area_terms: Terms = ()
    #: A tester's or agent's test entry: invalid whatever else the text says.
    test_call_terms: Terms = ()
    #: Another business's complaint, unless the text also names one of `own_business_terms`.
    not_ours: tuple[NotOursRules, ...] = ()
    own_business_terms: Terms = ()

    terms_are_valid = field_validator("outside_area_terms", "test_call_terms", "own_business_terms")(_check_terms)

    @model_validator(mode="after")
    def _not_ours_needs_own_terms(self) -> ValidityRules:
        if self.not_ours and not self.own_business_terms:
            raise ValueError(
                "not_ours needs own_business_terms: without them a power cut that took the broadband "
                "down would be called not ours"
            )
        return self


class Rules(_Rule):
    version: str
    matching: MatchingRules
    temperature: TemperatureRules
    hint: HintRules
    decision: DecisionRules
    categories: Mapping[Category, CategoryRules]
    severity_triggers: tuple[SeverityTrigger, ...]
    repeat: RepeatRules
    validity: ValidityRules

    @field_validator("categories")
    @classmethod
    def _every_category(cls, categories: Mapping[Category, CategoryRules]) -> Mapping[Category, CategoryRules]:
        missing = [c.value for c in Category if c not in categories]
        if missing:
            raise ValueError(f"missing categories: {', '.join(missing)}")
        return categories

    def department_of(self, category: Category) -> Department:
        return self.categories[category].department


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def parse_rules(raw: Mapping[str, Any], source: str = "rules") -> Rules:
    """Validate already-parsed rules (tests build variants this way); errors name every bad entry."""
    try:
        return Rules.model_validate(raw)
    except ValidationError as exc:
        raise RulesError(f"{source} is not valid:\n{_describe(exc)}") from None


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and validate the rules file: the shipped rules.toml unless `path` names another."""
    source = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source} is not valid TOML: {exc}") from None
    return parse_rules(raw, str(source))
