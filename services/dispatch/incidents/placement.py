"""One fault, many callers — the pure part: which group a complaint about a fault joins, what an incident is
called and what its callers are told it is (`handlers/incidents.py` and `handlers/outages.py` apply it).

A complaint about a fault (`faults.py`) joins, in this order:
1. an outage notice in force for its family and place — told the cause and ETA, no work order;
2. the open incident of its family and place — no work order of its own, no clock of its own;
3. a new incident, when with it the households complaining about the fault within the window reach the
   threshold (`incidents.toml`). Earlier callers of the fault join it too: their open work orders close as
   merged (reassigned to the incident's, with history), so one crew has one work order with one clock.
Otherwise it is routed on its own, as before.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.incidents.faults import Fault
from services.dispatch.model import Case, Incident, Outage
from shared.contracts import AssetRef, Category


def reference(prefix: str, group_id: uuid.UUID, at: datetime) -> str:
    """INC-20261126-3F2A9C: short enough to read out, unique by the id's first hex digits and the day."""
    return f"{prefix}-{at:%Y%m%d}-{group_id.hex[:6].upper()}"


def outage_covers(outage: Outage, fault: Fault) -> bool:
    """A notice covers a fault of its family on its asset, or anywhere in its area (district, and compound if it
    names one)."""
    if outage.family != fault.family.value:
        return False
    if outage.asset is not None:
        return fault.asset is not None and outage.asset == fault.asset.model_dump(mode="json")
    if outage.district is None or outage.district != fault.district:
        return False
    return outage.compound is None or outage.compound == fault.compound


@dataclass(frozen=True)
class Placement:
    """Where a complaint about a fault goes: an outage notice, the open incident, or a new one (`opens`)."""

    outage: Outage | None = None
    incident: Incident | None = None
    opens: tuple[Case, ...] = ()


#: How an asset type reads in what callers are told, when the registry has no name for the asset.
_ASSET_WORDS = {
    "heat_exchange_station": ("换热站", "heat-exchange station"),
    "feeder": ("线路", "feeder"),
    "water_main": ("供水干管", "water main"),
    "gas_line": ("燃气管线", "gas line"),
}


def describe(
    label_zh: str,
    label_en: str,
    asset: AssetRef | None,
    names: tuple[str, str] | None,
    compound: str | None,
    district: str,
) -> tuple[str, str]:
    """What callers are told the fault is: "长青换热站（HES-0231）供暖故障" / "heating failure at Changqing Heat
    Exchange Station (HES-0231)"; the compound when no asset is known."""
    if asset is None:
        return f"{compound}小区一带{label_zh}", f"{label_en} around {compound} ({district})"
    zh_word, en_word = _ASSET_WORDS[asset.type.value]
    zh_name, en_name = names or (zh_word, en_word)
    return f"{zh_name}（{asset.id}）{label_zh}", f"{label_en} at {en_name or en_word} ({asset.id})"


def household(case: Case) -> str:
    """A household: its account, or the caller alone when they gave none."""
    return case.account_no or str(case.complaint_id)


def incident_category(members: tuple[Case, ...], allowed: frozenset[Category]) -> Category:
    """The category most of its callers have (an outage on a tie: a stopped supply is the graver reading)."""
    counts = Counter(Category(c.category) for c in members if Category(c.category) in allowed)
    if not counts:
        return Category.OUTAGE if Category.OUTAGE in allowed else min(allowed)
    top = max(counts.values())
    leaders = [c for c, n in counts.items() if n == top]
    return Category.OUTAGE if Category.OUTAGE in leaders else leaders[0]
