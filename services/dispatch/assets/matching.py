"""Which registered asset serves the place a complaint's address names.

A complaint without `location.asset` still has a district and an address. The index finds a known compound
of that district in the address (`find_place`), then per asset type the asset serving that building if the
registry has a building entry, else the one serving the whole compound. One place has one asset per type
(the registry refuses two), but several types: a compound has a heat-exchange station *and* a feeder, and only
the complaint's utility says which one failed — so `match_all` returns all of them and `match` takes the
types the caller wants.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.dispatch.assets.addresses import building_key, compound_key, district_key, find_place, fold
from services.dispatch.assets.registry import (
    AssetRegistryError,
    RegisteredAsset,
    cross_asset_problems,
    registry_places,
)
from services.dispatch.normalise import has_cjk
from shared.contracts import AssetKind, AssetRef

_Place = tuple[str, str, str | None]  # (district, compound key, building key or None)


@dataclass(frozen=True)
class Match:
    """An asset serving an address, and why, for the dispatcher reading the incident."""

    asset: RegisteredAsset
    #: The compound as the registry names it ("长青小区").
    compound: str
    #: The building the address names ("5"), None if it names none.
    building: str | None
    #: True when the registry has an entry for this very building, False when the asset serves the compound.
    building_level: bool
    #: "address 长青小区5号楼 is served by HES-0231 (whole compound)".
    reason: str


@dataclass(frozen=True)
class _Names:
    zh: str
    en: str | None


class AssetIndex:
    """The registry, looked up by district and address. Build once per registry version; lookups are pure."""

    def __init__(
        self,
        aliases: dict[str, dict[str, str]],
        served: dict[_Place, dict[AssetKind, RegisteredAsset]],
        names: dict[tuple[str, str], _Names],
    ) -> None:
        self._aliases = aliases
        self._served = served
        self._names = names
        self._by_id = {a.asset_id: a for per_type in served.values() for a in per_type.values()}

    @classmethod
    def build(cls, assets: Iterable[RegisteredAsset]) -> AssetIndex:
        """Index records (from `parse_csv`/`parse_json` or storage); raises `AssetRegistryError` on conflicts.

        The checks of an import run again, since records read back from storage never passed through one.
        """
        assets = tuple(assets)
        problems = [
            f"{asset_id}: registered {count} times"
            for asset_id, count in Counter(asset.asset_id for asset in assets).items()
            if count > 1
        ]
        problems += cross_asset_problems(registry_places(assets))
        if problems:
            raise AssetRegistryError(problems)
        aliases: dict[str, dict[str, str]] = {}
        served: dict[_Place, dict[AssetKind, RegisteredAsset]] = {}
        names: dict[tuple[str, str], _Names] = {}
        for asset in assets:
            district = district_key(asset.district)
            for place in asset.serves:
                key = compound_key(place.compound)
                known = aliases.setdefault(district, {})
                known[key] = key
                if place.compound_en:
                    known[compound_key(place.compound_en)] = key
                building = building_key(place.building) if place.building else None
                served.setdefault((district, key, building), {})[asset.type] = asset
                seen = names.setdefault((district, key), _Names(zh=place.compound, en=place.compound_en))
                if seen.en is None and place.compound_en:
                    names[(district, key)] = _Names(zh=seen.zh, en=place.compound_en)
        return cls(aliases, served, names)

    def asset(self, asset_id: str) -> RegisteredAsset | None:
        """A registered asset by its id."""
        return self._by_id.get(asset_id)

    def known_compounds(self, district: str) -> dict[str, str]:
        """Every key a compound of the district may be written as → the compound's key."""
        return self._aliases.get(district_key(district), {})

    def asset_for(self, district: str, address: str, asset_type: AssetKind) -> tuple[AssetRef, str] | None:
        return asset_for(self, district, address, asset_type)

    def compound_of(self, district: str, address: str) -> str | None:
        return compound_of(self, district, address)

    def match_all(self, district: str, address: str) -> dict[AssetKind, Match]:
        """Every type's asset serving the address, in `AssetKind` order; {} if it names no known compound.

        The compound is looked for among the complaint's district's compounds only: a district mismatch
        is no match, not a guess across the city.
        """
        district = district_key(district)
        found = find_place(address, self._aliases.get(district, {}))
        if found is None:
            return {}
        names = self._names[(district, found.compound)]
        own = self._served.get((district, found.compound, found.building), {}) if found.building else {}
        whole = self._served.get((district, found.compound, None), {})
        english = not has_cjk(address)
        matches: dict[AssetKind, Match] = {}
        for asset_type in AssetKind:
            asset = own.get(asset_type)
            building_level = asset is not None
            if asset is None:
                asset = whole.get(asset_type)
            if asset is None:
                continue
            place = _describe(names, found.building, english=english)
            scope = " (whole compound)" if found.building and not building_level else ""
            matches[asset_type] = Match(
                asset=asset,
                compound=names.zh,
                building=found.building,
                building_level=building_level,
                reason=f"address {place} is served by {asset.asset_id}{scope}",
            )
        return matches

    def match(self, district: str, address: str, types: Sequence[AssetKind] | None = None) -> Match | None:
        """The asset serving the address, of the first of `types` that has one (all types, in order, if None).

        Pass the types the complaint's utility implies (heating → heat_exchange_station; power → feeder):
        without them, a compound with a station and a feeder gets whichever `AssetKind` lists first.
        """
        matches = self.match_all(district, address)
        for asset_type in types if types is not None else AssetKind:
            if asset_type in matches:
                return matches[asset_type]
        return None


def _describe(names: _Names, building: str | None, *, english: bool) -> str:
    """The place in the address's language, as the registry names it: 长青小区5号楼, Changqing Compound, Building 5."""
    if english and names.en:
        return names.en + (f", Building {building.upper()}" if building else "")
    if building is None:
        return names.zh
    return names.zh + (f"{building}号楼" if building.isdigit() else f"{building.upper()}座")


#: A compound's name in a Chinese address the registry does not know, after the district if one is given: a
#: Chinese name (digits and letters allowed after its first character: 金地名京2期, 万科城A区) and a suffix.
_UNKNOWN_COMPOUND = re.compile(
    r"(?:[\u4e00-\u9fff]{1,3}区)?([\u4e00-\u9fff][\u4e00-\u9fff0-9a-z]{1,11}?(?:小区|花园|家园|新村|公寓|苑))"
)


def asset_for(index: AssetIndex, district: str, address: str, asset_type: AssetKind) -> tuple[AssetRef, str] | None:
    """The asset of `asset_type` serving the address, as a contract reference, and why."""
    match = index.match(district, address, [asset_type])
    if match is None:
        return None
    return AssetRef(type=match.asset.type, id=match.asset.asset_id), match.reason


def compound_of(index: AssetIndex, district: str, address: str) -> str | None:
    """The compound's key: a registered compound's, else the name of a Chinese compound the address spells out
    (小区/花园/家园/新村/公寓/苑), so a compound the registry does not know can still have an incident."""
    found = find_place(address, index.known_compounds(district))
    if found is not None:
        return found.compound
    unknown = _UNKNOWN_COMPOUND.search(fold(address))
    return compound_key(unknown.group(1)) if unknown else None
