"""Text normalisation and the numbers in it: one lexicon must serve zh, zh-Hant, full-width and English text."""

from __future__ import annotations

import pytest

from services.dispatch.classification.numbers import parse_en_number, parse_zh_number
from services.dispatch.classification.quantities import Setting, extract_ages, extract_temperatures
from services.dispatch.normalise import normalise


def test_traditional_becomes_simplified_with_mainland_phrases() -> None:
    assert normalise("暖氣不熱，屋裡很冷，請派人來檢查") == "暖气不热,屋里很冷,请派人来检查"
    assert normalise("本人於12月5日已透過銀行代繳熱費") == "本人于12月5日已透过银行代缴热费"
    assert normalise("水錶閥門滲水") == "水表阀门渗水"


def test_full_width_becomes_half_width_and_english_lower_case() -> None:
    assert normalise("ＲＯＯＭ　Temp　１６℃！") == "room temp 16°c!"


def test_spaces_between_chinese_words_read_as_clause_breaks() -> None:
    # chat messages use spaces where others write commas; a negation must not reach across them
    assert normalise("暖气不热  屋里冰凉") == "暖气不热,屋里冰凉"
    assert normalise("app 上看不到 usage") == "app 上看不到 usage"


@pytest.mark.parametrize(
    ("word", "value"),
    [("十", 10), ("十五", 15), ("二十", 20), ("二十三", 23), ("三十多", 30), ("七八十", 70), ("十五六", 15),
     ("十几", 15), ("两", 2), ("零", 0), ("八十多", 80)],
)  # fmt: skip
def test_chinese_numerals(word: str, value: int) -> None:
    assert parse_zh_number(word) == value


@pytest.mark.parametrize("word", ["", "十十", "abc", "百"])
def test_non_numerals_are_refused(word: str) -> None:
    assert parse_zh_number(word) is None


@pytest.mark.parametrize(
    ("word", "value"),
    [("zero", 0), ("twelve", 12), ("sixteen", 16), ("twenty", 20), ("twenty-one", 21), ("forty one", 41)],
)
def test_english_number_words(word: str, value: int) -> None:
    assert parse_en_number(word) == value


@pytest.mark.parametrize(
    "text",
    ["室温15度", "室温15℃", "室温１５℃", "it is 15°C inside", "room at 15 degrees", "only fifteen degrees",
     "屋里十五度", "屋里十五℃", "屋裡十五度", "15 degrees celsius", "59°F in the flat"],
)  # fmt: skip
def test_each_temperature_spelling_reads_as_fifteen(text: str) -> None:
    (reading,) = extract_temperatures(normalise(text))
    assert reading.value == pytest.approx(15, abs=0.1)
    assert reading.setting is Setting.INDOOR


def test_outdoor_and_negative_temperatures_are_not_indoor() -> None:
    readings = extract_temperatures(normalise("外面零下18度，屋里就13度，室外-5°C"))
    assert [(r.value, r.setting) for r in readings] == [
        (-18, Setting.OUTDOOR),
        (13, Setting.INDOOR),
        (-5, Setting.OUTDOOR),
    ]


def test_a_range_reads_as_its_lower_end_and_not_as_a_minus() -> None:
    assert [r.value for r in extract_temperatures(normalise("室温16-17℃，卧室15到16度"))] == [16, 15]


def test_below_a_value_is_marked() -> None:
    (not_reached,) = extract_temperatures(normalise("屋里18度都不到"))
    (below,) = extract_temperatures(normalise("还是不到18度"))
    assert not_reached.below and below.below
    assert not_reached.effective < 18


@pytest.mark.parametrize("text", ["这个月用了30度电", "暖气一度不热", "比去年低了5度", "it got 5 degrees colder"])
def test_what_is_no_temperature_reading(text: str) -> None:
    assert extract_temperatures(normalise(text)) == []


@pytest.mark.parametrize(
    ("text", "age"),
    [("她今年82岁", 82), ("七八十岁的老人", 70), ("an 80-year-old man", 80), ("my mother is 85 years old", 85),
     ("我妈八十多了", 80)],
)  # fmt: skip
def test_stated_ages(text: str, age: int) -> None:
    assert [a.value for a in extract_ages(normalise(text))] == [age]


def test_young_ages_need_the_word_for_years() -> None:
    assert extract_ages(normalise("等了三十多了")) == []
