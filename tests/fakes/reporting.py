"""An in-memory `ProjectionStore` and the `Transactions` that hand it out, for unit tests of reporting's
projection use cases (through `shared.handling.Door`) without a database.

Like the real unit of work, a transaction works on a copy of the tables and replaces them only when the
door commits. The incremental tables are kept as the repository keeps them: changes summed per row,
rows that reach zero dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from services.reporting.case_state import CaseState, TimelineEvent
from services.reporting.incident_state import IncidentState, OutageState
from services.reporting.model import Contact, TimelineEntry
from services.reporting.rollups import RollupDeltas
from shared.contracts import Event
from tests.fakes.transactions import CopyOnCommit


@dataclass
class ReadModelTables:
    timeline: dict[uuid.UUID, TimelineEntry] = field(default_factory=dict)
    contacts: dict[uuid.UUID, Contact] = field(default_factory=dict)
    cases: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    contributions: dict[uuid.UUID, dict[str, Any] | None] = field(default_factory=dict)
    kpi_rollup: dict[tuple[Any, ...], tuple[int, ...]] = field(default_factory=dict)
    handling: dict[tuple[Any, ...], int] = field(default_factory=dict)
    hotspots: dict[tuple[Any, ...], int] = field(default_factory=dict)
    asset_hotspots: dict[tuple[Any, ...], int] = field(default_factory=dict)
    incidents: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    outages: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)


class InMemoryReadModels:
    """`ProjectionStore` over `ReadModelTables`."""

    def __init__(self, tables: ReadModelTables) -> None:
        self.tables = tables

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """As the real read models: the timeline's key deduplicates (`ReadModels.first_deliveries`)."""
        return set(event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        if events:
            raise TypeError("reporting publishes no events")

    async def add_contacts(self, contacts: list[Contact]) -> None:
        for contact in contacts:
            kept = self.tables.contacts.get(contact.complaint_id)
            if kept is None or (kept.at is not None and contact.at is not None and kept.at < contact.at):
                self.tables.contacts[contact.complaint_id] = contact

    async def purge_contacts(self, complaint_ids: list[uuid.UUID]) -> None:
        for complaint_id in complaint_ids:
            self.tables.contacts.pop(complaint_id, None)
            if complaint_id in self.tables.cases:
                self.tables.cases[complaint_id].update(address=None, address_key=None)
        for event_id, entry in list(self.tables.timeline.items()):
            placed = entry.event_type in ("complaint.received", "workorder.assigned")
            if entry.complaint_id in complaint_ids and placed and isinstance(entry.payload.get("location"), dict):
                location = {**entry.payload["location"], "address": None, "coordinates": None}
                payload = {**entry.payload, "location": location}
                self.tables.timeline[event_id] = replace(entry, payload=payload)

    async def add_to_timeline(self, entries: list[TimelineEntry]) -> list[uuid.UUID]:
        new = []
        for entry in entries:
            if entry.event_id not in self.tables.timeline:
                self.tables.timeline[entry.event_id] = entry
                new.append(entry.complaint_id)
        return new

    async def lock_cases(self, complaint_ids: list[uuid.UUID]) -> None:
        return None

    async def timelines(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TimelineEvent]]:
        found: dict[uuid.UUID, list[TimelineEvent]] = {}
        for e in self.tables.timeline.values():
            if e.complaint_id in complaint_ids:
                found.setdefault(e.complaint_id, []).append(
                    TimelineEvent(str(e.event_id), e.event_type, e.occurred_at, e.payload)
                )
        return found

    async def contributions(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]:
        return {i: self.tables.contributions[i] for i in complaint_ids if i in self.tables.contributions}

    async def save_cases(self, cases: Sequence[tuple[CaseState, dict[str, Any] | None]]) -> None:
        for state, contribution in cases:
            complaint_id = uuid.UUID(state.complaint_id)
            self.tables.cases[complaint_id] = asdict(state)
            self.tables.contributions[complaint_id] = contribution

    async def save_parts(self, states: list[CaseState]) -> None:
        """The parts travel inside each saved case (`asdict`), as the real tables hold them per case."""
        return None

    async def save_incidents(self, states: Sequence[IncidentState]) -> None:
        for state in states:
            self.tables.incidents[uuid.UUID(state.incident_id)] = asdict(state)

    async def save_outages(self, states: Sequence[OutageState]) -> None:
        for state in states:
            self.tables.outages[uuid.UUID(state.outage_id)] = asdict(state)

    async def apply_deltas(self, deltas: RollupDeltas) -> None:
        for dimension, day, key, *changes in deltas.kpi_rows():
            row = self.tables.kpi_rollup.get((dimension, day, key), (0,) * len(changes))
            summed = tuple(a + b for a, b in zip(row, changes, strict=True))
            _put(self.tables.kpi_rollup, (dimension, day, key), summed, any(summed))
        for dimension, day, key, bucket, n in deltas.handling_rows():
            total = self.tables.handling.get((dimension, day, key, bucket), 0) + n
            _put(self.tables.handling, (dimension, day, key, bucket), total, total != 0)
        for hour, district, category, n in deltas.hotspot_rows():
            total = self.tables.hotspots.get((hour, district, category), 0) + n
            _put(self.tables.hotspots, (hour, district, category), total, total != 0)
        for hour, asset_type, asset_id, n in deltas.asset_rows():
            total = self.tables.asset_hotspots.get((hour, asset_type, asset_id), 0) + n
            _put(self.tables.asset_hotspots, (hour, asset_type, asset_id), total, total != 0)


def _put(table: dict[Any, Any], key: Any, value: Any, keep: bool) -> None:
    if keep:
        table[key] = value
    else:
        table.pop(key, None)


class InMemoryTransactions(CopyOnCommit[ReadModelTables, InMemoryReadModels]):
    """`Transactions[ProjectionStore]`: each call works on a copy, kept only on `commit()`."""

    def __init__(self, tables: ReadModelTables | None = None) -> None:
        super().__init__(tables or ReadModelTables(), InMemoryReadModels)

    @property
    def tables(self) -> ReadModelTables:
        return self.state
