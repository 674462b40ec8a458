"""Outage notices — planned or unplanned outages the utility announces: callers in the area join the notice and are
told the cause and ETA (no crew is sent); a new ETA and the restoration reach every caller.

From a supervisor (`POST /v1/outage-notices`) or the utility's outage system (`ingress.outage-notices`, `notice`),
with the same effects; the system names an outage by its own id (`source_ref`), so its later messages find it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from services.dispatch import events
from services.dispatch.assets.addresses import compound_key, district_key
from services.dispatch.errors import Conflict, NotFound, Unprocessable
from services.dispatch.handlers.callers import tell_fixed
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.incidents.declared import asset_ref, family_named, family_of_asset
from services.dispatch.incidents.placement import reference
from services.dispatch.model import Case, Outage, OutageNotice
from services.dispatch.outage_ingress import OutageNoticeMessage
from shared.logging import get_logger

log = get_logger(__name__)


async def join(work: DispatchWork, outage: Outage, case: Case, reasons: list[str], cause: uuid.UUID) -> None:
    """One more caller (already stored with `outage_id`) in the notice's area."""
    at = work.now
    outage = replace(outage, complaint_count=outage.complaint_count + 1, updated_at=at)
    await work.repo.update_outage(outage.outage_id, complaint_count=outage.complaint_count, updated_at=at)
    work.emit(
        [
            events.outage_linked(outage, case, at),
            events.joined(case, incident=None, outage=outage, merged=None, reasons=reasons, causation_id=cause, at=at),
        ]
    )


@dataclass(frozen=True)
class Declare:
    notice: OutageNotice
    #: The supervisor's or the outage system's name.
    actor: str


async def declare(command: Declare, work: DispatchWork) -> Outage:
    """A new outage notice; with a `source_ref` the outage system already sent, the existing one (idempotent).
    Raises Unprocessable (no place, no family, an end before the start)."""
    notice = command.notice
    family = (
        family_named(notice.family) if notice.family else family_of_asset(notice.asset, work.context.incident_rules)
    )
    asset = asset_ref(notice.asset)
    if asset is None and not notice.district:
        raise Unprocessable("an outage notice names an asset or a district")
    if notice.expected_end is not None and notice.expected_end <= notice.starts_at:
        raise Unprocessable("expected_end must be after starts_at")
    if notice.source_ref is not None:
        existing = await work.repo.outage_by_source_ref(notice.source_ref)
        if existing is not None:
            return existing
    now, outage_id = work.now, uuid.uuid4()
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
        source=command.actor,
        source_ref=notice.source_ref,
        created_at=now,
        updated_at=now,
        ended_at=None,
    )
    await work.repo.insert_outage(outage)
    work.emit(events.outage_declared(outage, now))
    log.warning("outage declared", outage=outage.reference_no, kind=outage.kind, by=command.actor)
    return outage


@dataclass(frozen=True)
class Update:
    """A new ETA, or "restored"; the outage by its id, or by the outage system's `source_ref`."""

    actor: str
    outage_id: uuid.UUID | None = None
    source_ref: str | None = None
    expected_end: datetime | None = None
    restored: bool = False
    note: str | None = None


async def update(command: Update, work: DispatchWork) -> Outage:
    """A new ETA, or "restored" (every caller told and called back). Raises NotFound, Conflict (ended)."""
    outage = await _outage(work, command.outage_id, command.source_ref)
    if outage.status != "active":
        raise Conflict(f"outage {outage.reference_no} has ended")
    if command.restored:
        await _restored(work, outage, command.note, command.actor)
    elif command.expected_end is not None:
        await _new_eta(work, outage, command.expected_end, command.note, command.actor)
    else:
        raise Unprocessable("an outage update carries a new expected_end or restored")
    updated = await work.repo.get_outage(outage.outage_id)
    assert updated is not None
    return updated


async def notice(message: OutageNoticeMessage, work: DispatchWork) -> None:
    """An outage system's message (`ingress.outage-notices`): declare, a new ETA, or restored."""
    if message.action != "declare":
        restored = message.action == "restored"
        await update(
            Update(
                message.source,
                source_ref=message.source_ref,
                expected_end=message.expected_end,
                restored=restored,
                note=message.note,
            ),
            work,
        )
        return
    assert message.kind is not None and message.description is not None
    declared = OutageNotice(
        kind=message.kind,
        family=message.family.value if message.family else None,
        asset=message.asset.model_dump(mode="json") if message.asset else None,
        district=message.district,
        compound=message.compound,
        starts_at=message.starts,
        expected_end=message.expected_end,
        description=message.description,
        description_en=message.description_en,
        source_ref=message.source_ref,
    )
    await declare(Declare(declared, message.source), work)


async def _outage(work: DispatchWork, outage_id: uuid.UUID | None, source_ref: str | None) -> Outage:
    outage = None
    if outage_id is not None:
        outage = await work.repo.get_outage(outage_id, lock=True)
    elif source_ref is not None:
        outage = await work.repo.outage_by_source_ref(source_ref, lock=True)
    if outage is None:
        raise NotFound(f"no outage notice {outage_id or source_ref}")
    return outage


async def _new_eta(work: DispatchWork, outage: Outage, expected_end: datetime, note: str | None, actor: str) -> None:
    at = work.now
    previous = outage.expected_end
    outage = replace(outage, expected_end=expected_end, updated_at=at)
    await work.repo.update_outage(outage.outage_id, expected_end=expected_end, updated_at=at)
    work.emit(events.outage_updated(outage, previous, note, actor, at))
    for case in await work.repo.cases_joined(outage_id=outage.outage_id, unfixed=True):
        work.emit(events.eta_changed(case, eta=expected_end, previous=previous, note=note, at=at))


async def _restored(work: DispatchWork, outage: Outage, note: str | None, actor: str) -> None:
    at = work.now
    outage = replace(outage, status="ended", ended_at=at, updated_at=at)
    await work.repo.update_outage(outage.outage_id, status="ended", ended_at=at, updated_at=at)
    callers = await work.repo.cases_joined(outage_id=outage.outage_id, unfixed=True)
    work.emit(events.outage_ended(outage, actor, at))
    resolution = note or f"{outage.description}: supply restored"
    await tell_fixed(work, callers, work_order=None, department=None, resolution=resolution)
