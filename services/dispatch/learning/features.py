"""Text → sparse features for the category model: pure Python, the same at training and at serving.

The text is normalised first (normalise.py: Traditional → Simplified, full-width → half-width,
lower case), so one set of weights serves zh, zh-Hant, English and mixed text. Chinese has no spaces, so it is read
as character 1-3-grams inside each run of Chinese characters; English as words, word pairs and the 3-5-character
pieces of each word (so "leak", "leaks" and "leaking" share most of their features). Digits become 0: "16度" and
"12度" are the same evidence.
"""

from __future__ import annotations

import re
from collections import Counter

from services.dispatch.normalise import normalise

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9']+")
_DIGITS = re.compile(r"\d+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")


def _cjk_grams(run: str) -> list[str]:
    n = len(run)
    return ["c" + run[i : i + size] for i in range(n) for size in (1, 2, 3) if i + size <= n]


def _word_grams(word: str) -> list[str]:
    padded = f"<{word}>"
    return ["w" + word] + ["p" + padded[i : i + size] for size in (3, 4, 5) for i in range(len(padded) - size + 1)]


def text_features(text: str) -> Counter[str]:
    """Feature counts of one complaint text (raw, as received).

    The features are listed first and counted at once (`Counter` counts a list in C; adding one at a time cost half
    of the model's serving time), in the order they occur, which the model's sums follow."""
    clean = _DIGITS.sub("0", normalise(text))
    found: list[str] = []
    previous_word = ""
    for run in _RUNS.findall(clean):
        if _CJK_CHAR.match(run):
            found += _cjk_grams(run)
            previous_word = ""
            continue
        found += _word_grams(run)
        if previous_word:
            found.append("b" + previous_word + " " + run)
        previous_word = run
    return Counter(found)


def complaint_features(text: str, channel: str) -> Counter[str]:
    """Text features plus the channel (a partner ticket is written differently from a chat message)."""
    out = text_features(text)
    out["k" + channel] += 1
    return out
