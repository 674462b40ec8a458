"""One key per dwelling, whichever way its address was written, so a customer is found by address too.

A caller on 12345 says "长青小区3号楼2单元301室"; the same household wrote "长青小区 3栋2单元301" on the web, an
agent typed "长青小区3-2-301", and an English form says "Room 301, Unit 2, Bldg 3, Changqing Garden". Intake
matches a complaint to a customer by account, else phone, else this key (`address_key`); reporting finds a
household by it. Pure text work, no I/O, no gazetteer: what is normalised is what writers vary without
meaning to —

- width and case: full-width digits, letters and spaces (NFKC), upper/lower case;
- the markers of building (号楼, 栋, 幢, 座, 号院楼; Bldg, Building, Block, Blk), unit (单元; Unit) and room
  (室, 房, 户; Room, Rm, Apt, Flat, #), in any order, and the compact "3-2-301" (building-unit-room);
- small Chinese numerals before a marker (三号楼, 二单元);
- spaces and punctuation, and the leading province/city/district names (the district is its own field: the
  key takes it from there, so "和平区长青小区" and "长青小区" in district heping are one place).

What is left of the text (the compound, the street and its number) is kept as it is: two different compounds
never share a key. An address in Chinese and the same address in English do not share one either (no
transliteration): a household that writes both is still found by account or phone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ZH_DIGITS = {"零": 0, "〇": 0, "两": 2} | {ch: n for n, ch in enumerate("零一二三四五六七八九")}

_BUILDING_ZH = r"号楼|号院楼|栋|幢|座|号座"
_UNIT_ZH = r"单元"
_ROOM_ZH = r"室|房|户|号房"
_BUILDING_EN = r"building|bldg\.?|block|blk\.?|bld\.?"
_UNIT_EN = r"unit|entrance"
_ROOM_EN = r"room|rm\.?|apt\.?|apartment|flat|suite|#"

_NUMBER = r"([0-9]+[a-z]?)"
#: "三号楼", "十二单元": a small Chinese numeral standing before a marker, written in digits first.
_ZH_NUMERAL = re.compile(rf"([零〇一二两三四五六七八九十]{{1,3}})(?=(?:{_BUILDING_ZH}|{_UNIT_ZH}|{_ROOM_ZH}))")
#: The leading names of the province, city, county or district ("辽宁省沈阳市和平区"); not "长青小区" (小区 is a
#: compound), and never the whole text.
_ADMIN_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{1,7}?(?<![小社园])(?:省|自治区|市(?!场)|区|县))+(?=.)")
_ADMIN_WORDS_EN = re.compile(r"\b[a-z]+ (?:district|city|county|province)\b")

_PARTS = (
    # zh: the number before its marker ("3号楼", "2单元", "301室")
    ("building", re.compile(rf"{_NUMBER}(?:{_BUILDING_ZH})")),
    ("unit", re.compile(rf"{_NUMBER}(?:{_UNIT_ZH})")),
    ("room", re.compile(rf"{_NUMBER}(?:{_ROOM_ZH})")),
    # en: the marker before its number ("Bldg 3", "Unit 2", "Room 301", "#301")
    ("building", re.compile(rf"(?<![a-z])(?:{_BUILDING_EN})\s*{_NUMBER}(?![0-9])")),
    ("unit", re.compile(rf"(?<![a-z])(?:{_UNIT_EN})\s*{_NUMBER}(?![0-9])")),
    ("room", re.compile(rf"(?:(?<![a-z])(?:{_ROOM_EN}))\s*{_NUMBER}(?![0-9])")),
)
#: "3-2-301" or "3-301": building-unit-room, or building-room, as agents and forms abbreviate it.
_COMPACT = re.compile(r"(?<![0-9-])([0-9]+)\s*[-－—/]\s*(?:([0-9]+)\s*[-－—/]\s*)?([0-9]+)(?![0-9-])")
_NOISE = re.compile(r"[\s,，、.。;；:：()（）\[\]【】\"'“”‘’-]+")


@dataclass(frozen=True)
class NormalisedAddress:
    """The dwelling's parts as read from the text: the place (compound, street and number) and, where given, its
    building, unit and room."""

    place: str
    building: str | None = None
    unit: str | None = None
    room: str | None = None

    @property
    def key(self) -> str:
        """The comparable form: the place, then whichever of building/unit/room were given."""
        parts = [f"{tag}{value}" for tag, value in (("b", self.building), ("u", self.unit), ("r", self.room)) if value]
        return self.place + ("|" + "-".join(parts) if parts else "")


def _zh_number(text: str) -> str:
    """一 → 1, 十二 → 12, 二十 → 20, 二十三 → 23 (buildings and units rarely go further); what reads as no number
    (十十, 二二十, 三十十: a typo) is kept as written."""
    if "十" not in text:
        return "".join(str(_ZH_DIGITS[ch]) for ch in text)
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or ones == "十":
        return text
    return str((_ZH_DIGITS[tens] if tens else 1) * 10 + (_ZH_DIGITS[ones] if ones else 0))


def normalise_address(address: str) -> NormalisedAddress:
    """Read an address's place, building, unit and room (see the module's docstring for what is normalised)."""
    text = unicodedata.normalize("NFKC", address).lower().strip()
    text = _ZH_NUMERAL.sub(lambda m: _zh_number(m.group(1)), text)
    text = _ADMIN_WORDS_EN.sub(" ", text)
    found: dict[str, str] = {}
    for name, pattern in _PARTS:
        match = pattern.search(text)
        if match and name not in found:
            found[name] = match.group(1).lstrip("0") or "0"
            text = text[: match.start()] + " " + text[match.end() :]
    if not found:
        compact = _COMPACT.search(text)
        if compact:
            found["building"], unit, found["room"] = compact.group(1), compact.group(2), compact.group(3)
            if unit:
                found["unit"] = unit
            text = text[: compact.start()] + " " + text[compact.end() :]
    elif "room" not in found and ("building" in found or "unit" in found):
        # "3号楼2单元301": the bare number after the unit (or building) is the room.
        trailing = re.search(r"(?<![0-9])([0-9]{2,5})\s*号?\s*$", text)
        if trailing:
            found["room"] = trailing.group(1)
            text = text[: trailing.start()]
    place = _ADMIN_PREFIX.sub("", _NOISE.sub("", text)) or _NOISE.sub("", text)
    return NormalisedAddress(place, found.get("building"), found.get("unit"), found.get("room"))


def address_key(address: str, district: str | None = None) -> str:
    """The key two writings of one dwelling share: `district:` (when given, lower case) and the normalised
    address. Empty text gives an empty key, which nobody should match on (`address_key` callers skip it)."""
    normalised = normalise_address(address)
    if not normalised.place and not normalised.building and not normalised.room:
        return ""
    prefix = f"{unicodedata.normalize('NFKC', district).strip().lower()}:" if district else ""
    return prefix + normalised.key


def dwelling_key(address: str, district: str | None = None) -> str | None:
    """The address key when the address names one dwelling (down to the room), else None: a compound, a building
    or a street number alone is many households, and matching customers on it would merge them."""
    if normalise_address(address).room is None:
        return None
    return address_key(address, district) or None
