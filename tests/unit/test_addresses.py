"""Address keys (`shared/addresses.py`): the writings of one dwelling share a key, different dwellings don't."""

from __future__ import annotations

import pytest

from shared.addresses import address_key, dwelling_key, normalise_address

SAME_DWELLING = [
    "和平区长青小区3号楼2单元301室",
    "长青小区 ３栋２单元３０１",  # full-width digits and a space
    "长青小区3-2-301",  # building-unit-room, as agents abbreviate it
    "长青小区三号楼二单元301",  # Chinese numerals before the markers
    "辽宁省沈阳市和平区长青小区3幢2单元301号",  # province, city and district before it; 幢; 号 for the room
    "长青小区3座2单元301房",
]

SAME_IN_ENGLISH = [
    "Room 301, Unit 2, Bldg 3, Changqing Garden, Heping District",
    "changqing garden building 3 unit 2 #301",
    "CHANGQING GARDEN BLDG3 UNIT2 RM301",
    "Changqing Garden, Block 3, Unit 2, Apt 301",
]


@pytest.mark.parametrize("written", SAME_DWELLING)
def test_the_chinese_writings_of_one_dwelling_share_a_key(written: str) -> None:
    assert address_key(written, "heping") == address_key(SAME_DWELLING[0], "heping") == "heping:长青小区|b3-u2-r301"


@pytest.mark.parametrize("written", SAME_IN_ENGLISH)
def test_the_english_writings_of_one_dwelling_share_a_key(written: str) -> None:
    assert address_key(written, "Heping") == "heping:changqinggarden|b3-u2-r301"


@pytest.mark.parametrize(
    "other",
    [
        "和平区松涛小区3号楼2单元301室",  # another compound
        "和平区长青小区3号楼2单元302室",  # another room
        "和平区长青小区4号楼2单元301室",  # another building
        "和平区长青小区3号楼301室",  # no unit given: not assumed
    ],
)
def test_other_dwellings_do_not(other: str) -> None:
    assert address_key(other, "heping") != address_key(SAME_DWELLING[0], "heping")


def test_the_district_is_part_of_the_key() -> None:
    assert address_key("长青小区3-2-301", "heping") != address_key("长青小区3-2-301", "shenhe")


def test_a_street_number_and_a_market_are_kept_as_written() -> None:
    """号 after a street is its number, and 市场 (a market) is no city: neither is taken for a marker or prefix."""
    assert normalise_address("和平区长青路12号").place == "长青路12号"
    assert normalise_address("长青市场12号").place == "长青市场12号"
    assert normalise_address("长青路12号3栋").building == "3"


def test_an_empty_address_has_no_key() -> None:
    assert address_key("  ，。 ", "heping") == ""


def test_only_an_address_down_to_the_room_names_one_dwelling() -> None:
    """Customers are matched on dwellings: a compound or a building is many households."""
    assert dwelling_key("长青小区3-2-301", "heping") == "heping:长青小区|b3-u2-r301"
    assert dwelling_key("长青小区3号楼", "heping") is None
    assert dwelling_key("和平区长青小区", "heping") is None


@pytest.mark.parametrize(
    "typed", ["长青小区十十栋2单元301", "长青小区二二十号楼2单元301", "长青小区3号楼零四十单元301"]
)
def test_a_numeral_that_reads_as_no_number_is_kept_as_written(typed: str) -> None:
    """A typo among the Chinese numerals (十十, 二二十) is no crash: the key keeps what was typed."""
    assert address_key(typed, "heping").startswith("heping:")
