"""What a customer's SMS reply means, for the case of the last message we sent them.

The utilities' survey SMS asks for a mark from 1 to 5, so a reply that is only a digit 1-5 (full-width or not,
with 分 or 星 or a full stop after it) is a survey score. A reply that says the problem is not fixed or that the
customer is not satisfied ("不满意", "还是不热", "not fixed", in simplified or traditional Chinese or English) is
dissatisfied: followup reopens the case under the callback rules. Anything else is a note for the case's owner —
a person reads it, so when in doubt a reply is a note, never a reopening nor a score.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from shared.contracts.channels import ReplyKind

#: "2", "２", "2分", "5星", "4。" — a mark and nothing else.
_SCORE = re.compile(r"([1-5])\s*(?:分|星|stars?|points?)?")
#: Chinese numerals customers type for a mark.
_CHINESE_DIGITS = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5"}
_TRAILING = " \t\r\n。．.!！~～"

#: Said by a customer whose problem is not solved or who is not satisfied (lower case, after NFKC).
DISSATISFIED_PHRASES: tuple[str, ...] = (
    # Not satisfied.
    "不满意",
    "不滿意",
    "很不满",
    "不太满意",
    "差评",
    "差評",
    # Still not warm / still broken (the heating season's commonest answer).
    "还是不热",
    "還是不熱",
    "还不热",
    "還不熱",
    "仍然不热",
    "依然不热",
    "还是冷",
    "還是冷",
    "还是没好",
    "還是沒好",
    "还没好",
    "還沒好",
    "还是没热",
    "还是没有热",
    "还没修",
    "還沒修",
    "没修好",
    "沒修好",
    "没有修好",
    "沒有修好",
    "没解决",
    "沒解決",
    "没有解决",
    "沒有解決",
    "未解决",
    "未解決",
    "问题依旧",
    "問題依舊",
    "问题还在",
    "問題還在",
    "又坏了",
    "又壞了",
    # English.
    "not fixed",
    "isn't fixed",
    "is not fixed",
    "not resolved",
    "unresolved",
    "not solved",
    "not satisfied",
    "dissatisfied",
    "unsatisfied",
    "still not",
    "still cold",
    "still no ",
    "still broken",
    "still leaking",
    "not working",
)


@dataclass(frozen=True)
class Classified:
    """A reply's kind, and its mark when it is a survey score."""

    kind: ReplyKind
    score: int | None = None


def normalise(text: str) -> str:
    """Full-width forms folded (NFKC: "２" → "2"), lower case, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def survey_score(text: str) -> int | None:
    """The 1-5 mark a reply consists of, else None ("2", "２分", "五星", "4."; not "24", not "2 but still cold")."""
    folded = normalise(text).strip(_TRAILING)
    folded = "".join(_CHINESE_DIGITS.get(char, char) for char in folded) if len(folded) <= 3 else folded
    match = _SCORE.fullmatch(folded)
    return int(match.group(1)) if match else None


def is_dissatisfied(text: str) -> bool:
    folded = normalise(text) + " "
    return any(phrase in folded for phrase in DISSATISFIED_PHRASES)


def classify(text: str) -> Classified:
    """Score, dissatisfied, or a note — in that order (a bare mark is never read as words)."""
    score = survey_score(text)
    if score is not None:
        return Classified("survey_score", score)
    if is_dissatisfied(text):
        return Classified("dissatisfied")
    return Classified("note")
