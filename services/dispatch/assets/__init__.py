"""The asset registry: which station, feeder, water main or gas line serves which compounds and buildings.

Pure domain code (no database, no HTTP): import a registry (`parse_csv`, `parse_json`, `load_assets`), index
it (`AssetIndex.build`) and match a complaint's district and address to the assets serving it, so complaints
without `location.asset` still join the incident of the fault that caused them.
"""

from services.dispatch.assets.addresses import building_key, compound_key, district_key, find_place
from services.dispatch.assets.matching import AssetIndex, Match
from services.dispatch.assets.registry import (
    AssetRegistryError,
    RegisteredAsset,
    ServedPlace,
    load_assets,
    parse_csv,
    parse_json,
)

__all__ = [
    "AssetIndex",
    "AssetRegistryError",
    "Match",
    "RegisteredAsset",
    "ServedPlace",
    "building_key",
    "compound_key",
    "district_key",
    "find_place",
    "load_assets",
    "parse_csv",
    "parse_json",
]
