"""The asset registry: which heat-exchange station, feeder, water main or gas line serves which places.

Operators keep it in a spreadsheet or export it from their GIS, so it is imported as CSV or JSON and checked
as a whole: one `AssetRegistryError` lists every problem with its row, rather than stopping at the first.

CSV (UTF-8, a byte-order mark is fine), a header row, then one row per (asset, place it serves)::

    asset_id,type,name_zh,name_en,district,compound,compound_en,building
    HES-0231,heat_exchange_station,长青换热站,Changqing HES,heping,长青小区,Changqing Compound,
    HES-0232,heat_exchange_station,长青二号换热站,Changqing HES 2,heping,长青小区,Changqing Compound,12

- Required columns: asset_id, type, district, compound. Optional: name_zh, name_en, compound_en, building
  (the column may be left out). Any other column is an error: a misspelt "building" would otherwise turn
  building-level rows into whole-compound ones without a word.
- type: one of `AssetKind` (heat_exchange_station, feeder, water_main, gas_line); case and
  "-"/" " for "_" are forgiven.
- An asset spans as many rows as places it serves; its type, names and district must agree on every row.
- building empty = the whole compound. Otherwise anything `building_key` reads: 5, 5号楼, Building 5, #5.
- compound is the compound's name as callers say it (usually Chinese); compound_en its English name, which
  lets English and pinyin addresses find it.
- Rows are numbered as a spreadsheet shows them: the header is row 1. Blank rows are skipped.

JSON: a list of assets, the same fields, the places under "serves"::

    [{"asset_id": "HES-0231", "type": "heat_exchange_station", "name_zh": "长青换热站",
      "name_en": "Changqing HES", "district": "heping",
      "serves": [{"compound": "长青小区", "compound_en": "Changqing Compound"},
                 {"compound": "长青小区", "building": "5"}]}]

Problems are named "asset N" (1-based position in the list) and "asset N serves[M]".

Checks on both: a known type; an asset id (at most 64 characters, what a complaint's `location.asset.id`
holds), a district, a name in at least one language and at least one place; buildings that read as one;
and across assets: one asset per type for a place (the index could only guess between two heat-exchange
stations of one building — a whole-compound entry and a building entry of the same type are fine, the
building's wins), and one compound per English name in a district. Names that differ only in their suffix
(长青小区, 長青小區, 长青花园) are one compound: two such compounds in one district cannot be told apart.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.dispatch.assets.addresses import building_key, compound_key, district_key
from services.dispatch.errors import Unprocessable
from shared.contracts import AssetKind

ASSET_ID_MAX_LENGTH = 64
CSV_COLUMNS = ("asset_id", "type", "name_zh", "name_en", "district", "compound", "compound_en", "building")
REQUIRED_CSV_COLUMNS = frozenset({"asset_id", "type", "district", "compound"})
_ASSET_FIELDS = ("type", "name_zh", "name_en", "district")


class AssetRegistryError(Unprocessable, ValueError):
    """Every problem of one import, each starting with its row ("row 7: ..."): a 422 listing them all (`problems`)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("the registry has problems", problems=list(self.problems))

    def __str__(self) -> str:
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        return f"{len(self.problems)} problem(s) in the asset registry:\n{listing}"


def registry_text(body: bytes) -> str:
    """An uploaded registry file as text (a BOM is dropped); a 422 when it is not UTF-8."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the registry file is not UTF-8") from None


@dataclass(frozen=True)
class ServedPlace:
    """A compound, or one building of it (`building` is a `building_key`, e.g. "5"; None = the whole compound)."""

    compound: str
    building: str | None = None
    compound_en: str | None = None


@dataclass(frozen=True)
class RegisteredAsset:
    """One asset and every place it serves. `district` is a `district_key` ("heping")."""

    asset_id: str
    type: AssetKind
    name_zh: str
    name_en: str
    district: str
    serves: tuple[ServedPlace, ...]


def load_assets(path: Path) -> tuple[RegisteredAsset, ...]:
    """Read a registry file; .csv or .json by its suffix."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return parse_csv(text)
    if path.suffix.lower() == ".json":
        return parse_json(text)
    raise AssetRegistryError([f"{path.name}: expected a .csv or .json file"])


@dataclass
class _Entry:
    """One asset's fields as one row (CSV) or one list item (JSON) gave them, checked."""

    label: str
    asset_id: str
    fields: dict[str, Any]
    places: list[tuple[str, ServedPlace]]


