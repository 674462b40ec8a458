"""The projection's writes: the timeline and the contacts, each case's row and parts, incidents and outage notices,
and the incremental KPI and hotspot tables — all in the door's transaction (`shared.handling`), never committed here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, Protocol

from services.reporting.case_parts import CallbackPart, CorrectiveActionPart, MessagePart, WorkOrderPart
from services.reporting.case_state import CaseState, TimelineEvent
from services.reporting.incident_state import IncidentState, OutageState
from services.reporting.model import Contact, TimelineEntry
from services.reporting.repository.recordsets import as_json, by_key, delete_sql, insert_sql, replacing, upsert_sql
from services.reporting.repository.sql import SUMMED, Tables
from services.reporting.rollups import RollupDeltas
from shared.contracts import Event

#: The columns a derived case state is saved into (its KPI cohort lives in `contribution`).
_STATE_COLUMNS = [
    f.name
    for f in fields(CaseState)
    if f.name not in ("counters", "handling_hours", "work_orders", "callbacks", "corrective_actions", "messages")
]

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

    async def purge_contacts(self, complaint_ids: list[uuid.UUID]) -> None:
        """Delete an erased customer's contacts, and their cases' exact address and coordinates from the timeline
        and the cases' rows (issue 25)."""
        ...

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

    async def save_incidents(self, states: Sequence[IncidentState]) -> None:
        """Insert or replace these incidents' rows, in one statement."""
        ...

    async def save_outages(self, states: Sequence[OutageState]) -> None:
        """Insert or replace these outage notices' rows, in one statement."""
        ...

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
        # The latest of the batch per case (one row may be inserted or updated once per statement).
        ordered = sorted(contacts, key=lambda c: (c.at is not None, c.at or datetime.min))
        latest = {c.complaint_id: c for c in ordered}
        if latest:
            rows = list(latest.values())
            await self.conn.execute(
                f"INSERT INTO {self.schema}.contacts AS kept (complaint_id, name, phone, contact_at) "
                "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) "
                "ON CONFLICT (complaint_id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone, "
                "contact_at = EXCLUDED.contact_at "
                "WHERE kept.contact_at IS NULL OR kept.contact_at < EXCLUDED.contact_at",
                [c.complaint_id for c in rows],
                [c.name for c in rows],
                [c.phone for c in rows],
                [c.at for c in rows],
            )

    async def purge_contacts(self, complaint_ids: list[uuid.UUID]) -> None:
        await self.conn.execute(
            f"DELETE FROM {self.schema}.contacts WHERE complaint_id = ANY($1::uuid[])", complaint_ids
        )
        # The address an event brought in clear (complaint.received v1-v4; workorder.assigned v1-v3, and v4 of a case
        # received before v5), or a v5 one opened on arrival: the case stays, without it.
        await self.conn.execute(
            f"UPDATE {self.schema}.timeline SET payload = jsonb_set(payload, '{{location}}', "
            "(payload -> 'location') || '{\"address\": null, \"coordinates\": null}'::jsonb) "
            "WHERE complaint_id = ANY($1::uuid[]) AND event_type IN ('complaint.received', 'workorder.assigned') "
            "AND jsonb_typeof(payload -> 'location') = 'object'",
            complaint_ids,
        )
        await self.conn.execute(
            f"UPDATE {self.schema}.cases SET address = NULL, address_key = NULL WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
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
        """Transaction-scoped locks on the cases, in the order given (callers sort it, so concurrent batches cannot
        deadlock on them): one statement, taking them one after another in the array's order (`ORDER BY n`: the
        locks are taken as the sorted rows are produced)."""
        if complaint_ids:
            await self.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1 || k)) "
                "FROM unnest($2::text[]) WITH ORDINALITY AS u (k, n) ORDER BY n",
                self.schema,
                [str(complaint_id) for complaint_id in complaint_ids],
            )

    async def contributions(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]:
        rows = await self._fetch(
            f"SELECT complaint_id, contribution FROM {self.schema}.cases WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )
        return {r["complaint_id"]: r["contribution"] for r in rows}

    async def save_cases(self, cases: Sequence[tuple[CaseState, dict[str, Any] | None]]) -> None:
        """One upsert for the batch's cases. The columns are read off each state (`asdict` would deep-copy its parts
        too: most of a rebuild's time)."""
        if not cases:
            return
        rows = [
            {**{c: getattr(state, c) for c in _STATE_COLUMNS}, "contribution": mine}
            for state, mine in sorted(cases, key=lambda case: case[0].complaint_id)
        ]
        table = f"{self.schema}.cases"
        columns = [*_STATE_COLUMNS, "contribution"]
        await self.conn.execute(
            upsert_sql(table, columns, ["complaint_id"], replacing(columns, ["complaint_id"])), as_json(rows)
        )

    async def save_parts(self, states: list[CaseState]) -> None:
        """One delete and one insert per table for the whole batch (a case's parts are re-derived with it)."""
        if not states:
            return
        ids = [uuid.UUID(state.complaint_id) for state in states]
        for table, attribute, part in _PART_TABLES:
            await self.conn.execute(f"DELETE FROM {self.schema}.{table} WHERE complaint_id = ANY($1::uuid[])", ids)
            columns = [f.name for f in fields(part)]
            rows = [{c: getattr(r, c) for c in columns} for state in states for r in getattr(state, attribute)]
            if rows:
                await self.conn.execute(insert_sql(f"{self.schema}.{table}", columns), as_json(rows))

    async def save_incidents(self, states: Sequence[IncidentState]) -> None:
        await self._replace("incidents", [asdict(state) for state in states])

    async def save_outages(self, states: Sequence[OutageState]) -> None:
        await self._replace("outages", [asdict(state) for state in states])

    async def _replace(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert or replace derived rows in one statement; their first column is the key."""
        if rows:
            columns = list(rows[0])
            key = columns[:1]
            sql = upsert_sql(f"{self.schema}.{table}", columns, key, replacing(columns, key))
            await self.conn.execute(sql, as_json(by_key(rows, key)))

    async def apply_deltas(self, deltas: RollupDeltas) -> None:
        """One upsert per table, then one delete of the rows a case moved out of (left at zero), so the tables hold
        only what the events imply (and a rebuild, whose interleaving differs, yields the same rows)."""
        for table, key, summed, rows in _rollup_rows(deltas):
            if not rows:
                continue
            full = f"{self.schema}.{table}"
            ordered = by_key(rows, key)
            adds = {n: f"r.{n} + EXCLUDED.{n}" for n in summed}
            zero = " AND ".join(f"r.{n} = 0" for n in summed)
            payload = as_json(ordered)
            await self.conn.execute(upsert_sql(full, [*key, *summed], key, adds), payload)
            await self.conn.execute(delete_sql(full, key, zero), payload)


def _rollup_rows(deltas: RollupDeltas) -> list[tuple[str, list[str], list[str], list[dict[str, Any]]]]:
    """Each incremental table: its key, its summed columns, and the batch's changes to it as rows."""
    tables: list[tuple[str, list[str], list[str], list[tuple[Any, ...]]]] = [
        ("kpi_rollup", ["dimension", "day", "key"], list(SUMMED), deltas.kpi_rows()),
        ("kpi_rollup_handling", ["dimension", "day", "key", "bucket"], ["n"], list(deltas.handling_rows())),
        ("hotspot_hourly", ["hour", "district", "category"], ["n"], list(deltas.hotspot_rows())),
        ("hotspot_asset_hourly", ["hour", "asset_type", "asset_id"], ["n"], list(deltas.asset_rows())),
    ]
    return [
        (table, key, summed, [dict(zip([*key, *summed], row, strict=True)) for row in rows])
        for table, key, summed, rows in tables
    ]
