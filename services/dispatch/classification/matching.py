"""Finding rule terms in normalised text, and telling "漏水" from "没有漏水" / "如果漏水".

A negator cancels a term only when it stands close before it in the same clause ("没有漏水", "也没闻到味",
"no gas smell"); a hypothetical ("如果", "会不会", "if") reaches further. Words that merely contain a negator
("不停", "无法", "是不是") are listed as exceptions in the rules and cancel nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from services.dispatch.classification.rules import MatchingRules, NegationRules, Terms
from services.dispatch.normalise import CLAUSE_BREAKS, normalise

_ENGLISH_EDGE = re.compile(r"[a-z0-9]")
_ENGLISH_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_LAST_CLAUSE_BREAK = re.compile(f"[{re.escape(CLAUSE_BREAKS)}][^{re.escape(CLAUSE_BREAKS)}]*$")
#: An English term also matches its plural and past forms: "leak" finds "leaks", "leaked", "leaking".
_ENGLISH_SUFFIX = r"(?:s|es|ed|d|ing)?"


@dataclass(frozen=True)
class Hit:
    term: str
    start: int
    end: int
    snippet: str
    negated: bool


def _gap(chars: int) -> str:
    return f"[^{re.escape(CLAUSE_BREAKS)}]{{0,{chars}}}?"


@lru_cache(maxsize=8192)
def _literal_parts(term: str) -> tuple[str, ...]:
    """The normalised literal pieces of a term, in order, that `*` gaps separate (none for a `re:` term)."""
    if term.startswith("re:"):
        return ()
    return tuple(part for part in (normalise(piece) for piece in term.split("*")) if part)


@lru_cache(maxsize=8192)
def compile_term(term: str, gap_chars: int, gap_chars_latin: int) -> re.Pattern[str]:
    """A term as a pattern over normalised text (see rules.py for the syntax)."""
    if term.startswith("re:"):
        return re.compile(term[3:])
    parts = _literal_parts(term)
    body = re.escape(parts[0])
    for before, part in pairwise(parts):
        body += _gap(gap_chars_latin if _ENGLISH_EDGE.match(before[-1]) else gap_chars) + re.escape(part)
    if _ENGLISH_EDGE.match(parts[0][0]):
        body = "(?<![a-z0-9])" + body
    if _ENGLISH_EDGE.match(parts[-1][-1]):
        body += _ENGLISH_SUFFIX + "(?![a-z0-9])"
    return re.compile(body)


@lru_cache(maxsize=8)
def _grams(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The characters and the adjacent character pairs of a text: every term filter of one complaint asks (the
    lexicon's, each severity trigger's, validity's: about fifteen per classification), so they are worked out once."""
    return frozenset(text), frozenset(text[i : i + 2] for i in range(len(text) - 1))


class TermFilter:
    """Which terms of a list can occur in a text at all, by the literal pieces each cannot match without.

    Why: a thousand-term lexicon run as a thousand regex scans cost about 1.6 ms per complaint — classification
    was dispatch's largest cost under load. Only the few terms whose pieces are all present get their regex (and
    negation check) run. A piece is looked for only when its first two characters stand side by side in the text
    (a set intersection), not by a substring scan of every piece of the list. `re:` terms always run."""

    def __init__(self, terms: Terms) -> None:
        self._terms = terms
        #: (position, term, pieces): terms without pieces always run; the others are found by their longest piece.
        self._always: list[tuple[int, str, frozenset[str]]] = []
        self._by_piece: dict[str, list[tuple[int, str, frozenset[str]]]] = {}
        #: The pieces of two or more characters by their first two; the one-character pieces.
        self._by_pair: dict[str, list[str]] = {}
        singles: set[str] = set()
        for position, term in enumerate(terms):
            parts = frozenset(_literal_parts(term))
            for part in parts:
                if len(part) == 1:
                    singles.add(part)
                elif part not in self._by_pair.setdefault(part[:2], []):
                    self._by_pair[part[:2]].append(part)
            if parts:
                self._by_piece.setdefault(max(parts, key=len), []).append((position, term, parts))
            else:
                self._always.append((position, term, parts))
        self._pairs = frozenset(self._by_pair)
        self._singles = frozenset(singles)

    def positions(self, text: str) -> list[int]:
        """Where in the list the terms that may occur in normalised `text` stand, in order."""
        chars, pairs = _grams(text)
        present = {piece for pair in self._pairs & pairs for piece in self._by_pair[pair] if piece in text}
        present |= self._singles & chars
        found = [position for position, _, _ in self._always]
        for piece in present:
            found += (position for position, _, parts in self._by_piece.get(piece, ()) if parts <= present)
        found.sort()
        return found

    def candidates(self, text: str) -> list[str]:
        """The terms that may occur in normalised `text`, in their original order."""
        return [self._terms[position] for position in self.positions(text)]


