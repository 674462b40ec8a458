"""Whether a complaint can be acted on at all: empty, keyboard noise, a test call, (as the text says) not our
area, or another utility's or provider's business (broadband, cable TV, property management).

Deliberately simple and precise rather than thorough: an invalid complaint gets no work order (a supervisor can
overturn it), so a complaint that is ours must not look invalid. It is still classified, so the supervisor sees
what it would have been. The reason is what the customer is told, so it names the test call or the business.
"""

from __future__ import annotations

import re

from services.dispatch.classification.matching import first_live_hits
from services.dispatch.classification.rules import Rules
from services.dispatch.normalise import has_cjk, meaningful_chars

_LATIN_WORD = re.compile(r"[a-z]+")
#: A text in Latin letters with none of these words, and no rule term either, is taken as keyboard noise.
# fmt: off
_COMMON_ENGLISH = frozenset(
    (
        "a", "an", "the", "i", "my", "our", "we", "you", "your", "is", "are", "was", "were", "it", "no", "not", "and",
        "or", "to", "of", "in", "on", "at", "for", "from", "with", "since", "this", "that", "there", "have", "has",
        "had", "can", "could", "would", "will", "please", "hello", "hi", "help", "dear", "thanks", "thank",
    )
)
# fmt: on


def invalid_reason(text: str, rules: Rules, *, has_evidence: bool) -> str | None:
    """None when the complaint is valid, else why not; `text` is normalised."""
    if not text.strip():
        return "empty text"
    meaningful = meaningful_chars(text)
    if len(meaningful) < rules.validity.min_meaningful_chars:
        return f"too little text to act on ({len(meaningful)} letters or characters)"
    if len(meaningful) >= 3 and len(set(meaningful)) == 1:
        return "gibberish: one character repeated"
    test = first_live_hits(text, rules.validity.test_call_terms, rules.matching)
    if test:
        return f"test call ({', '.join(h.snippet for h in test)})"
    words = _LATIN_WORD.findall(text)
    if not has_evidence and words and not has_cjk(text) and _COMMON_ENGLISH.isdisjoint(words):
        return "gibberish: no recognisable words"
    outside = first_live_hits(text, rules.validity.outside_area_terms, rules.matching)
    if outside:
        return f"outside service area ({', '.join(h.snippet for h in outside)})"
    return not_ours(text, rules)


def not_ours(text: str, rules: Rules) -> str | None:
    """The other business the text is about, when it names none of ours ("停电了，宽带也断了" is ours)."""
    validity = rules.validity
    if not validity.not_ours or first_live_hits(text, validity.own_business_terms, rules.matching):
        return None
    for group in validity.not_ours:
        hits = first_live_hits(text, group.terms, rules.matching)
        if hits:
            return f"not ours: {group.business} ({', '.join(h.snippet for h in hits)})"
    return None
