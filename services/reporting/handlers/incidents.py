"""Incidents re-derived from their whole timelines (`incident_state.derive_incident`): their own events, their
work order's and their clock's. One not yet opened (only its work order's events arrived) has no row yet. The
batch's incidents are saved in one statement."""

from __future__ import annotations

import uuid

from services.reporting.case_state import TimelineEvent
from services.reporting.handlers.context import ReportingWork
from services.reporting.incident_state import derive_incident


async def rederive_incidents(
    incident_ids: list[uuid.UUID], timelines: dict[uuid.UUID, list[TimelineEvent]], work: ReportingWork
) -> None:
    derived = (derive_incident(str(i), timelines.get(i, []), work.context.timezone) for i in incident_ids)
    await work.repo.save_incidents([incident for incident in derived if incident is not None])
