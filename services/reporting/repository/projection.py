"""The projection's writes: the timeline and the contacts, each case's row and parts, incidents and outage notices,
and the incremental KPI and hotspot tables — all in the door's transaction (`shared.handling`), never committed here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any, Protocol

from services.reporting.case_parts import CallbackPart, CorrectiveActionPart, MessagePart, WorkOrderPart
from services.reporting.case_state import COUNTERS, CaseState, TimelineEvent
from services.reporting.incident_state import IncidentState, OutageState
from services.reporting.model import Contact, TimelineEntry
from services.reporting.repository.sql import SUMMED, Tables
from services.reporting.rollups import RollupDeltas
from shared.contracts import Event

#: The columns a derived case state is saved into (its KPI cohort lives in `contribution`).
_STATE_COLUMNS = [
    f.name
    for f in fields(CaseState)
    if f.name not in ("counters", "handling_hours", "work_orders", "callbacks", "corrective_actions", "messages")
]

_UUID_COLUMNS = (
    "complaint_id",
    "work_order_id",
    "linked_to",
    "incident_id",
    "outage_id",
    "lead_work_order_id",
    "callback_id",
    "action_id",
    "notification_id",
)

#: A case's parts: table, and the `CaseState` list saved into it (`case_parts`).
_PART_TABLES = (
    ("work_orders", "work_orders", WorkOrderPart),
    ("callbacks", "callbacks", CallbackPart),
    ("corrective_actions", "corrective_actions", CorrectiveActionPart),
    ("messages", "messages", MessagePart),
)


class ProjectionStore(Protocol):
    """What projecting events writes and reads, inside the door's transaction (`shared.handling`)."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """All of them: the timeline, keyed by event id, is what makes projection idempotent (`add_to_timeline`)."""
        ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        """Reporting publishes nothing: only an empty list is accepted."""
        ...

    async def add_contacts(self, contacts: list[Contact]) -> None: ...

    async def add_to_timeline(self, entries: list[TimelineEntry]) -> list[uuid.UUID]:
        """Insert the entries not seen before; the complaint ids of those that were new."""
        ...

    async def lock_cases(self, complaint_ids: list[uuid.UUID]) -> None: ...

    async def timelines(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TimelineEvent]]: ...

    async def contributions(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]: ...

    async def save_cases(self, cases: Sequence[tuple[CaseState, dict[str, Any] | None]]) -> None:
        """Insert or replace these cases' rows (each with its KPI contribution), in one round trip."""
        ...

    async def save_parts(self, states: list[CaseState]) -> None:
        """Replace the work orders, callbacks, corrective actions and messages of these cases with theirs."""
        ...

    async def save_incident(self, state: IncidentState) -> None: ...

    async def save_outage(self, state: OutageState) -> None: ...

    async def apply_deltas(self, deltas: RollupDeltas) -> None: ...


