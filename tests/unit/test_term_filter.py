"""The term prefilter may skip a term only when the term cannot match: it never changes what is found."""

from __future__ import annotations

from services.dispatch.classification.matching import TermFilter, find_hits
from services.dispatch.classification.rules import load_rules

TERMS = ("暖气*不热", "re:\\d+度", "漏水", "gas smell", "不热")


def test_candidates_keep_term_order_and_need_every_piece() -> None:
    text = "家里暖气一直不热,只有16度"
    assert TermFilter(TERMS).candidates(text) == ["暖气*不热", "re:\\d+度", "不热"]
    # One piece of a gapped term is not enough; a regex term always runs.
    assert TermFilter(TERMS).candidates("暖气很好") == ["re:\\d+度"]


def test_the_filter_finds_exactly_what_scanning_every_term_finds() -> None:
    rules = load_rules()
    terms = tuple(term for c in rules.categories.values() for group in c.lexicon for term in group.terms)
    texts = ["家里暖气片一直不热,室温只有16度左右", "楼道里有燃气味,没有漏水", "my bill doubled, gas smell outside", ""]
    for text in texts:
        every = [term for term in terms if find_hits(text, term, rules.matching)]
        assert bool(every) == bool(text), (text, every)
        kept = set(TermFilter(terms).candidates(text))
        assert [term for term in every if term not in kept] == [], text
