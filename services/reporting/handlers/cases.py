"""Customers' cases re-derived from their whole timelines (`case_state.derive`), with their parts, and the
difference between each case's new and previous KPI contribution applied to the incremental tables (`rollups`)."""

from __future__ import annotations

import uuid
from typing import Any

from services.reporting.case_state import CaseState, TimelineEvent, contribution, derive
from services.reporting.handlers.context import ReportingWork
from services.reporting.rollups import RollupDeltas


async def rederive_cases(
    case_ids: list[uuid.UUID], timelines: dict[uuid.UUID, list[TimelineEvent]], work: ReportingWork
) -> None:
    """Replace these cases' rows and parts, and move their KPI and hotspot counts from where they were."""
    store = work.repo
    previous = await store.contributions(case_ids)
    deltas = RollupDeltas()
    saved: list[tuple[CaseState, dict[str, Any] | None]] = []
    for complaint_id in case_ids:
        state = derive(str(complaint_id), timelines.get(complaint_id, []))
        counted = contribution(state, work.context.timezone)
        deltas.add(previous.get(complaint_id), -1)
        deltas.add(counted, +1)
        saved.append((state, counted))
    await store.save_cases(saved)
    await store.save_parts([state for state, _ in saved])
    await store.apply_deltas(deltas)
