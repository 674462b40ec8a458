"""Outage notices re-derived from their timelines (`incident_state.derive_outage`: the latest notice event)."""

from __future__ import annotations

import uuid

from services.reporting.case_state import TimelineEvent
from services.reporting.handlers.context import ReportingWork
from services.reporting.incident_state import derive_outage


async def rederive_outages(
    outage_ids: list[uuid.UUID], timelines: dict[uuid.UUID, list[TimelineEvent]], work: ReportingWork
) -> None:
    derived = (derive_outage(str(i), timelines.get(i, [])) for i in outage_ids)
    await work.repo.save_outages([outage for outage in derived if outage is not None])
