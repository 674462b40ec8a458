"""Dispatch's handlers for faults as operators and outage systems see them: declaring incidents and their ETAs,
outage notices, and the asset registry that places complaints on a station, feeder, main or line.

A mixin of `Dispatcher` (handlers.py), which routes complaints into the incidents and outages kept here: the
same unit-of-work rules apply (state, outbox events and processed marks commit together).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.dispatch import events
from services.dispatch.assets import AssetIndex, RegisteredAsset, ServedPlace
from services.dispatch.assets.addresses import compound_key, district_key
from services.dispatch.grouping import FaultDesk, reference
from services.dispatch.incidents.faults import Fault
from services.dispatch.incidents.policy import IncidentRules
from services.dispatch.model import (
    Actor,
    Case,
    Conflict,
    Incident,
    IncidentDeclaration,
    Invalid,
    NotFound,
    Outage,
    OutageNotice,
)
from services.dispatch.repository import DispatchRepository
from shared.contracts import AssetKind, AssetRef, Family
from shared.db import Transactions
from shared.logging import get_logger

log = get_logger(__name__)


class FaultHandlers:
    """Incidents, outage notices and the asset registry (mixed into `Dispatcher`, which sets these attributes)."""

    transactions: Transactions[DispatchRepository]
    clock: Callable[[], datetime]
    incident_rules: IncidentRules
    faults: FaultDesk
    _assets: tuple[int, AssetIndex]

    def _asset_names(self, asset: AssetRef | None) -> tuple[str, str] | None:
        """The registry's zh and en names of an asset, for what its callers are told."""
        found = self._assets[1].asset(asset.id) if asset is not None else None
        return (found.name_zh, found.name_en) if found is not None and found.name_zh else None

    async def _asset_index(self, repo: DispatchRepository) -> AssetIndex:
        """The registry's index, rebuilt when an import (on any replica) changed the registry."""
        version = await repo.asset_registry_version()
        if version != self._assets[0]:
            self._assets = (version, AssetIndex.build(registered_assets(await repo.assets())))
        return self._assets[1]

    async def declare_incident(self, cmd: IncidentDeclaration, actor: Actor) -> Incident:
        """An operator declares a fault: an incident opens at once (earlier callers in the window join it).
        Raises Invalid (no place), Conflict (one is open for this fault already)."""
        family = _family(cmd.family)
        fault = self._declared_fault(family, cmd.asset, cmd.district, cmd.compound)
        async with self.transactions() as work:
            repo = work.repo
            await repo.lock_faults([f"{fault.scope}|{family.value}"])
            await self._asset_index(repo)  # the registry's names, for what callers are told
            existing = await repo.open_incident(fault.scope, family.value)
            if existing is not None:
                raise Conflict(f"incident {existing.reference_no} ({existing.incident_id}) is open for this fault")
            now = self.clock()
            members = tuple(
                await repo.unsettled_fault_cases(fault.scope, family.value, now - self.incident_rules.window)
            )
            if not fault.district:
                fault = replace(fault, district=self._district_of(fault, members))
            description = (cmd.description, cmd.description_en or cmd.description) if cmd.description else None
            outgoing = await self.faults.open_incident(
                repo,
                family=family,
                asset=fault.asset,
                district=fault.district,
                compound=fault.compound,
                scope=fault.scope,
                members=members,
                asset_names=self._asset_names(fault.asset),
                opened_by="operator",
                actor=actor.name,
                channel="phone",
                at=now,
                eta=cmd.eta,
                description=description,
            )
            await repo.add_events(outgoing)
            incident = await repo.open_incident(fault.scope, family.value)
            assert incident is not None
            work.commit()
        log.warning("incident declared", incident=incident.reference_no, by=actor.name)
        return incident

    async def set_incident_eta(
        self, incident_id: uuid.UUID, *, eta: datetime, note: str | None, actor: Actor
    ) -> Incident:
        """A new ETA for an open incident: every caller not yet told it is fixed is told."""
        async with self.transactions() as work:
            incident, outgoing = await self.faults.set_incident_eta(
                work.repo, incident_id, eta, note, actor, self.clock()
            )
            await work.repo.add_events(outgoing)
            work.commit()
        return incident

    async def declare_outage(
        self, notice: OutageNotice, actor: str, *, dedupe: tuple[str, uuid.UUID] | None = None
    ) -> Outage:
        """A new outage notice; with a `source_ref` the outage system already sent, the existing one (idempotent)."""
        family = _family(notice.family) if notice.family else self._family_of_asset(notice.asset)
        asset = _asset_ref(notice.asset)
        if asset is None and not notice.district:
            raise Invalid("an outage notice names an asset or a district")
        if notice.expected_end is not None and notice.expected_end <= notice.starts_at:
            raise Invalid("expected_end must be after starts_at")
        async with self.transactions() as work:
            repo = work.repo
            if dedupe is not None and not await repo.first_delivery(*dedupe):
                work.commit()
                return await self._outage_or_missing(repo, None, notice.source_ref)
            if notice.source_ref is not None:
                existing = await repo.outage_by_source_ref(notice.source_ref)
                if existing is not None:
                    work.commit()
                    return existing
            now = self.clock()
            outage_id = uuid.uuid4()
            outage = Outage(
                outage_id=outage_id,
                reference_no=reference("OUT", outage_id, now),
                kind=notice.kind,
                family=family.value,
                asset=asset.model_dump(mode="json") if asset else None,
                district=district_key(notice.district) if notice.district else None,
                compound=compound_key(notice.compound) if notice.compound else None,
                starts_at=notice.starts_at,
                expected_end=notice.expected_end,
                description=notice.description,
                description_en=notice.description_en,
                status="active",
                complaint_count=0,
                source=actor,
                source_ref=notice.source_ref,
                created_at=now,
                updated_at=now,
                ended_at=None,
            )
            await repo.insert_outage(outage)
            await repo.add_events([events.outage_declared(outage, now)])
            work.commit()
        log.warning("outage declared", outage=outage.reference_no, kind=outage.kind, by=actor)
        return outage

    async def update_outage(
        self,
        *,
        outage_id: uuid.UUID | None = None,
        source_ref: str | None = None,
        expected_end: datetime | None = None,
        restored: bool = False,
        note: str | None = None,
        actor: str,
        dedupe: tuple[str, uuid.UUID] | None = None,
    ) -> Outage:
        """A new ETA, or "restored" (every caller told and called back). Raises NotFound, Conflict (ended)."""
        async with self.transactions() as work:
            repo = work.repo
            outage = await self._outage_or_missing(repo, outage_id, source_ref, lock=True)
            if dedupe is not None and not await repo.first_delivery(*dedupe):
                work.commit()
                return outage
            now = self.clock()
            if restored:
                outgoing = await self.faults.outage_restored(repo, outage, note, actor, now)
            elif expected_end is not None:
                outgoing = await self.faults.outage_eta(repo, outage, expected_end, note, actor, now)
            else:
                raise Invalid("an outage update carries a new expected_end or restored")
            await repo.add_events(outgoing)
            updated = await repo.get_outage(outage.outage_id)
            assert updated is not None
            work.commit()
        return updated

    @staticmethod
    async def _outage_or_missing(
        repo: DispatchRepository, outage_id: uuid.UUID | None, source_ref: str | None, *, lock: bool = False
    ) -> Outage:
        outage = None
        if outage_id is not None:
            outage = await repo.get_outage(outage_id, lock=lock)
        elif source_ref is not None:
            outage = await repo.outage_by_source_ref(source_ref, lock=lock)
        if outage is None:
            raise NotFound(f"no outage notice {outage_id or source_ref}")
        return outage

    async def import_assets(self, assets: tuple[RegisteredAsset, ...]) -> int:
        """Insert or replace these assets (checked together with the rest of the registry first)."""
        async with self.transactions() as work:
            repo = work.repo
            stored = {a.asset_id: a for a in registered_assets(await repo.assets())}
            AssetIndex.build({**stored, **{a.asset_id: a for a in assets}}.values())  # raises on conflicts
            await repo.save_assets([_asset_row(a) for a in assets], self.clock())
            work.commit()
        log.info("asset registry imported", assets=len(assets))
        return len(assets)

    def _district_of(self, fault: Fault, members: tuple[Case, ...]) -> str:
        """A declared asset's district: the registry's (its index is current: declaring reads it first), else its
        first caller's."""
        registered = self._assets[1].asset(fault.asset.id) if fault.asset is not None else None
        if registered is not None:
            return registered.district
        return members[0].district.lower() if members else "unknown"

    def _declared_fault(
        self, family: Family, asset: dict[str, Any] | None, district: str | None, compound: str | None
    ) -> Fault:
        ref = _asset_ref(asset)
        if ref is None and not (district and compound):
            raise Invalid("an incident names an asset, or a district and a compound")
        return Fault(
            family,
            ref,
            district_key(district or ""),
            compound_key(compound) if compound else None,
            f"declared: {family.value}",
        )

    def _family_of_asset(self, asset: dict[str, Any] | None) -> Family:
        ref = _asset_ref(asset)
        if ref is None:
            raise Invalid("an outage notice without an asset names its family")
        for rule in self.incident_rules.families:
            if rule.asset_type is ref.type:
                return rule.family
        raise Invalid(f"no family for asset type {ref.type.value}")


def _family(value: str) -> Family:
    try:
        return Family(value)
    except ValueError as exc:
        raise Invalid(f"unknown family {value!r}: one of {', '.join(f.value for f in Family)}") from exc


def _asset_ref(asset: dict[str, Any] | None) -> AssetRef | None:
    if not asset:
        return None
    try:
        return AssetRef(type=AssetKind(asset["type"]), id=str(asset["id"]))
    except (KeyError, ValueError) as exc:
        raise Invalid(f"not an asset: {asset!r}") from exc


def registered_assets(rows: list[dict[str, Any]]) -> list[RegisteredAsset]:
    """Registry rows as the index takes them."""
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


def _asset_row(asset: RegisteredAsset) -> dict[str, Any]:
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
