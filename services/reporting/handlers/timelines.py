"""A batch into the timeline: contacts into the restricted contacts table, every other event onto the timeline of
the key it names (a redelivered `event_id` adds nothing: the timeline's key is where projection becomes
idempotent), then the keys that got something new locked in sorted order and read back whole.

Which read model a key feeds (`model.Subject`) is decided from the batch's own events (`model.subject_of`); a key
the batch reached only with delivery reports (`notification.delivery`: keyed by whatever the message was about) is
decided by its stored timeline (`model.subject_of_timeline`), and derives no row while it has nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.reporting.case_state import TimelineEvent
from services.reporting.handlers.context import ReportingWork
from services.reporting.model import Subject, TimelineEntry, sort_events, subject_of, subject_of_timeline
from shared.contracts import ComplaintContact, ComplaintReceived, Event, SubjectErased
from shared.subject_keys import opened_contact, opened_location


@dataclass(frozen=True)
class Touched:
    """The keys a batch brought new events for, sorted (the order their locks were taken), the read model each
    feeds, their whole timelines, and how many of the batch's events were new."""

    keys: list[uuid.UUID]
    subjects: dict[uuid.UUID, Subject | None]
    timelines: dict[uuid.UUID, list[TimelineEvent]]
    new: int

    def of(self, subject: Subject) -> list[uuid.UUID]:
        """The touched keys that feed `subject`'s read model, in lock order."""
        return [key for key in self.keys if self.subjects[key] == subject]


async def record(events: Sequence[Event], work: ReportingWork) -> Touched:
    """Write the batch into the contacts and the timeline; lock and read back what it touched."""
    store = work.repo
    contacts, entries = sort_events(await _opened(events, work))
    await store.add_contacts(contacts)
    new_for = await store.add_to_timeline(entries)
    keys = sorted(set(new_for))
    if not keys:
        return Touched([], {}, {}, 0)
    await store.lock_cases(keys)
    timelines = await store.timelines(keys)
    subjects = _subjects(entries)
    for key in keys:
        if subjects[key] == "message":
            events_of_key = sorted(timelines.get(key, []), key=lambda e: e.sort_key)
            subjects[key] = subject_of_timeline((e.event_type, e.payload) for e in events_of_key)
    return Touched(keys, subjects, timelines, len(new_for))


async def _opened(events: Sequence[Event], work: ReportingWork) -> list[Event]:
    """The batch with sealed contacts and addresses opened, an erased customer's contacts left out (their cases
    without the address), and each erasure applied (`privacy.subject_erased`: the customer's contacts and addresses
    purged; it is no step of any case's timeline)."""
    opened: list[Event] = []
    for event in events:
        if isinstance(event, SubjectErased):
            work.context.keys.forget(event.payload.customer_id)
            await work.repo.purge_contacts(list(event.payload.complaint_ids))
        elif isinstance(event, ComplaintContact):
            payload = await opened_contact(event.payload, work.context.keys)
            if payload is not None:
                opened.append(event.model_copy(update={"payload": payload}))
        elif isinstance(event, ComplaintReceived):
            location = await opened_location(event.payload.location, work.context.keys)
            opened.append(event.model_copy(update={"payload": event.payload.model_copy(update={"location": location})}))
        else:
            opened.append(event)
    return opened


def _subjects(entries: list[TimelineEntry]) -> dict[uuid.UUID, Subject | None]:
    """What each key of the batch names by its events; "message" only while delivery reports are all it brought."""
    subjects: dict[uuid.UUID, Subject | None] = {}
    for entry in entries:
        subject = subject_of(entry)
        if subject != "message" or entry.complaint_id not in subjects:
            subjects[entry.complaint_id] = subject
    return subjects
