"""Incidents re-derived from their whole timelines (`incident_state.derive_incident`): their own events, their
work order's and their clock's. One not yet opened (only its work order's events arrived) has no row yet."""

from __future__ import annotations

import uuid

from services.reporting.case_state import TimelineEvent
from services.reporting.handlers.context import ReportingWork
from services.reporting.incident_state import derive_incident


async def rederive_incidents(
    incident_ids: list[uuid.UUID], timelines: dict[uuid.UUID, list[TimelineEvent]], work: ReportingWork
) -> None:
    for incident_id in incident_ids:
        incident = derive_incident(str(incident_id), timelines.get(incident_id, []), work.context.timezone)
        if incident is not None:
            await work.repo.save_incident(incident)
