"""Applying events to the read models: the only state reporting changes, and the only place it commits.

Per batch: new events go into the timeline (a redelivered `event_id` is skipped), then every case they
touch is re-derived from its whole timeline (`case_state.derive`), and the difference between its new
and its previous KPI contribution is applied to the incremental tables (`rollups`). Events of an incident
or an outage notice (`model.subject_of`: their own topics, and the incident's work order and SLA clock) share
the timeline, keyed by the incident's or notice's id, but re-derive its row instead of a case
(`incident_state`): they never make a customer case. A message's delivery reports (`notification.delivery`) are
keyed by whatever the message was about: the key's other events decide which row they re-derive (a case's: its
messages and the message KPI), and a key with nothing else yet derives no row. One transaction per batch. The live
consumers and `rebuild` all call `project`, so a rebuild reproduces the live tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.reporting.case_state import contribution, derive
from services.reporting.incident_state import derive_incident, derive_outage
from services.reporting.model import Contact, Subject, TimelineEntry, sort_events, subject_of, subject_of_timeline
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
    subjects: dict[uuid.UUID, Subject | None] = {}
    for entry in entries:
        subject = subject_of(entry)
        if subject != "message" or entry.complaint_id not in subjects:
            subjects[entry.complaint_id] = subject
    await store.lock_cases(touched)
    timelines = await store.timelines(touched)
    for subject_id in touched:
        if subjects[subject_id] == "message":
            events = sorted(timelines.get(subject_id, []), key=lambda e: e.sort_key)
            subjects[subject_id] = subject_of_timeline((e.event_type, e.payload) for e in events)
    cases = [i for i in touched if subjects[i] == "case"]
    previous = await store.contributions(cases)
    deltas = RollupDeltas()
    saved = []
    for complaint_id in cases:
        state = derive(str(complaint_id), timelines.get(complaint_id, []))
        now = contribution(state, timezone)
        deltas.add(previous.get(complaint_id), -1)
        deltas.add(now, +1)
        saved.append((state, now))
    await store.save_cases(saved)
    await store.save_parts([state for state, _ in saved])
    await store.apply_deltas(deltas)
    for subject_id in touched:
        if subjects[subject_id] == "incident":
            incident = derive_incident(str(subject_id), timelines.get(subject_id, []), timezone)
            if incident is not None:
                await store.save_incident(incident)
        elif subjects[subject_id] == "outage":
            outage = derive_outage(str(subject_id), timelines.get(subject_id, []))
            if outage is not None:
                await store.save_outage(outage)
    return len(new_for)
