"""Temperatures and ages stated in a complaint, as numbers the rules can compare with thresholds.

Works on normalised text (see normalise.py): ℃ has become "°c" and Traditional characters Simplified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from services.dispatch.classification.numbers import EN_NUMBER_PATTERN, ZH_NUMBER_CHARS, parse_number
from services.dispatch.normalise import CLAUSE_BREAKS

_NUMBER = rf"(?:(?<!\d)\d{{1,2}}(?:\.\d)?[多几来]?|[{ZH_NUMBER_CHARS}]{{1,4}}|\b{EN_NUMBER_PATTERN})"
_TEMPERATURE = re.compile(
    rf"(?P<minus>零下|负|minus\s+|(?<![\d.])-\s*)?"
    rf"(?P<first>{_NUMBER})(?:\s*(?:到|至|-|~|—|to)\s*(?P<second>{_NUMBER}))?"
    r"\s*(?P<unit>摄氏度|度|°\s*c(?![a-z])|°\s*f(?![a-z])|°|degrees?(?:\s*(?:celsius|centigrade|fahrenheit|c(?![a-z])|f(?![a-z])))?|deg(?![a-z]))"
    r"(?!电)"  # 度电 is a kilowatt-hour
)
_AGE = re.compile(rf"(?P<number>{_NUMBER})\s*(?:周岁|岁|[- ]?years?[- ]old)")
#: "八十多了" (no 岁) is how people speak of an old parent; read as an age only from 60 up.
_OLD_AGE = re.compile(rf"(?P<number>[{ZH_NUMBER_CHARS}]{{2,4}})了")
_CLAUSE_BREAK = re.compile(f"[{re.escape(CLAUSE_BREAKS)}]")

_OUTDOOR_MARKERS = ("外面", "室外", "户外", "外头", "气温", "天气", "最低温", "outside", "outdoor", "weather")
_WATER_MARKERS = ("水温", "出水", "回水", "供水温度", "进水温度", "热水", "water temp")
_BELOW_BEFORE = ("不到", "不足", "低于", "不超过", "不够", "达不到", "below", "under", "less than", "not even")
_BELOW_AFTER = ("都不到", "也不到", "不到", "以下", " or less", " at most")
#: "降了5度" / "5 degrees colder" state a change, not a reading.
_RELATIVE_BEFORE = ("降了", "低了", "高了", "差了", "升了", "降低了", "提高了", "相差", "差")
_RELATIVE_AFTER = (" colder", " warmer", " lower", " higher", " less", " more", "的温差")
_CONTEXT_CHARS = 10
#: "一度" means "at one time" far more often than "1 ℃"; a lone 一 is never read as a temperature.
_NOT_A_TEMPERATURE = {"一", "多", "几", "来"}


class Setting(StrEnum):
    INDOOR = "indoor"
    OUTDOOR = "outdoor"
    WATER = "water"


@dataclass(frozen=True)
class TemperatureReading:
    """A temperature in °C as written; `below` marks "不到18度" / "below 18 degrees" (the true value is lower)."""

    value: float
    text: str
    setting: Setting
    below: bool = False

    @property
    def effective(self) -> float:
        return self.value - 0.5 if self.below else self.value


@dataclass(frozen=True)
class StatedAge:
    value: int
    text: str


def _clause_before(text: str, start: int) -> str:
    window = text[max(0, start - _CONTEXT_CHARS) : start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    return window[breaks[-1].end() :] if breaks else window


def _setting(before: str, negative: bool) -> Setting:
    if negative or any(marker in before for marker in _OUTDOOR_MARKERS):
        return Setting.OUTDOOR
    if any(marker in before for marker in _WATER_MARKERS):
        return Setting.WATER
    return Setting.INDOOR


def extract_temperatures(text: str) -> list[TemperatureReading]:
    """Every plausible temperature (−45…45 °C); a range "15到16度" / "16-17℃" reads as its lower end."""
    readings = []
    for match in _TEMPERATURE.finditer(text):
        if match["first"] in _NOT_A_TEMPERATURE or (match["unit"] == "°" and not match["first"][0].isdigit()):
            continue
        values = [parse_number(word) for word in (match["first"], match["second"]) if word]
        if any(value is None for value in values):
            continue
        value = min(v for v in values if v is not None)
        if match["unit"].replace(" ", "") in ("°f", "degreesfahrenheit", "degreefahrenheit"):
            value = round((value - 32) * 5 / 9, 1)
        if match["minus"]:
            value = -value
        if abs(value) > 45:
            continue
        before = _clause_before(text, match.start())
        after = text[match.end() : match.end() + 8]
        if before.rstrip().endswith(_RELATIVE_BEFORE) or after.startswith(_RELATIVE_AFTER):
            continue
        below = before.rstrip().endswith(_BELOW_BEFORE) or after.startswith(_BELOW_AFTER)
        readings.append(
            TemperatureReading(value, match.group().strip(), _setting(before, match["minus"] is not None), below)
        )
    return readings


def extract_ages(text: str) -> list[StatedAge]:
    """Ages as stated ("82岁", "七八十岁", "80 years old", and "我妈八十多了" for the old); ranges read low."""
    ages = []
    for pattern, low in ((_AGE, 1), (_OLD_AGE, 60)):
        for match in pattern.finditer(text):
            value = parse_number(match["number"])
            if value is not None and low <= value < 120:
                ages.append(StatedAge(int(value), match.group().strip()))
    return ages
