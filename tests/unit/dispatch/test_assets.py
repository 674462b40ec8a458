"""Asset registry: imports and their problems, place keys in every script, and address → asset matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.dispatch.assets import (
    AssetIndex,
    AssetRegistryError,
    RegisteredAsset,
    ServedPlace,
    building_key,
    compound_key,
    find_place,
    load_assets,
    parse_csv,
    parse_json,
)
from shared.contracts import AssetKind

DEMO_CITY = Path(__file__).resolve().parents[3] / "deploy" / "demo-city" / "assets.csv"
HEADER = "asset_id,type,name_zh,name_en,district,compound,compound_en,building\n"
FIXTURE_ADDRESS = "和平区长青小区5号楼2单元301室"  # tests/support/complaints.py


def csv_of(*rows: str) -> str:
    return HEADER + "\n".join(rows) + "\n"


def problems_of(text: str, parse=parse_csv) -> tuple[str, ...]:
    with pytest.raises(AssetRegistryError) as raised:
        parse(text)
    return raised.value.problems


# --- imports ---------------------------------------------------------------------------------------------


def test_csv_rows_of_one_asset_become_one_record() -> None:
    assets = parse_csv(
        "\ufeff"
        + csv_of(
            "HES-0231,heat_exchange_station,长青换热站,Changqing HES,Heping,长青小区,Changqing Compound,",
            "HES-0231,Heat-Exchange Station,长青换热站,Changqing HES,heping,长青小区,,5号楼",
            "HES-0231,heat_exchange_station,长青换热站,Changqing HES,heping,長青小區,,",  # same place again
            ",,,,,,,",
        )
    )
    assert assets == (
        RegisteredAsset(
            asset_id="HES-0231",
            type=AssetKind.HEAT_EXCHANGE_STATION,
            name_zh="长青换热站",
            name_en="Changqing HES",
            district="heping",
            serves=(ServedPlace("长青小区", None, "Changqing Compound"), ServedPlace("长青小区", "5")),
        ),
    )


def test_csv_optional_columns_may_be_left_out() -> None:
    (asset,) = parse_csv("asset_id,type,name_en,district,compound\nGL-0033,gas_line,Shenhe Gas Line,shenhe,五爱小区\n")
    assert asset.serves == (ServedPlace("五爱小区"),) and asset.name_zh == ""


def test_json_import() -> None:
    document = [
        {
            "asset_id": "WM-0012",
            "type": "water_main",
            "name_zh": "和平南供水干管",
            "name_en": "Heping South Water Main",
            "district": "heping",
            "serves": [
                {"compound": "长青小区", "compound_en": "Changqing Compound"},
                {"compound": "万泉新村", "building": 3},
            ],
        }
    ]
    (asset,) = parse_json(json.dumps(document, ensure_ascii=False))
    assert asset.type is AssetKind.WATER_MAIN
    assert asset.serves == (ServedPlace("长青小区", None, "Changqing Compound"), ServedPlace("万泉新村", "3"))


def test_demo_city_sample_parses_and_has_the_fixture_asset() -> None:
    assets = load_assets(DEMO_CITY)
    assert {asset.type for asset in assets} >= {
        AssetKind.HEAT_EXCHANGE_STATION,
        AssetKind.FEEDER,
        AssetKind.WATER_MAIN,
        AssetKind.GAS_LINE,
    }
    assert {asset.district for asset in assets} == {"heping", "shenhe", "tiexi", "huanggu", "hunnan"}
    assert len({place.compound for asset in assets for place in asset.serves}) >= 30
    assert all(place.compound_en for asset in assets for place in asset.serves)
    index = AssetIndex.build(assets)
    matches = index.match_all("heping", FIXTURE_ADDRESS)
    assert matches[AssetKind.HEAT_EXCHANGE_STATION].asset.asset_id == "HES-0231"
    assert AssetKind.FEEDER in matches


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("HES-1,pump,站,Station,heping,长青小区,,", "row 2: unknown type 'pump' (expected one of"),
        (",feeder,线,Line,heping,长青小区,,", "row 2: missing asset_id"),
        ("HES-1,feeder,线,Line,,长青小区,,", "row 2: missing district"),
        ("HES-1,feeder,,,heping,长青小区,,", "row 2: missing name"),
        ("HES-1,feeder,线,Line,heping,,,", "row 2: missing compound"),
        ("HES-1,feeder,线,Line,heping,长青小区,,第五", "row 2: building '第五' is not a building"),
        ("HES-1,feeder,线,Line,heping,长青小区,Compound,", "row 2: compound_en 'Compound' has no name left"),
        ("HES-1,feeder,线,Line,heping,长青小区,,,extra", "row 2: more cells than columns"),
        ("X" * 65 + ",feeder,线,Line,heping,长青小区,,", "row 2: asset_id longer than 64"),
    ],
)
def test_each_bad_row_is_named(row: str, problem: str) -> None:
    (found,) = problems_of(csv_of(row))
    assert found.startswith(problem)


def test_every_problem_of_an_import_is_listed_at_once() -> None:
    problems = problems_of(
        csv_of(
            "FDR-0107,feeder,长青线,Changqing Feeder,heping,长青小区,,",
            "FDR-0107,water_main,长青线,Changqing Feeder,tiexi,南湖花园,,",
            "HES-1,pump,站,Station,heping,长青小区,,",
        )
    )
    assert problems == (
        "row 4: unknown type 'pump' (expected one of heat_exchange_station, feeder, water_main, gas_line)",
        "row 3: FDR-0107 has type 'water_main' here but 'feeder' in row 2",
        "row 3: FDR-0107 has district 'tiexi' here but 'heping' in row 2",
    )


def test_header_must_have_the_required_columns_and_no_unknown_ones() -> None:
    (missing, unknown) = problems_of("asset_id,type,name_zh,bulding\nA,feeder,x,5\n")
    assert missing == "row 1: missing column(s) compound, district"
    assert unknown.startswith("row 1: unknown column(s) bulding")


def test_two_assets_of_one_type_for_one_place_are_refused() -> None:
    (problem,) = problems_of(
        csv_of(
            "HES-0231,heat_exchange_station,长青站,,heping,长青小区,,5",
            "HES-0232,heat_exchange_station,二号站,,heping,長青小區,,5号楼",
            "FDR-0107,feeder,长青线,,heping,长青小区,,5",  # another type: fine
            "HES-0233,heat_exchange_station,三号站,,heping,长青小区,,",  # whole compound: fine
        )
    )
    assert problem.startswith("row 3: 長青小區 building 5 (heping) is served by heat_exchange_station HES-0232 here")
    assert problem.endswith("and by HES-0231 in row 2: one asset per type and place")


def test_two_compounds_with_one_english_name_in_a_district_are_refused() -> None:
    (problem,) = problems_of(
        csv_of(
            "HES-1,heat_exchange_station,站,,heping,长青小区,Changqing Compound,",
            "HES-1,heat_exchange_station,站,,heping,常青小区,Changqing Garden,",
            "HES-2,heat_exchange_station,站,,tiexi,常青小区,Changqing Garden,",  # another district: fine
        )
    )
    assert problem == (
        "row 3: 常青小区 and 长青小区 (row 2) are both called 'changqing' in heping: give them distinct names"
    )


GAS_LINE = {"asset_id": "GL-0033", "type": "gas_line", "name_en": "x", "district": "shenhe"}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{", "not JSON: "),
        ({"asset_id": "A"}, "expected a list of assets"),
        ([GAS_LINE], "asset 1: serves must be a non-empty list"),
        ([{**GAS_LINE, "serves": [{}]}], "asset 1 serves[1]: missing compound"),
        ([{**GAS_LINE, "asset_id": ["A"], "serves": [{"compound": "c"}]}], "asset 1: asset_id must be text"),
        ([{**GAS_LINE, "colour": 1, "serves": [{"compound": "c"}]}], "asset 1: unknown field(s) colour"),
        (["GL-0033"], "asset 1: expected an object"),
    ],
)
def test_json_problems_are_named_by_asset(document: object, problem: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    assert problems_of(text, parse_json)[0].startswith(problem)


def test_json_duplicate_id_with_conflicting_data() -> None:
    asset = {**GAS_LINE, "serves": [{"compound": "c"}]}
    problems = problems_of(json.dumps([asset, {**asset, "district": "tiexi"}]), parse_json)
    assert problems == ("asset 2: GL-0033 has district 'tiexi' here but 'shenhe' in asset 1",)


def test_index_refuses_records_registered_twice() -> None:
    asset = RegisteredAsset("FDR-1", AssetKind.FEEDER, "线", "", "heping", (ServedPlace("长青小区"),))
    with pytest.raises(AssetRegistryError, match="FDR-1: registered 2 times"):
        AssetIndex.build([asset, asset])


# --- place keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["长青小区", "長青小區", "长青", "长青花园小区", " 长青 小区 ", "长青住宅小区"],
)
def test_chinese_compound_names_share_a_key(name: str) -> None:
    assert compound_key(name) == "长青"


@pytest.mark.parametrize(
    "name",
    ["Changqing Compound", "Changqing Residential Community", "changqing garden", "Chang-Qing Gardens",
     "ＣＨＡＮＧＱＩＮＧ　ＥＳＴＡＴＥ", "Changqing"],
)  # fmt: skip
def test_english_compound_names_share_a_key(name: str) -> None:
    assert compound_key(name) == "changqing"


def test_a_suffix_is_kept_when_too_little_would_remain() -> None:
    assert compound_key("金园") == "金园"
    assert compound_key("Compound") == ""


@pytest.mark.parametrize(
    "text",
    ["5", "05", "5号楼", "5栋", "5幢", "5座", "5#楼", "5號樓", "５号楼", "五号楼", "Building 5", "Bldg 5", "bldg. 5",
     "BLDG５", "#5", "Block 5", "Tower 5", "No. 5 Building"],
)  # fmt: skip
def test_building_forms_share_a_key(text: str) -> None:
    assert building_key(text) == "5"


def test_lettered_buildings_and_what_is_no_building() -> None:
    assert building_key("A座") == building_key("Block A") == "a"
    assert building_key("3楼") is None  # a floor
    assert building_key("第五") is None


# --- addresses ---------------------------------------------------------------------------------------------

KNOWN = {"长青": "长青", "changqing": "长青", "长青苑": "长青苑", "和平": "和平"}


@pytest.mark.parametrize(
    ("address", "compound", "building"),
    [
        (FIXTURE_ADDRESS, "长青", "5"),
        ("和平區長青小區５號樓２單元３０１室", "长青", "5"),
        ("和平区长青小区五号楼", "长青", "5"),
        ("和平区长青小区5号2单元301室", "长青", "5"),
        ("长青小区5-2-301", "长青", "5"),
        ("长青小区3楼", "长青", None),  # a floor, not a building
        ("和平区长青小区", "长青", None),
        ("和平区长青苑3栋", "长青苑", "3"),  # the longest known key wins
        ("和平小区2栋", "和平", "2"),
        ("Bldg 5, Changqing Compound, Heping District", "长青", "5"),
        ("Room 301, Building 5, Chang Qing Garden", "长青", "5"),
        ("#5 changqing residential community", "长青", "5"),
    ],
)
def test_compound_and_building_are_found_in_an_address(address: str, compound: str, building: str | None) -> None:
    found = find_place(address, KNOWN)
    assert found is not None
    assert (found.compound, found.building) == (compound, building)


@pytest.mark.parametrize(
    "address", ["和平区长青路12号", "和平区南湖花园3栋", "Changqing Road 12, Heping District", "和平区"]
)
def test_streets_districts_and_unknown_compounds_are_no_place(address: str) -> None:
    assert find_place(address, KNOWN) is None


# --- matching ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> AssetIndex:
    return AssetIndex.build(
        parse_csv(
            csv_of(
                "HES-0231,heat_exchange_station,长青换热站,Changqing HES,heping,长青小区,Changqing Compound,",
                "HES-0240,heat_exchange_station,西塔换热站,Xita HES,heping,长青小区,,12",
                "FDR-0107,feeder,长青线,Changqing Feeder,heping,长青小区,Changqing Compound,",
                "WM-0027,water_main,卫工干管,Weigong Main,tiexi,兴华小区,Xinghua Compound,",
            )
        )
    )


def test_compound_level_match_with_its_reason(index: AssetIndex) -> None:
    match = index.match("heping", FIXTURE_ADDRESS, [AssetKind.HEAT_EXCHANGE_STATION])
    assert match is not None
    assert (match.asset.asset_id, match.compound, match.building, match.building_level) == (
        "HES-0231",
        "长青小区",
        "5",
        False,
    )
    assert match.reason == "address 长青小区5号楼 is served by HES-0231 (whole compound)"


def test_building_level_entry_wins_over_the_compound(index: AssetIndex) -> None:
    match = index.match("heping", "Building 12, Changqing Compound", [AssetKind.HEAT_EXCHANGE_STATION])
    assert match is not None and match.asset.asset_id == "HES-0240" and match.building_level
    assert match.reason == "address Changqing Compound, Building 12 is served by HES-0240"
    # the building's own heating entry changes nothing for its power
    assert index.match("heping", "长青小区12号楼", [AssetKind.FEEDER]).asset.asset_id == "FDR-0107"  # type: ignore[union-attr]


def test_types_pick_among_the_assets_of_one_place(index: AssetIndex) -> None:
    matches = index.match_all("heping", FIXTURE_ADDRESS)
    assert {t: m.asset.asset_id for t, m in matches.items()} == {
        AssetKind.HEAT_EXCHANGE_STATION: "HES-0231",
        AssetKind.FEEDER: "FDR-0107",
    }
    assert index.match("heping", FIXTURE_ADDRESS, [AssetKind.FEEDER]).asset.asset_id == "FDR-0107"  # type: ignore[union-attr]
    assert index.match("heping", FIXTURE_ADDRESS, [AssetKind.GAS_LINE, AssetKind.FEEDER]).asset.asset_id == "FDR-0107"  # type: ignore[union-attr]
    assert index.match("heping", FIXTURE_ADDRESS, [AssetKind.GAS_LINE]) is None


def test_district_is_case_insensitive_and_must_agree(index: AssetIndex) -> None:
    assert index.match("HEPING", FIXTURE_ADDRESS) is not None
    assert index.match("shenhe", FIXTURE_ADDRESS) is None
    assert index.match_all("unknown", FIXTURE_ADDRESS) == {}


def test_an_address_naming_no_known_compound_matches_nothing(index: AssetIndex) -> None:
    assert index.match("heping", "和平区南湖花园3栋") is None
    assert index.match("tiexi", "铁西区兴华街12号") is None  # tests/support/complaints.py: a street, not the compound
    assert index.match("tiexi", "Xinghua Compound").asset.asset_id == "WM-0027"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("address", "compound"),
    [
        ("和平区长青小区5号楼2单元301室", "长青"),  # known to the registry
        ("和平区风暴918828小区20号楼1单元", "风暴918828"),  # unknown: its name in the address, digits and all
        ("和平区金地名京2期花园5栋", "金地名京2期"),
        ("和平区测试路123号", None),  # a street address names no compound
        ("Bldg 5, Foo Road", None),
    ],
)
def test_the_compound_of_an_address_known_or_not(address: str, compound: str | None) -> None:
    index = AssetIndex.build(load_assets(DEMO_CITY))
    assert index.compound_of("heping", address) == compound


def test_lines_may_end_in_cr_and_a_stray_cr_is_a_problem_named_not_a_crash() -> None:
    """The security fuzz sent a body with a bare CR mid-line: the csv module's error became a 500."""
    row = "HES-1,heat_exchange_station,站,Station,heping,长青小区,,"
    (asset,) = parse_csv((HEADER + row).replace("\n", "\r") + "\r")
    assert asset.asset_id == "HES-1"
    assert problems_of("\x97H\r\x0c")[0].startswith("row 1: missing column(s)")
