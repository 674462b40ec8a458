"""Compound and building names reduced to keys, so one place written many ways is recognised as one.

Why keys and not parsing: callers write addresses in Simplified or Traditional Chinese, English or pinyin,
with or without the district, the "小区"/"Compound" suffix, unit and room. The registry knows every compound
of a district, so finding a *known* key inside the address is more robust than taking the address apart.

Rules, in order (see `fold`, `compound_key`, `building_key`, `find_place`):

1. Fold: NFKC (full-width digits and letters → ASCII), Traditional → Simplified (the classifier's OpenCC
   setting), lower case, runs of whitespace → one space.
2. A Chinese compound name loses one trailing suffix at a time from `ZH_COMPOUND_SUFFIXES` ("长青花园小区" →
   "长青"), but never below two characters ("金园" stays "金园"), and all whitespace: 长青小区, 長青小區 → 长青.
3. An English name loses trailing suffix words from `EN_COMPOUND_SUFFIXES`, then everything but letters and
   digits: "Changqing Residential Community", "Chang-qing Garden" → changqing. English and Chinese keys never
   collide (one has CJK, the other has none); the registry maps both to the same compound.
4. A building is a number, a Chinese numeral or one letter: 5号楼, 5栋, 5幢, 5座, 5#, 五号楼, Building 5,
   Bldg. 5, Block 5, Tower 5, #5, No. 5 Building → "5"; A座, Block A → "a". "5号" counts only before a unit
   (5号2单元), and "N楼" never does: it is a floor.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from services.dispatch.classification.numbers import ZH_DIGITS, parse_zh_number
from services.dispatch.normalise import has_cjk, to_simplified

#: Longest first, so "住宅小区" goes before "小区" would leave "住宅".
ZH_COMPOUND_SUFFIXES = ("住宅小区", "小区", "社区", "花园", "家园", "公寓", "新村", "大院", "苑", "园")
EN_COMPOUND_SUFFIXES = frozenset(
    {
        "compound", "community", "residential", "residence", "residences", "garden", "gardens", "estate",
        "estates", "apartment", "apartments", "court", "xiaoqu", "village",
    }
)  # fmt: skip
#: A Chinese key followed by one of these names a street or a district ("长青路", "和平区"), not the compound.
_ZH_NOT_A_COMPOUND = re.compile(r"路|街|道|巷|区|县|市|镇|大街|大道|胡同")
#: Nor does an English key followed by one of these words ("Heping District", "Changqing Road").
_EN_NOT_A_COMPOUND = frozenset({"district", "road", "rd", "street", "st", "avenue", "ave", "lane", "county"})
#: How many English words one compound name may span ("chang qing" + "xin cun").
_MAX_EN_WORDS = 4

_ZH_NUMERAL = "[" + "".join(ZH_DIGITS) + "十]+"
_BUILDING_ID = rf"(\d+|[a-z]|{_ZH_NUMERAL})"
_ZH_BUILDING = re.compile(
    rf"{_BUILDING_ID}\s*(?:号楼|栋|幢|座|#)|{_BUILDING_ID}\s*号(?=\s*(?:\d+|{_ZH_NUMERAL})\s*单元)"
)
_EN_BUILDING = re.compile(
    r"\b(?:building|bldg|block|blk|tower)\.?\s*(?:no\.?\s*)?#?\s*([a-z]|\d+)\b|#\s*([a-z]|\d+)\b"
    r"|\bno\.?\s*(\d+)\s*(?:building|bldg|block|tower)\b"
)
#: "长青小区5-2-301": building-unit-room, read only right after the compound's name.
_DASHED = re.compile(r"\s*(\d+)-\d+(?:-\d+)?")
_ZH_SUFFIX_AFTER_KEY = re.compile("|".join(ZH_COMPOUND_SUFFIXES))
_EN_WORDS = re.compile(r"[a-z0-9]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Full-width → half-width, Traditional → Simplified, lower case, single spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    return _SPACES.sub(" ", text).strip()


def district_key(district: str) -> str:
    """Districts are ids ("heping"); "Heping", " HEPING " and full-width letters name the same one."""
    return fold(district)


def compound_key(name: str) -> str:
    """The key of a compound name: Chinese without its suffix, or English letters and digits without suffix words.

    Returns "" for a name with nothing left (only punctuation, or only suffix words).
    """
    text = fold(name)
    if has_cjk(text):
        key = _SPACES.sub("", text)
        stripped = True
        while stripped:
            stripped = False
            for suffix in ZH_COMPOUND_SUFFIXES:
                if key.endswith(suffix) and len(key) - len(suffix) >= 2:
                    key = key[: -len(suffix)]
                    stripped = True
                    break
        return key
    words = _EN_WORDS.findall(text)
    while len(words) > 1 and words[-1] in EN_COMPOUND_SUFFIXES:
        words.pop()
    if len(words) == 1 and words[0] in EN_COMPOUND_SUFFIXES:
        return ""
    return "".join(words)


def _building_id(raw: str) -> str | None:
    """Building ids compare as text: "05" → "5", "五" → "5", "A" → "a"; None for a Chinese numeral that is no number."""
    if raw.isdigit():
        return str(int(raw))
    if re.fullmatch(_ZH_NUMERAL, raw):
        value = parse_zh_number(raw)
        return None if value is None else str(value)
    return raw


def building_key(text: str) -> str | None:
    """The building a registry entry or an address fragment names ("5号楼", "Bldg 5", "#5", "5" → "5"), else None."""
    folded = fold(text)
    if re.fullmatch(_BUILDING_ID, folded):
        return _building_id(folded)
    return _first_building(folded)


def _first_building(folded: str) -> str | None:
    """The leftmost building marker of folded text, Chinese or English."""
    found: list[tuple[int, str]] = []
    for pattern in (_ZH_BUILDING, _EN_BUILDING):
        for match in pattern.finditer(folded):
            raw = next(group for group in match.groups() if group)
            building = _building_id(raw)
            if building is not None:
                found.append((match.start(), building))
                break
    return min(found)[1] if found else None


@dataclass(frozen=True)
class FoundPlace:
    """Where an address is: the compound (as `known` names it), the building key if the address gives one."""

    compound: str
    building: str | None
    #: The part of the folded address the compound was recognised by, for explanations.
    matched: str


def find_place(address: str, known: Mapping[str, str]) -> FoundPlace | None:
    """Find a known compound, and the building, in a free address.

    `known` maps every key a compound may be written as (its Chinese key, its English key) to the compound's
    identity. Chinese keys are searched in the address without spaces, English keys as runs of up to four
    words. The longest key found wins (then the leftmost); Chinese keys before English ones. A key followed by
    路/街/区… or Road/Street/District… is a street or district of the same name and does not count.

    The building is looked for in the rest of the address (the compound's name blanked out, so "长青二号小区"
    is no building 2): the leftmost marker of `building_key`'s rules, or "5-2-301" right after the compound.
    """
    folded = fold(address)
    zh = _find_zh(folded, known)
    found = zh if zh is not None else _find_en(folded, known)
    if found is None:
        return None
    compound, start, end = found
    rest = folded[:start] + " " * (end - start) + folded[end:]
    building = _first_building(rest)
    if building is None and (dashed := _DASHED.match(folded, end)) is not None:
        building = _building_id(dashed.group(1))
    return FoundPlace(compound=compound, building=building, matched=folded[start:end])


def _find_zh(folded: str, known: Mapping[str, str]) -> tuple[str, int, int] | None:
    """(compound, start, end) of the longest Chinese key in `folded`, its suffix included in the span."""
    best: tuple[int, int, str, int] | None = None  # (-length, start, compound, end)
    for key, compound in known.items():
        if not has_cjk(key):
            continue
        for match in re.finditer(re.escape(key), folded):
            end = match.end()
            if _ZH_NOT_A_COMPOUND.match(folded, end):
                continue
            if (suffix := _ZH_SUFFIX_AFTER_KEY.match(folded, end)) is not None:
                end = suffix.end()
            candidate = (-len(key), match.start(), compound, end)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return None if best is None else (best[2], best[1], best[3])


def _find_en(folded: str, known: Mapping[str, str]) -> tuple[str, int, int] | None:
    """(compound, start, end) of the longest English key spelt by consecutive words of `folded`."""
    words = list(_EN_WORDS.finditer(folded))
    best: tuple[int, int, str, int] | None = None
    for first in range(len(words)):
        for last in range(first, min(first + _MAX_EN_WORDS, len(words))):
            key = "".join(word.group() for word in words[first : last + 1])
            if key not in known:
                continue
            following = words[last + 1].group() if last + 1 < len(words) else ""
            if following in _EN_NOT_A_COMPOUND:
                continue
            candidate = (-len(key), words[first].start(), known[key], words[last].end())
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return None if best is None else (best[2], best[1], best[3])
