"""Number words as complaints write them (十五, 七八十, 十几, sixteen, twenty-one): enough for temperatures and ages."""

from __future__ import annotations

import re

ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
#: Characters a spoken Chinese number under 100 is made of; 几/多/来 are approximations ("十几", "八十多").
ZH_NUMBER_CHARS = "".join(ZH_DIGITS) + "十几多来"

EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
#: A regex alternative for an English number word from zero to ninety-nine.
_EN_TENS_WORD = "|".join(EN_TENS)
_EN_DIGIT_WORD = "|".join(list(EN_UNITS)[1:10])
_EN_UNIT_WORD = "|".join(sorted(EN_UNITS, key=len, reverse=True))
EN_NUMBER_PATTERN = rf"(?:(?:{_EN_TENS_WORD})(?:[- ](?:{_EN_DIGIT_WORD}))?|{_EN_UNIT_WORD})"


def parse_zh_number(word: str) -> int | None:
    """Value of a Chinese number under 100; a run of two digits (七八十, 十五六) reads as its lower value.

    "十几" is taken as 15, the middle of what it can mean; "八十多" as 80. Returns None for what is no number.
    """
    word = word.strip()
    approx_teens = word.endswith("几")
    word = word.rstrip("几多来")
    if not word or any(ch not in ZH_DIGITS and ch != "十" for ch in word) or word.count("十") > 1:
        return None
    if "十" not in word:
        return ZH_DIGITS[word[0]]
    head, _, tail = word.partition("十")
    tens = ZH_DIGITS[head[0]] if head else 1
    ones = ZH_DIGITS[tail[0]] if tail else (5 if approx_teens else 0)
    return tens * 10 + ones


def parse_en_number(word: str) -> int | None:
    """Value of an English number word under 100 ("sixteen", "twenty-one", "twenty one")."""
    parts = re.split(r"[- ]+", word.strip().lower())
    if len(parts) == 1:
        return EN_UNITS.get(parts[0], EN_TENS.get(parts[0]))
    if len(parts) == 2 and parts[0] in EN_TENS and parts[1] in EN_UNITS and 0 < EN_UNITS[parts[1]] < 10:
        return EN_TENS[parts[0]] + EN_UNITS[parts[1]]
    return None


def parse_number(word: str) -> float | None:
    """Arabic, Chinese or English: whichever the word is written in."""
    word = word.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?[多几来]?", word):
        return float(word.rstrip("多几来"))
    value = parse_zh_number(word)
    if value is None:
        value = parse_en_number(word)
    return None if value is None else float(value)
