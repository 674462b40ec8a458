"""One canonical form of complaint text, so a lexicon is written once for zh, zh-Hant, full-width and English.

Below every reader of complaint text: the classifier's rules, the category model's features (training and serving
read text exactly as the rules do), the asset registry's addresses and the incidents' fault matching.

Traditional → Simplified (OpenCC, Taiwan phrases to mainland phrases), full-width → half-width and ℃ → °c
(NFKC), lower case, and whitespace between two Chinese characters read as a comma: chat messages use spaces
as clause breaks, and negation must not reach across them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_OPENCC_CONFIG = "tw2sp"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
#: Characters that end a clause once text is normalised; negation and `*` gaps never reach across them.
CLAUSE_BREAKS = ",.;!?:。、…\n"


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC(_OPENCC_CONFIG)


def to_simplified(text: str) -> str:
    simplified: str = _converter().convert(text)  # opencc ships no types
    return simplified


#: Recent texts and their canonical form: a complaint's text is read by the classifier's rules, the model's features
#: and fault matching (twice when the model doubts between two categories), and once more when a batch re-decides it
#: for a repeat; pure, so each text is normalised once however many of them read it. 1024 covers a batch of 500.
_RECENT_TEXTS = 1024


@lru_cache(maxsize=_RECENT_TEXTS)
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower().replace("’", "'")
    text = _SPACE_BETWEEN_CJK.sub(",", text.strip())
    return _SPACES.sub(" ", text)


_MEANINGFUL = re.compile(rf"[{_CJK}a-zA-Z]")
_ANY_CJK = re.compile(rf"[{_CJK}]")


def meaningful_chars(text: str) -> list[str]:
    """The CJK characters and ASCII letters of `text`: what a complaint says, without digits and punctuation."""
    return _MEANINGFUL.findall(text)


def has_cjk(text: str) -> bool:
    return _ANY_CJK.search(text) is not None
