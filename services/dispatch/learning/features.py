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


def _cjk_grams(run: str, out: Counter[str]) -> None:
    n = len(run)
    for i in range(n):
        out["c" + run[i]] += 1
        if i + 1 < n:
            out["c" + run[i : i + 2]] += 1
        if i + 2 < n:
            out["c" + run[i : i + 3]] += 1


def _word_grams(word: str, out: Counter[str]) -> None:
    out["w" + word] += 1
    padded = f"<{word}>"
    for size in (3, 4, 5):
        for i in range(len(padded) - size + 1):
            out["p" + padded[i : i + size]] += 1


def text_features(text: str) -> Counter[str]:
    """Feature counts of one complaint text (raw, as received)."""
    clean = _DIGITS.sub("0", normalise(text))
    out: Counter[str] = Counter()
    previous_word = ""
    for run in _RUNS.findall(clean):
        if _CJK_CHAR.match(run):
            _cjk_grams(run, out)
            previous_word = ""
            continue
        _word_grams(run, out)
        if previous_word:
            out["b" + previous_word + " " + run] += 1
        previous_word = run
    return out


def complaint_features(text: str, channel: str) -> Counter[str]:
    """Text features plus the channel (a partner ticket is written differently from a chat message)."""
    out = text_features(text)
    out["k" + channel] += 1
    return out
