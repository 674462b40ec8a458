"""Category scores from lexicon terms and stated temperatures, keeping the evidence so reasons can show it.

Each stretch of text counts once, for the most specific term that covers it: "停水通知" (a question about notices)
takes its words away from "停水" (an outage). Across categories only a phrase written without gaps does so, since
a gapped match ("power*cut" over "power cable has been cut") spans words it never named. Each distinct term counts
once however often it is repeated, so a long, angry text does not outscore a short, precise one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.dispatch.classification.matching import Hit, TermFilter, find_hits
from services.dispatch.classification.quantities import Setting, TemperatureReading
from services.dispatch.classification.rules import CategoryRules, Rules
from shared.contracts import Category


@dataclass(frozen=True)
class Evidence:
    term: str
    snippet: str
    weight: float
    note: str = ""

    def describe(self) -> str:
        return f"{self.snippet} ({self.note})" if self.note else self.snippet


@dataclass(frozen=True)
class CategoryEvidence:
    scores: dict[Category, float]
    evidence: dict[Category, list[Evidence]]
    negated: list[Hit]


@dataclass(frozen=True)
class _Occurrence:
    category: Category
    weight: float
    hit: Hit

    @property
    def length(self) -> int:
        return self.hit.end - self.hit.start


def _is_phrase(term: str) -> bool:
    """A term matched as written: only such phrases are specific enough to take words from another term."""
    return "*" not in term and not term.startswith("re:")


def _inside_longer(occurrence: _Occurrence, kept: list[_Occurrence]) -> bool:
    hit = occurrence.hit
    return any(
        (other.category == occurrence.category or _is_phrase(other.hit.term))
        and other.length > occurrence.length
        and other.hit.start <= hit.start
        and hit.end <= other.hit.end
        for other in kept
    )


def _most_specific(occurrences: list[_Occurrence]) -> list[_Occurrence]:
    kept: list[_Occurrence] = []
    for occurrence in sorted(occurrences, key=lambda o: o.length, reverse=True):
        if not _inside_longer(occurrence, kept):
            kept.append(occurrence)
    return kept


def _low_indoor_reading(temperatures: list[TemperatureReading], below: float) -> TemperatureReading | None:
    indoor = [t for t in temperatures if t.setting is Setting.INDOOR and t.effective < below]
    return min(indoor, key=lambda t: t.effective) if indoor else None


class _Lexicon:
    """Every category's terms as one list, (category, weight, term) in the rules' order, behind one filter.

    Why: filtering each term group apart asked the text about thirty times per complaint; one filter asks once."""

    def __init__(self, categories: Mapping[Category, CategoryRules]) -> None:
        self.categories = categories
        self.entries = tuple(
            (category, group.weight, term)
            for category, category_rules in categories.items()
            for group in category_rules.lexicon
            for term in group.terms
        )
        self.filter = TermFilter(tuple(term for _, _, term in self.entries))


#: The lexicon of the rules last used (rules change only when an operator reloads them).
_lexicons: list[_Lexicon] = []


def _lexicon(rules: Rules) -> _Lexicon:
    if not _lexicons or _lexicons[0].categories is not rules.categories:
        _lexicons[:] = [_Lexicon(rules.categories)]
    return _lexicons[0]


def score_categories(text: str, temperatures: list[TemperatureReading], rules: Rules) -> CategoryEvidence:
    occurrences: list[_Occurrence] = []
    negated: list[Hit] = []
    lexicon = _lexicon(rules)
    for position in lexicon.filter.positions(text):
        category, weight, term = lexicon.entries[position]
        for hit in find_hits(text, term, rules.matching):
            if hit.negated:
                negated.append(hit)
            else:
                occurrences.append(_Occurrence(category, weight, hit))

    evidence: dict[Category, dict[str, Evidence]] = {category: {} for category in Category}
    for occurrence in sorted(_most_specific(occurrences), key=lambda o: o.hit.start):
        found = evidence[occurrence.category]
        term = occurrence.hit.term
        if term not in found or found[term].weight < occurrence.weight:
            found[term] = Evidence(term, occurrence.hit.snippet, occurrence.weight)

    low = _low_indoor_reading(temperatures, rules.temperature.low_indoor_below)
    if low is not None:
        note = f"low indoor temperature, under {rules.temperature.low_indoor_below:g}°C"
        evidence[rules.temperature.category]["#temperature"] = Evidence(
            "#temperature", low.text, rules.temperature.weight, note
        )

    scores = {category: sum(e.weight for e in found.values()) for category, found in evidence.items()}
    ordered = {category: sorted(found.values(), key=lambda e: -e.weight) for category, found in evidence.items()}
    return CategoryEvidence(scores, ordered, negated)
