"""Applying events to the read models: the only state reporting changes, and the only place it commits.

Per batch: new events go into the timeline (a redelivered `event_id` is skipped), then every case they
touch is re-derived from its whole timeline (`case_state.derive`), and the difference between its new
and its previous KPI contribution is applied to the incremental tables (`rollups`). One transaction per
batch. The live consumer and `rebuild` both call `project`, so a rebuild reproduces the live tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.reporting.case_state import contribution, derive
from services.reporting.model import Contact, TimelineEntry, sort_events
from services.reporting.repository import ProjectionStore
from services.reporting.rollups import RollupDeltas
from shared.contracts import Event
from shared.db import Transactions


async def project(events: Sequence[Event], *, transactions: Transactions[ProjectionStore], timezone: ZoneInfo) -> int:
    """Project a batch of events in one transaction; returns how many of them were new."""
    contacts, entries = sort_events(events)
    async with transactions() as work:
        new = await _apply(work.repo, contacts, entries, timezone)
        work.commit()
    return new


async def _apply(
    store: ProjectionStore, contacts: list[Contact], entries: list[TimelineEntry], timezone: ZoneInfo
) -> int:
    await store.add_contacts(contacts)
    new_for = await store.add_to_timeline(entries)
    touched = sorted(set(new_for))
    if not touched:
        return 0
    await store.lock_cases(touched)
    timelines = await store.timelines(touched)
    previous = await store.contributions(touched)
    deltas = RollupDeltas()
    for complaint_id in touched:
        state = derive(str(complaint_id), timelines.get(complaint_id, []))
        now = contribution(state, timezone)
        deltas.add(previous.get(complaint_id), -1)
        deltas.add(now, +1)
        await store.save_case(state, now)
    await store.apply_deltas(deltas)
    return len(new_for)