def parse_csv(text: str) -> tuple[RegisteredAsset, ...]:
    """Assets of a CSV import (module docstring); raises `AssetRegistryError` listing every bad row."""
    # newline="": a line may end in CR, LF or CRLF (the csv module's own line handling).
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:  # a file the csv module cannot read at all: a 422 naming why, never a 500
        raise AssetRegistryError([f"row 1: not a CSV file ({exc})"]) from None
    reader.fieldnames = header
    problems: list[str] = []
    if missing := REQUIRED_CSV_COLUMNS - set(header):
        problems.append(f"row 1: missing column(s) {', '.join(sorted(missing))}")
    if unknown := [name for name in header if name not in CSV_COLUMNS]:
        problems.append(f"row 1: unknown column(s) {', '.join(unknown)} (expected {', '.join(CSV_COLUMNS)})")
    if problems:
        raise AssetRegistryError(problems)
    entries: list[_Entry] = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            problems.append(f"row {number}: more cells than columns")
            continue
        cells = {name: (value or "").strip() for name, value in row.items()}
        if not any(cells.values()):
            continue
        label = f"row {number}"
        entry = _check_asset(label, cells, problems)
        place = _check_place(label, cells, problems)
        if entry is not None and place is not None:
            entry.places.append((label, place))
            entries.append(entry)
    return _assemble(entries, problems)


def parse_json(text: str) -> tuple[RegisteredAsset, ...]:
    """Assets of a JSON import (module docstring); raises `AssetRegistryError` listing every bad asset."""
    try:
        document = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as error:
        raise AssetRegistryError([f"not JSON: {error}"]) from None
    if not isinstance(document, list):
        raise AssetRegistryError(["expected a list of assets"])
    problems: list[str] = []
    entries: list[_Entry] = []
    for number, item in enumerate(document, start=1):
        label = f"asset {number}"
        if not isinstance(item, dict):
            problems.append(f"{label}: expected an object")
            continue
        if unknown := sorted(set(item) - {*_ASSET_FIELDS, "asset_id", "serves"}):
            problems.append(f"{label}: unknown field(s) {', '.join(unknown)}")
        entry = _check_asset(label, _strings(label, item, problems), problems)
        serves = item.get("serves")
        if not isinstance(serves, list) or not serves:
            problems.append(f"{label}: serves must be a non-empty list of places")
            continue
        for index, served in enumerate(serves, start=1):
            place_label = f"{label} serves[{index}]"
            if not isinstance(served, dict):
                problems.append(f"{place_label}: expected an object")
                continue
            if unknown := sorted(set(served) - {"compound", "compound_en", "building"}):
                problems.append(f"{place_label}: unknown field(s) {', '.join(unknown)}")
            place = _check_place(place_label, _strings(place_label, served, problems), problems)
            if entry is not None and place is not None:
                entry.places.append((place_label, place))
        if entry is not None:
            entries.append(entry)
    return _assemble(entries, problems)


def _strings(label: str, item: Mapping[str, Any], problems: list[str]) -> dict[str, str]:
    """The string fields of a JSON object, stripped; null is empty; numbers are read as text (building 5)."""
    cells: dict[str, str] = {}
    for name, value in item.items():
        if name == "serves":
            continue
        if value is None:
            cells[name] = ""
        elif isinstance(value, str | int) and not isinstance(value, bool):
            cells[name] = str(value).strip()
        else:
            problems.append(f"{label}: {name} must be text")
    return cells


def _check_asset(label: str, cells: Mapping[str, str], problems: list[str]) -> _Entry | None:
    before = len(problems)
    asset_id = cells.get("asset_id", "")
    if not asset_id:
        problems.append(f"{label}: missing asset_id")
    elif len(asset_id) > ASSET_ID_MAX_LENGTH:
        problems.append(f"{label}: asset_id longer than {ASSET_ID_MAX_LENGTH} characters")
    raw_type = cells.get("type", "")
    asset_type = _asset_type(raw_type)
    if asset_type is None:
        expected = ", ".join(member.value for member in AssetKind)
        problems.append(f"{label}: unknown type {raw_type!r} (expected one of {expected})")
    district = district_key(cells.get("district", ""))
    if not district:
        problems.append(f"{label}: missing district")
    name_zh, name_en = cells.get("name_zh", ""), cells.get("name_en", "")
    if not name_zh and not name_en:
        problems.append(f"{label}: missing name (name_zh or name_en)")
    if len(problems) > before:
        return None
    fields = {"type": asset_type, "name_zh": name_zh, "name_en": name_en, "district": district}
    return _Entry(label=label, asset_id=asset_id, fields=fields, places=[])


def _asset_type(raw: str) -> AssetKind | None:
    value = raw.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return AssetKind(value)
    except ValueError:
        return None


