"""What an operator or an outage system names, read as a fault (pure): a family by its name, an asset reference,
the place of a declared incident, the family of an outage that names only its asset.

Each refusal is a 422 of the incident and outage routes (`Unprocessable`), or a dead letter on the outage topic.
"""

from __future__ import annotations

from typing import Any

from services.dispatch.assets import AssetIndex
from services.dispatch.assets.addresses import compound_key, district_key
from services.dispatch.errors import Unprocessable
from services.dispatch.incidents.faults import Fault
from services.dispatch.incidents.policy import IncidentRules
from services.dispatch.model import Case
from shared.contracts import AssetKind, AssetRef, Family


def family_named(value: str) -> Family:
    try:
        return Family(value)
    except ValueError as exc:
        raise Unprocessable(f"unknown family {value!r}: one of {', '.join(f.value for f in Family)}") from exc


def asset_ref(asset: dict[str, Any] | None) -> AssetRef | None:
    if not asset:
        return None
    try:
        return AssetRef(type=AssetKind(asset["type"]), id=str(asset["id"]))
    except (KeyError, ValueError) as exc:
        raise Unprocessable(f"not an asset: {asset!r}") from exc


def declared_fault(family: Family, asset: dict[str, Any] | None, district: str | None, compound: str | None) -> Fault:
    """The fault an operator declares: on an asset, or in a district's compound."""
    ref = asset_ref(asset)
    if ref is None and not (district and compound):
        raise Unprocessable("an incident names an asset, or a district and a compound")
    return Fault(
        family,
        ref,
        district_key(district or ""),
        compound_key(compound) if compound else None,
        f"declared: {family.value}",
    )


def family_of_asset(asset: dict[str, Any] | None, rules: IncidentRules) -> Family:
    """The family of an outage that names its asset but not its family."""
    ref = asset_ref(asset)
    if ref is None:
        raise Unprocessable("an outage notice without an asset names its family")
    for rule in rules.families:
        if rule.asset_type is ref.type:
            return rule.family
    raise Unprocessable(f"no family for asset type {ref.type.value}")


def district_of(index: AssetIndex, fault: Fault, members: tuple[Case, ...]) -> str:
    """A declared asset's district: the registry's (its index is current: declaring reads it first), else its first
    caller's."""
    registered = index.asset(fault.asset.id) if fault.asset is not None else None
    if registered is not None:
        return registered.district
    return members[0].district.lower() if members else "unknown"
