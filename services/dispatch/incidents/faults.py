"""Which fault a complaint is about: its family (what stopped) and where (the asset, or the compound).

A complaint is about a fault only when its category can belong to a family (`incidents.toml`): a heating
complaint always can; an outage says what stopped in its words, or through the type of asset it names. The
asset is the one the complaint names, else the one the registry says serves its address; without either, the
compound of its address (so a storm in a compound the registry does not know still becomes one incident).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.dispatch.incidents.policy import FamilyRule, IncidentRules
from services.dispatch.normalise import normalise
from shared.contracts import AssetKind, AssetRef, Category, Family


class AssetLookup(Protocol):
    """The asset registry as fault finding needs it."""

    def asset_for(self, district: str, address: str, asset_type: AssetKind) -> tuple[AssetRef, str] | None:
        """The asset of this type serving the address, and why (e.g. "长青小区 is served by HES-0231")."""

    def compound_of(self, district: str, address: str) -> str | None:
        """The normalised name of the compound the address is in, when it can tell."""


@dataclass(frozen=True)
class Fault:
    family: Family
    asset: AssetRef | None
    #: The district id, lower case, and the compound's key (assets/addresses.py) when the address names one.
    district: str
    compound: str | None
    reason: str

    @property
    def scope(self) -> str:
        """One fault's place, as the key incidents are unique on (one open incident per scope and family)."""
        if self.asset is not None:
            return f"asset:{self.asset.type.value}:{self.asset.id}"
        return f"area:{self.district.lower()}:{self.compound}"


def family_of(category: Category, text: str, named_type: str | None, rules: IncidentRules) -> FamilyRule | None:
    """The family of a complaint of `category`, or None when it is handled on its own."""
    candidates = [rule for rule in rules.families if category in rule.categories]
    for rule in candidates:
        if category in rule.always:
            return rule
    for rule in candidates:
        if named_type == rule.asset_type.value:
            return rule
    words = normalise(text)
    hits = [(sum(term in words for term in rule.terms), i) for i, rule in enumerate(candidates)]
    best = max(hits, default=(0, 0))
    return candidates[best[1]] if best[0] > 0 else None


def identify(
    category: Category, text: str, location: dict[str, Any], rules: IncidentRules, assets: AssetLookup
) -> Fault | None:
    """The fault a complaint is about, or None (not a family's, or no place to group it by)."""
    named = location.get("asset") or {}
    rule = family_of(category, text, named.get("type"), rules)
    if rule is None:
        return None
    district, address = str(location.get("district", "")).strip().lower(), str(location.get("address") or "")
    compound = assets.compound_of(district, address)
    if named.get("type") == rule.asset_type.value:
        asset = AssetRef(type=rule.asset_type, id=named["id"])
        return Fault(
            rule.family, asset, district, compound, f"{rule.family.value}: names {asset.type.value} {asset.id}"
        )
    found = assets.asset_for(district, address, rule.asset_type)
    if found is not None:
        asset, why = found
        return Fault(rule.family, asset, district, compound, f"{rule.family.value}: {why}")
    if compound is None:
        return None
    return Fault(rule.family, None, district, compound, f"{rule.family.value}: compound {compound} in {district}")