@lru_cache(maxsize=1024)
def term_filter(terms: Terms) -> TermFilter:
    return TermFilter(terms)


def _clause_prefix(text: str, start: int) -> str:
    before = text[:start]
    last_break = _LAST_CLAUSE_BREAK.search(before)
    return before[last_break.start() + 1 :] if last_break else before


def _excepted(text: str, at: int, cue: str, exceptions: Terms) -> bool:
    """Whether the cue found at `at` is part of an exception word such as 不停 or 是不是."""
    for word in exceptions:
        for offset in range(len(word) - len(cue) + 1):
            if text.startswith(word, at - offset) and word[offset : offset + len(cue)] == cue:
                return True
    return False


def _zh_cue_before(text: str, start: int, prefix: str, cues: Terms, max_gap: int, exceptions: Terms) -> bool:
    prefix_start = start - len(prefix)
    for cue in cues:
        at = prefix.find(cue)
        while at >= 0:
            close = len(prefix) - (at + len(cue)) <= max_gap
            if close and not _excepted(text, prefix_start + at, cue, exceptions):
                return True
            at = prefix.find(cue, at + 1)
    return False


def _en_cue_before(prefix: str, cues: Terms, max_gap: int) -> bool:
    words = _ENGLISH_WORD.findall(prefix)
    if not words:  # a Chinese clause: no English cue can stand in it
        return False
    for cue in cues:
        cue_words = cue.split()
        if cue_words[0] not in words:
            continue
        for i in range(len(words) - len(cue_words) + 1):
            if words[i : i + len(cue_words)] == cue_words and len(words) - i - len(cue_words) <= max_gap:
                return True
    return False


def is_negated(text: str, start: int, negation: NegationRules) -> bool:
    """Whether the term starting at `start` is denied or only supposed in its clause."""
    prefix = _clause_prefix(text, start)
    if not prefix:
        return False
    return (
        _zh_cue_before(text, start, prefix, negation.negators_zh, negation.max_gap_chars, negation.exceptions)
        or _zh_cue_before(
            text, start, prefix, negation.hypotheticals_zh, negation.hypothetical_max_gap_chars, negation.exceptions
        )
        or _en_cue_before(prefix, negation.negators_en, negation.max_gap_words)
        or _en_cue_before(prefix, negation.hypotheticals_en, negation.hypothetical_max_gap_words)
    )


def find_hits(text: str, term: str, matching: MatchingRules, *, negatable: bool = True) -> list[Hit]:
    """Every occurrence of `term` in normalised `text`, each marked negated or not."""
    hits = []
    for match in compile_term(term, matching.gap_chars, matching.gap_chars_latin).finditer(text):
        if match.end() > match.start():
            negated = negatable and is_negated(text, match.start(), matching.negation)
            hits.append(Hit(term, match.start(), match.end(), match.group(), negated))
    return hits


def first_live_hits(text: str, terms: Terms, matching: MatchingRules, *, negatable: bool = True) -> list[Hit]:
    """For each term that occurs un-negated at least once, its first such occurrence (in term order)."""
    live = []
    for term in term_filter(terms).candidates(text):
        for hit in find_hits(text, term, matching, negatable=negatable):
            if not hit.negated:
                live.append(hit)
                break
    return live