def _check_place(label: str, cells: Mapping[str, str], problems: list[str]) -> ServedPlace | None:
    compound = cells.get("compound", "")
    compound_en = cells.get("compound_en", "") or None
    raw_building = cells.get("building", "")
    before = len(problems)
    if not compound:
        problems.append(f"{label}: missing compound")
    elif not compound_key(compound):
        problems.append(f"{label}: compound {compound!r} has no name left once its suffix is dropped")
    if compound_en is not None and not compound_key(compound_en):
        problems.append(f"{label}: compound_en {compound_en!r} has no name left once its suffix is dropped")
    building = building_key(raw_building) if raw_building else None
    if raw_building and building is None:
        problems.append(f"{label}: building {raw_building!r} is not a building number or letter (5, 5号楼, Bldg 5)")
    if len(problems) > before:
        return None
    return ServedPlace(compound=compound, building=building, compound_en=compound_en)


def _assemble(entries: list[_Entry], problems: list[str]) -> tuple[RegisteredAsset, ...]:
    """Rows of one asset into one record (their asset fields must agree), then the checks across assets."""
    first: dict[str, _Entry] = {}
    for entry in entries:
        seen = first.get(entry.asset_id)
        if seen is None:
            first[entry.asset_id] = entry
            continue
        conflicts = [name for name in _ASSET_FIELDS if entry.fields[name] != seen.fields[name]]
        for name in conflicts:
            here, there = (str(fields[name]) for fields in (entry.fields, seen.fields))
            problems.append(f"{entry.label}: {entry.asset_id} has {name} {here!r} here but {there!r} in {seen.label}")
        if not conflicts:
            seen.places.extend(entry.places)
    assets = [_record(entry) for entry in first.values()]
    places = [
        (label, entry.asset_id, entry.fields["type"], entry.fields["district"], place)
        for entry in first.values()
        for label, place in entry.places
    ]
    problems.extend(cross_asset_problems(places))
    if problems:
        raise AssetRegistryError(problems)
    return tuple(assets)


def _record(entry: _Entry) -> RegisteredAsset:
    serves: dict[tuple[str, str | None], ServedPlace] = {}
    for _, place in entry.places:
        serves.setdefault((compound_key(place.compound), place.building), place)
    return RegisteredAsset(asset_id=entry.asset_id, serves=tuple(serves.values()), **entry.fields)


def cross_asset_problems(places: Iterable[tuple[str, str, AssetKind, str, ServedPlace]]) -> list[str]:
    """Problems no single row shows: two assets of one type for one place, two compounds for one English name.

    `places` are (label, asset_id, type, district, place); the label says where the place came from
    ("row 7", or the asset id when the records did not come from an import).
    """
    problems: list[str] = []
    served_by: dict[tuple[str, str, str | None, AssetKind], tuple[str, str]] = {}
    named: dict[tuple[str, str], tuple[str, str, str]] = {}
    for label, asset_id, asset_type, district, place in places:
        key = compound_key(place.compound)
        building = building_key(place.building) if place.building else None
        where = (district, key, building, asset_type)
        other = served_by.setdefault(where, (label, asset_id))
        if other[1] != asset_id:
            what = place.compound + (f" building {building}" if building else "")
            problems.append(
                f"{label}: {what} ({district}) is served by {asset_type.value} {asset_id} here"
                f" and by {other[1]} in {other[0]}: one asset per type and place"
            )
        for name in (place.compound, place.compound_en):
            if not name:
                continue
            alias = compound_key(name)
            seen = named.setdefault((district, alias), (label, key, place.compound))
            if seen[1] != key:
                problems.append(
                    f"{label}: {place.compound} and {seen[2]} ({seen[0]}) are both called {alias!r} in {district}:"
                    " give them distinct names"
                )
    return list(dict.fromkeys(problems))


def registry_places(assets: Iterable[RegisteredAsset]) -> list[tuple[str, str, AssetKind, str, ServedPlace]]:
    """`cross_asset_problems`' input for records that did not come from an import (labelled by asset id)."""
    return [
        (asset.asset_id, asset.asset_id, asset.type, district_key(asset.district), place)
        for asset in assets
        for place in asset.serves
    ]


def registered_assets(rows: list[dict[str, Any]]) -> list[RegisteredAsset]:
    """Stored registry rows as the index takes them."""
    return [
        RegisteredAsset(
            asset_id=row["asset_id"],
            type=AssetKind(row["type"]),
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            district=row["district"],
            serves=tuple(ServedPlace(**place) for place in row["serves"]),
        )
        for row in rows
    ]


def asset_row(asset: RegisteredAsset) -> dict[str, Any]:
    """An asset as the registry stores it."""
    return {
        "asset_id": asset.asset_id,
        "type": asset.type.value,
        "name_zh": asset.name_zh,
        "name_en": asset.name_en,
        "district": asset.district,
        "serves": [
            {"compound": p.compound, "building": p.building, "compound_en": p.compound_en} for p in asset.serves
        ],
    }