class ProjectionWrites(Tables):
    """`ProjectionStore` on the read models' tables."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Every delivery is handed on: a redelivered event is skipped where it would be stored (the timeline's key
        is its event id, the contacts' the complaint id) and every row derived from a whole timeline comes out the
        same, for both consumer groups and the rebuild alike; a processed-events mark would only repeat that key."""
        return set(event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        if events:
            raise TypeError("reporting publishes no events")

    async def add_contacts(self, contacts: list[Contact]) -> None:
        if contacts:
            await self.conn.executemany(
                f"INSERT INTO {self.schema}.contacts (complaint_id, name, phone) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                [(c.complaint_id, c.name, c.phone) for c in contacts],
            )

    async def add_to_timeline(self, entries: list[TimelineEntry]) -> list[uuid.UUID]:
        """A redelivered `event_id` is skipped: this is where projection becomes idempotent."""
        if not entries:
            return []
        rows = [(e.event_id, e.complaint_id, e.event_type, e.occurred_at, e.topic, e.payload) for e in entries]
        inserted = await self._fetch(
            f"INSERT INTO {self.schema}.timeline (event_id, complaint_id, event_type, occurred_at, topic, payload) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[]) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING complaint_id",
            *[list(column) for column in zip(*rows, strict=True)],
        )
        return [r["complaint_id"] for r in inserted]

    async def lock_cases(self, complaint_ids: list[uuid.UUID]) -> None:
        """Transaction-scoped locks on the cases, in the order given (callers sort it, so concurrent
        batches cannot deadlock on them)."""
        for complaint_id in complaint_ids:
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1 || $2))", self.schema, str(complaint_id))

    async def contributions(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]:
        rows = await self._fetch(
            f"SELECT complaint_id, contribution FROM {self.schema}.cases WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )
        return {r["complaint_id"]: r["contribution"] for r in rows}

    async def save_cases(self, cases: Sequence[tuple[CaseState, dict[str, Any] | None]]) -> None:
        if not cases:
            return
        # The columns are read off each state (`asdict` would deep-copy its parts too: most of a rebuild's time),
        # and the rows go in one executemany: a round trip per case was the rest of it.
        columns = [*_STATE_COLUMNS, "contribution"]
        rows = [
            [*(_uuid(getattr(state, c)) if c in _UUID_COLUMNS else getattr(state, c) for c in _STATE_COLUMNS), mine]
            for state, mine in cases
        ]
        await self.conn.executemany(_upsert_sql(f"{self.schema}.cases", columns), rows)

    async def save_parts(self, states: list[CaseState]) -> None:
        """One delete and one insert per table for the whole batch (a case's parts are re-derived with it)."""
        if not states:
            return
        ids = [uuid.UUID(state.complaint_id) for state in states]
        for table, attribute, part in _PART_TABLES:
            await self.conn.execute(f"DELETE FROM {self.schema}.{table} WHERE complaint_id = ANY($1::uuid[])", ids)
            rows = [row for state in states for row in getattr(state, attribute)]
            if not rows:
                continue
            columns = [f.name for f in fields(part)]
            placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            await self.conn.executemany(
                f"INSERT INTO {self.schema}.{table} ({', '.join(columns)}) VALUES ({placeholders})",
                [[_uuid(getattr(r, c)) if c in _UUID_COLUMNS else getattr(r, c) for c in columns] for r in rows],
            )

    async def save_incident(self, state: IncidentState) -> None:
        await self._upsert("incidents", asdict(state))

    async def save_outage(self, state: OutageState) -> None:
        await self._upsert("outages", asdict(state))

    async def _upsert(self, table: str, row: dict[str, Any]) -> None:
        """Insert or replace a derived row; its first column is the key, ids in `_UUID_COLUMNS` are uuids."""
        columns = list(row)
        values = [_uuid(row[c]) if c in _UUID_COLUMNS else row[c] for c in columns]
        await self.conn.execute(_upsert_sql(f"{self.schema}.{table}", columns), *values)

    async def apply_deltas(self, deltas: RollupDeltas) -> None:
        """One upsert per table; rows a case moved out of are left at zero and deleted, so the tables hold
        only what the events imply (and a rebuild, whose interleaving differs, yields the same rows)."""
        s = self.schema
        kpi = deltas.kpi_rows()
        if kpi:
            names = ", ".join(COUNTERS)
            adds = ", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n in SUMMED)
            placeholders = ", ".join(f"${i}" for i in range(1, len(COUNTERS) + 5))
            await self.conn.executemany(
                f"INSERT INTO {s}.kpi_rollup AS r (dimension, day, key, {names}, handling_ms) "
                f"VALUES ({placeholders}) ON CONFLICT (dimension, day, key) DO UPDATE SET {adds}",
                kpi,
            )
            zero = " AND ".join(f"{n} = 0" for n in SUMMED)
            await self.conn.executemany(
                f"DELETE FROM {s}.kpi_rollup WHERE dimension = $1 AND day = $2 AND key = $3 AND {zero}",
                [r[:3] for r in kpi],
            )
        handling = deltas.handling_rows()
        if handling:
            await self.conn.executemany(
                f"INSERT INTO {s}.kpi_rollup_handling AS h (dimension, day, key, bucket, n) "
                "VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (dimension, day, key, bucket) DO UPDATE SET n = h.n + EXCLUDED.n",
                handling,
            )
            await self.conn.executemany(
                f"DELETE FROM {s}.kpi_rollup_handling WHERE dimension = $1 AND day = $2 AND key = $3 "
                "AND bucket = $4 AND n = 0",
                [r[:4] for r in handling],
            )
        hotspots = deltas.hotspot_rows()
        if hotspots:
            await self.conn.executemany(
                f"INSERT INTO {s}.hotspot_hourly AS h (hour, district, category, n) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (hour, district, category) DO UPDATE SET n = h.n + EXCLUDED.n",
                hotspots,
            )
            await self.conn.executemany(
                f"DELETE FROM {s}.hotspot_hourly WHERE hour = $1 AND district = $2 AND category = $3 AND n = 0",
                [r[:3] for r in hotspots],
            )
        assets = deltas.asset_rows()
        if assets:
            await self.conn.executemany(
                f"INSERT INTO {s}.hotspot_asset_hourly AS h (hour, asset_type, asset_id, n) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (hour, asset_type, asset_id) DO UPDATE SET n = h.n + EXCLUDED.n",
                assets,
            )
            await self.conn.executemany(
                f"DELETE FROM {s}.hotspot_asset_hourly WHERE hour = $1 AND asset_type = $2 AND asset_id = $3 AND n = 0",
                [r[:3] for r in assets],
            )


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value is not None else None


def _upsert_sql(table: str, columns: Sequence[str]) -> str:
    """Insert, or replace every column but the first (the key) of the row already there."""
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
    )
