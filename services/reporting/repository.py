"""All of reporting's SQL: the projection's writes and the reports' reads, over its own schema.

`ReadModels` works on a pooled connection inside a unit of work (the projection, the streamed export) or
on the pool itself (single-statement reads). It never commits: the unit of work does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, fields, replace
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from services.reporting.case_parts import (
    REACHED,
    SCORES,
    CallbackPart,
    CorrectiveActionPart,
    MessagePart,
    WorkOrderPart,
)
from services.reporting.case_state import COUNTERS, CaseState, TimelineEvent
from services.reporting.incident_state import IncidentState, OutageState
from services.reporting.kpis import IncidentSums, KpiGroup
from services.reporting.model import (
    CLOSED_STATUSES,
    OPEN_WORK_ORDER_STATUSES,
    AreaCounts,
    AssetCounts,
    Contact,
    GroupBy,
    TimelineEntry,
)
from services.reporting.rollups import RollupDeltas
from services.reporting.timeliness import DueSums

SCHEMA = "reporting"
#: A row of `cases` as the reports show it: the columns of `CASE_FIELDS`, in that order.
CaseRow = Mapping[str, Any]
CASE_FIELDS = (
    "complaint_id",
    "reference_no",
    "account_no",
    "channel",
    "district",
    "address",
    "category",
    "department",
    "severity",
    "priority",
    "status",
    "cycle",
    "work_order_id",
    "work_order_status",
    "acknowledge_by",
    "resolve_by",
    "linked_to",
    "incident_id",
    "outage_id",
    "eta",
    "asset_type",
    "asset_id",
    "reopen_count",
    "escalation_level",
    "accepted_at",
    "first_resolved_at",
    "closed_at",
    "close_outcome",
    "name_masked",
    "phone_masked",
    "text",
    "owner",
    "invalid",
    "invalid_reason",
    "resolved_on_contact",
    "handled_on_contact",
    "customer_agitated",
    "due_at",
    "root_cause",
    "root_cause_zh",
    "root_cause_en",
    "root_cause_note",
    "owner_name",
    "received_at",
)
_CASE_SELECT = ", ".join(f"c.{f}" for f in CASE_FIELDS)
#: A work order of a case as the queues show it: the case's fields, with the work order's own department, status
#: and resolve deadline (an acknowledge deadline is on record only for the case's current lead), its role and lead.
_WORK_ORDER_OWN = {
    "department": "w.department",
    "work_order_id": "w.work_order_id",
    "work_order_status": "w.status",
    "resolve_by": "w.resolve_by",
    "acknowledge_by": "CASE WHEN w.work_order_id = c.work_order_id THEN c.acknowledge_by END",
}
_WORK_ORDER_SELECT = ", ".join(
    [
        *(f"{_WORK_ORDER_OWN[f]} AS {f}" if f in _WORK_ORDER_OWN else f"c.{f}" for f in CASE_FIELDS),
        "w.role",
        "w.lead_work_order_id",
    ]
)
#: An incident's own work order in the same shape (`kind` tells them apart): no customer, no channel, its
#: compound as the address, its description as the text. Untyped NULLs take the case columns' types in the UNION.
_INCIDENT_OWN = {
    "complaint_id": "i.incident_id",
    "reference_no": "i.reference_no",
    "district": "i.district",
    "address": "i.compound",
    "category": "i.category",
    "department": "i.department",
    "severity": "i.severity",
    "status": "i.status",
    "cycle": "1",
    "work_order_id": "i.work_order_id",
    "work_order_status": "i.work_order_status",
    "resolve_by": "i.resolve_by",
    "incident_id": "i.incident_id",
    "eta": "i.eta",
    "asset_type": "i.asset_type",
    "asset_id": "i.asset_id",
    "reopen_count": "0",
    "escalation_level": "i.escalation_level",
    "accepted_at": "i.opened_at",
    "text": "i.description",
    "invalid": "false",
    "resolved_on_contact": "false",
    "customer_agitated": "false",
    "due_at": "i.resolve_by",
    "root_cause": "i.root_cause",
}
_INCIDENT_WORK_ORDER_SELECT = ", ".join(
    [*(f"{_INCIDENT_OWN.get(f, 'NULL')} AS {f}" for f in CASE_FIELDS), "'lead' AS role", "NULL AS lead_work_order_id"]
)
#: Every open work order a department holds: the cases' (leads and assisting parts) and the incidents' own.
_OPEN_WORK_ORDERS = (
    f"SELECT {_WORK_ORDER_SELECT}, 'case' AS kind FROM {{schema}}.work_orders w "
    f"JOIN {{schema}}.cases c USING (complaint_id) WHERE w.status = ANY($1::text[]) "
    f"UNION ALL SELECT {_INCIDENT_WORK_ORDER_SELECT}, 'incident' FROM {{schema}}.incidents i "
    "WHERE i.work_order_status = ANY($1::text[])"
)


def _of_department(param: str, schema: str) -> str:
    """A case is a department's when it is its department's, or one of its work orders (a coordinated case's
    assisting part) is; the parameter NULL means every department's."""
    return (
        f"({param}::text IS NULL OR c.department = {param} OR EXISTS (SELECT 1 FROM {schema}.work_orders w "
        f"WHERE w.complaint_id = c.complaint_id AND w.department = {param}))"
    )


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
#: The key of a due-in-the-period group (timeliness, callback coverage) per grouping; by day it is the local
#: day it fell due (`$4`, the time zone).
_DUE_KEYS: dict[str, str] = {
    "department": "c.kpi_department",
    "category": "c.kpi_category",
    "channel": "c.channel",
    "district": "c.district",
}
#: The key of a root-cause group per `by`; by month the local month it was resolved in (`$3`, the time zone).
_ROOT_CAUSE_KEYS: dict[str, str] = {
    "department": "w.department",
    "asset": "CASE WHEN c.asset_id IS NULL THEN NULL ELSE c.asset_type || ':' || c.asset_id END",
    "district": "c.district",
    "month": "to_char(w.resolved_at AT TIME ZONE $3, 'YYYY-MM')",
}
#: An incident's KPI group key per grouping (see `model.INCIDENT_GROUPINGS`).
_INCIDENT_KEYS: dict[str, str] = {
    "department": "department",
    "category": "category",
    "district": "district",
    "day": "to_char(opened_day, 'YYYY-MM-DD')",
}
_INCIDENT_SUMS = (
    "count(*) AS incidents, count(resolved_at) AS resolved, "
    "count(*) FILTER (WHERE resolved_at <= resolve_by) AS resolved_in_time, "
    "coalesce(sum(households), 0) AS households"
)
_SUMMED = (*COUNTERS, "handling_ms")


class ProjectionStore(Protocol):
    """What projecting events writes and reads, inside the caller's transaction."""

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


class ReportQueries(Protocol):
    """What the reports read."""

    async def case_by_reference(self, reference_no: str) -> CaseRow | None: ...

    async def case_by_id(self, complaint_id: uuid.UUID) -> CaseRow | None: ...

    async def timeline(self, complaint_id: uuid.UUID) -> list[Mapping[str, Any]]: ...

    async def contacts(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]: ...

    async def household(
        self, account_no: str, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]: ...

    async def overdue(
        self, now: datetime, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]: ...

    async def queues(self, now: datetime) -> list[Mapping[str, Any]]: ...

    async def kpi_groups(self, group_by: GroupBy, first: date, last: date) -> list[KpiGroup]: ...

    async def kpi_total(self, first: date, last: date) -> KpiGroup: ...

    async def area_counts(
        self, baseline_start: datetime, window_start: datetime, now: datetime
    ) -> list[AreaCounts]: ...

    async def asset_counts(
        self, baseline_start: datetime, window_start: datetime, now: datetime
    ) -> list[AssetCounts]: ...

    async def repeat_complainants(self, since: datetime, min_cases: int) -> list[Mapping[str, Any]]: ...

    async def incidents(
        self, status: str | None, *, limit: int, offset: int
    ) -> tuple[list[Mapping[str, Any]], int]: ...

    async def outages(self, status: str | None, *, limit: int, offset: int) -> tuple[list[Mapping[str, Any]], int]: ...

    async def incident_groups(self, group_by: GroupBy, first: date, last: date) -> dict[str, IncidentSums]: ...

    async def incident_total(self, first: date, last: date) -> IncidentSums: ...

    def cases_accepted_between(
        self, since: datetime, until: datetime, *, department: str | None = None, batch_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]: ...

    async def count_cases(self) -> int: ...

    async def due_groups(
        self, group_by: GroupBy, since: datetime, until: datetime, now: datetime, timezone: str
    ) -> dict[str, DueSums]: ...

    async def due_total(self, since: datetime, until: datetime, now: datetime) -> DueSums: ...

    async def case_handling(self, complaint_id: uuid.UUID) -> Mapping[str, Any] | None: ...

    async def work_orders(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def callbacks(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def corrective_actions(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def messages(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def serious_cases(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]: ...

    async def serious_incidents(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]: ...

    async def timelines(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TimelineEvent]]: ...

    async def root_causes(
        self, by: str, since: datetime, until: datetime, timezone: str
    ) -> list[Mapping[str, Any]]: ...

    async def staff_cases(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def staff_callbacks(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def staff_satisfaction(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def staff_resolutions(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def household_lookup(
        self,
        *,
        phone: str | None,
        account_no: str | None,
        address: str | None,
        department: str | None = None,
        limit: int,
    ) -> tuple[list[CaseRow], int]: ...


class ReadModels:
    """The read models of one schema (`reporting`, or a side-by-side rebuild's), over a connection or pool."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, schema: str = SCHEMA) -> None:
        self.conn = conn
        self.schema = schema

    # -- the projection's writes --------------------------------------------------------------------------

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
        inserted = await self.conn.fetch(
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

    async def timelines(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TimelineEvent]]:
        found: dict[uuid.UUID, list[TimelineEvent]] = defaultdict(list)
        for r in await self.conn.fetch(
            f"SELECT complaint_id, event_id, event_type, occurred_at, payload FROM {self.schema}.timeline "
            "WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        ):
            found[r["complaint_id"]].append(
                TimelineEvent(str(r["event_id"]), r["event_type"], r["occurred_at"], r["payload"])
            )
        return found

    async def contributions(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]:
        rows = await self.conn.fetch(
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
            adds = ", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n in _SUMMED)
            placeholders = ", ".join(f"${i}" for i in range(1, len(COUNTERS) + 5))
            await self.conn.executemany(
                f"INSERT INTO {s}.kpi_rollup AS r (dimension, day, key, {names}, handling_ms) "
                f"VALUES ({placeholders}) ON CONFLICT (dimension, day, key) DO UPDATE SET {adds}",
                kpi,
            )
            zero = " AND ".join(f"{n} = 0" for n in _SUMMED)
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

    # -- the reports' reads -------------------------------------------------------------------------------

    async def case_by_reference(self, reference_no: str) -> CaseRow | None:
        return await self.conn.fetchrow(
            f"SELECT {_CASE_SELECT} FROM {self.schema}.cases c WHERE c.reference_no = $1", reference_no
        )

    async def case_by_id(self, complaint_id: uuid.UUID) -> CaseRow | None:
        return await self.conn.fetchrow(
            f"SELECT {_CASE_SELECT} FROM {self.schema}.cases c WHERE c.complaint_id = $1", complaint_id
        )

    async def timeline(self, complaint_id: uuid.UUID) -> list[Mapping[str, Any]]:
        return await self.conn.fetch(
            f"SELECT event_id, event_type, occurred_at, topic, payload FROM {self.schema}.timeline "
            "WHERE complaint_id = $1 ORDER BY occurred_at, event_id",
            complaint_id,
        )

    async def contacts(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        if not complaint_ids:
            return {}
        rows = await self.conn.fetch(
            f"SELECT complaint_id, name, phone FROM {self.schema}.contacts WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )
        return {r["complaint_id"]: Contact(r["complaint_id"], r["name"], r["phone"]) for r in rows}

    async def household(
        self, account_no: str, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]:
        """A household's cases (only a department's, when given), newest first, and how many it has."""
        where = f"c.account_no = $1 AND {_of_department('$2', self.schema)}"
        rows = await self.conn.fetch(
            f"SELECT {_CASE_SELECT} FROM {self.schema}.cases c WHERE {where} "
            "ORDER BY c.accepted_at DESC, c.complaint_id LIMIT $3 OFFSET $4",
            account_no,
            department,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            f"SELECT count(*) FROM {self.schema}.cases c WHERE {where}", account_no, department
        )
        return rows, total

    async def overdue(
        self, now: datetime, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]:
        """Open work orders past their resolve deadline, the longest overdue first, and how many there are: one
        row per work order (a coordinated case's assisting part in its own department's list, and still there
        after its lead is resolved; an incident's own work order, `kind` incident), with its case's fields."""
        open_orders = _OPEN_WORK_ORDERS.format(schema=self.schema)
        where = "o.resolve_by < $2 AND ($3::text IS NULL OR o.department = $3)"
        args = (list(OPEN_WORK_ORDER_STATUSES), now, department)
        rows = await self.conn.fetch(
            f"SELECT * FROM ({open_orders}) o WHERE {where} "
            "ORDER BY o.resolve_by, o.complaint_id, o.work_order_id LIMIT $4 OFFSET $5",
            *args,
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM ({open_orders}) o WHERE {where}", *args)
        return rows, total

    async def queues(self, now: datetime) -> list[Mapping[str, Any]]:
        """Per department: its open work orders (each part of a coordinated case in its own department's queue,
        and an incident's own work order in its department's), and how many are past their resolve deadline."""
        return await self.conn.fetch(
            "SELECT o.department, count(*) AS open, count(*) FILTER (WHERE o.resolve_by < $2) AS overdue "
            f"FROM ({_OPEN_WORK_ORDERS.format(schema=self.schema)}) o "
            "GROUP BY o.department ORDER BY o.department",
            list(OPEN_WORK_ORDER_STATUSES),
            now,
        )

    async def kpi_groups(self, group_by: GroupBy, first: date, last: date) -> list[KpiGroup]:
        """The cases received from `first` to `last` (local days, inclusive), grouped, in key order. Reads
        only the rollup of the requested dimension ("all" by day for the trend)."""
        by_day = group_by == "day"
        key = "to_char(day, 'YYYY-MM-DD')" if by_day else "key"
        dimension = "all" if by_day else group_by
        sums = ", ".join(f"sum({c})::bigint AS {c}" for c in _SUMMED)
        rows = await self.conn.fetch(
            f"SELECT {key} AS key, {sums} FROM {self.schema}.kpi_rollup "
            "WHERE dimension = $1 AND day BETWEEN $2 AND $3 GROUP BY 1 ORDER BY 1",
            dimension,
            first,
            last,
        )
        buckets = await self.conn.fetch(
            f"SELECT {key} AS key, bucket, sum(n)::bigint AS n FROM {self.schema}.kpi_rollup_handling "
            "WHERE dimension = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2",
            dimension,
            first,
            last,
        )
        histograms: dict[str, dict[int, int]] = defaultdict(dict)
        for r in buckets:
            histograms[r["key"]][r["bucket"]] = r["n"]
        return [KpiGroup(r["key"], {c: r[c] or 0 for c in _SUMMED}, histograms.get(r["key"], {})) for r in rows]

    async def kpi_total(self, first: date, last: date) -> KpiGroup:
        """All cases received from `first` to `last`, as one group keyed "total"."""
        sums = ", ".join(f"sum({c})::bigint AS {c}" for c in _SUMMED)
        row = await self.conn.fetchrow(
            f"SELECT {sums} FROM {self.schema}.kpi_rollup WHERE dimension = 'all' AND day BETWEEN $1 AND $2",
            first,
            last,
        )
        buckets = await self.conn.fetch(
            f"SELECT bucket, sum(n)::bigint AS n FROM {self.schema}.kpi_rollup_handling "
            "WHERE dimension = 'all' AND day BETWEEN $1 AND $2 GROUP BY 1",
            first,
            last,
        )
        sums_found = {c: (row[c] or 0) if row else 0 for c in _SUMMED}
        return KpiGroup("total", sums_found, {r["bucket"]: r["n"] for r in buckets})

    async def area_counts(self, baseline_start: datetime, window_start: datetime, now: datetime) -> list[AreaCounts]:
        """District x category cases from the hour `window_start` falls in up to `now`, and in the hours
        from `baseline_start` up to it."""
        rows = await self.conn.fetch(
            "SELECT district, category, "
            "sum(n) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz)) AS current, "
            "sum(n) FILTER (WHERE hour < date_trunc('hour', $1::timestamptz)) AS before "
            f"FROM {self.schema}.hotspot_hourly WHERE hour >= date_trunc('hour', $2::timestamptz) AND hour <= $3 "
            "GROUP BY district, category",
            window_start,
            baseline_start,
            now,
        )
        return [AreaCounts(r["district"], r["category"], r["current"] or 0, r["before"] or 0) for r in rows]

    async def asset_counts(self, baseline_start: datetime, window_start: datetime, now: datetime) -> list[AssetCounts]:
        """Cases per asset, in the window and in the baseline hours before it (as `area_counts`)."""
        rows = await self.conn.fetch(
            "SELECT asset_type, asset_id, "
            "sum(n) FILTER (WHERE hour >= date_trunc('hour', $1::timestamptz)) AS current, "
            "sum(n) FILTER (WHERE hour < date_trunc('hour', $1::timestamptz)) AS before "
            f"FROM {self.schema}.hotspot_asset_hourly WHERE hour >= date_trunc('hour', $2::timestamptz) "
            "AND hour <= $3 GROUP BY asset_type, asset_id",
            window_start,
            baseline_start,
            now,
        )
        return [AssetCounts(r["asset_type"], r["asset_id"], r["current"] or 0, r["before"] or 0) for r in rows]

    async def incidents(self, status: str | None, *, limit: int, offset: int) -> tuple[list[Mapping[str, Any]], int]:
        """Incidents (with `status`, or all), the most recently opened first, and how many there are."""
        return await self._page("incidents", status, "opened_at DESC NULLS LAST, incident_id", limit, offset)

    async def outages(self, status: str | None, *, limit: int, offset: int) -> tuple[list[Mapping[str, Any]], int]:
        """Outage notices (with `status`, or all), the latest start first, and how many there are."""
        return await self._page("outages", status, "starts_at DESC, outage_id", limit, offset)

    async def _page(
        self, table: str, status: str | None, order: str, limit: int, offset: int
    ) -> tuple[list[Mapping[str, Any]], int]:
        where = "$1::text IS NULL OR status = $1"
        rows = await self.conn.fetch(
            f"SELECT * FROM {self.schema}.{table} WHERE {where} ORDER BY {order} LIMIT $2 OFFSET $3",
            status,
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM {self.schema}.{table} WHERE {where}", status)
        return rows, total

    async def incident_groups(self, group_by: GroupBy, first: date, last: date) -> dict[str, IncidentSums]:
        """The incidents opened from `first` to `last` (local days), grouped as the KPI rows are."""
        key = _INCIDENT_KEYS[group_by]
        rows = await self.conn.fetch(
            f"SELECT {key} AS key, {_INCIDENT_SUMS} FROM {self.schema}.incidents "
            "WHERE opened_day BETWEEN $1 AND $2 GROUP BY 1",
            first,
            last,
        )
        return {r["key"]: _incident_sums(r) for r in rows}

    async def incident_total(self, first: date, last: date) -> IncidentSums:
        row = await self.conn.fetchrow(
            f"SELECT {_INCIDENT_SUMS} FROM {self.schema}.incidents WHERE opened_day BETWEEN $1 AND $2", first, last
        )
        return _incident_sums(row)

    async def repeat_complainants(self, since: datetime, min_cases: int) -> list[Mapping[str, Any]]:
        """Accounts with at least `min_cases` cases accepted since `since`, the most first (at most 200)."""
        return await self.conn.fetch(
            f"SELECT account_no, count(*) AS cases, max(accepted_at) AS last_at FROM {self.schema}.cases "
            "WHERE account_no IS NOT NULL AND accepted_at >= $1 GROUP BY account_no HAVING count(*) >= $2 "
            "ORDER BY count(*) DESC, account_no LIMIT 200",
            since,
            min_cases,
        )

    async def cases_accepted_between(
        self, since: datetime, until: datetime, *, department: str | None = None, batch_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The cases accepted in [since, until) (only a department's, when given), oldest first, in batches, through
        a server-side cursor (an export never holds them all). Needs a connection inside a transaction."""
        batch: list[dict[str, Any]] = []
        async for record in self.conn.cursor(  # type: ignore[union-attr]  # a connection, not the pool
            f"SELECT {_CASE_SELECT} FROM {self.schema}.cases c WHERE c.accepted_at >= $1 AND c.accepted_at < $2 "
            f"AND {_of_department('$3', self.schema)} ORDER BY c.accepted_at, c.complaint_id",
            since,
            until,
            department,
        ):
            batch.append(dict(record))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count_cases(self) -> int:
        return await self.conn.fetchval(f"SELECT count(*) FROM {self.schema}.cases")

    # -- what fell due in a period, and the handling rules' reports --------------------------------------

    async def due_groups(
        self, group_by: GroupBy, since: datetime, until: datetime, now: datetime, timezone: str
    ) -> dict[str, DueSums]:
        """Timeliness and callback coverage of the cases and callbacks due in [since, until), grouped like
        the KPI rows (by day: the local day it fell due), counted as `timeliness` rules at `now`."""
        by_day = group_by not in _DUE_KEYS
        zone = [timezone] if by_day else []  # $4, only where a key needs it
        case_key = "to_char(c.due_at AT TIME ZONE $4, 'YYYY-MM-DD')" if by_day else _DUE_KEYS[group_by]
        callback_key = "to_char(b.due_at AT TIME ZONE $4, 'YYYY-MM-DD')" if by_day else _DUE_KEYS[group_by]
        cases = await self.conn.fetch(
            f"SELECT {case_key} AS key, {_DUE_CASES} FROM {self.schema}.cases c "
            "WHERE c.due_at >= $1 AND c.due_at < $2 GROUP BY 1",
            since,
            until,
            now,
            *zone,
        )
        callbacks = await self.conn.fetch(
            f"SELECT {callback_key} AS key, {_DUE_CALLBACKS} FROM {self.schema}.callbacks b "
            f"JOIN {self.schema}.cases c USING (complaint_id) "
            "WHERE b.due_at >= $1 AND b.due_at < $2 GROUP BY 1",
            since,
            until,
            now,
            *zone,
        )
        return _due_sums(cases, callbacks)

    async def due_total(self, since: datetime, until: datetime, now: datetime) -> DueSums:
        cases = await self.conn.fetch(
            f"SELECT 'total' AS key, {_DUE_CASES} FROM {self.schema}.cases c WHERE c.due_at >= $1 AND c.due_at < $2",
            since,
            until,
            now,
        )
        callbacks = await self.conn.fetch(
            f"SELECT 'total' AS key, {_DUE_CALLBACKS} FROM {self.schema}.callbacks b "
            "WHERE b.due_at >= $1 AND b.due_at < $2",
            since,
            until,
            now,
        )
        return _due_sums(cases, callbacks).get("total", DueSums())

    async def case_handling(self, complaint_id: uuid.UUID) -> Mapping[str, Any] | None:
        """A case's cause analysis and escalations (not in `CASE_FIELDS`: no CSV column holds a list)."""
        return await self.conn.fetchrow(
            f"SELECT cause_analysis, escalations FROM {self.schema}.cases WHERE complaint_id = $1", complaint_id
        )

    async def work_orders(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("work_orders", "assigned_at NULLS LAST, work_order_id", complaint_ids)

    async def callbacks(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("callbacks", "due_at, callback_id", complaint_ids)

    async def corrective_actions(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("corrective_actions", "deadline, action_id", complaint_ids)

    async def messages(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("messages", "requested_at, notification_id", complaint_ids)

    async def _parts(self, table: str, order: str, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self.conn.fetch(
            f"SELECT * FROM {self.schema}.{table} WHERE complaint_id = ANY($1::uuid[]) ORDER BY complaint_id, {order}",
            complaint_ids,
        )

    async def serious_cases(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]:
        """Serious and emergency cases accepted in [since, until) (only a department's, when given), oldest first."""
        return await self.conn.fetch(
            f"SELECT {_CASE_SELECT}, c.cause_analysis, c.escalations FROM {self.schema}.cases c "
            "WHERE c.severity IN ('serious', 'emergency') AND c.accepted_at >= $1 AND c.accepted_at < $2 "
            f"AND {_of_department('$3', self.schema)} ORDER BY c.accepted_at, c.complaint_id",
            since,
            until,
            department,
        )

    async def serious_incidents(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]:
        """Serious and emergency incidents opened in [since, until) (only a department's, when given), oldest first
        (their handling is derived from their timelines: `incident_handling`)."""
        return await self.conn.fetch(
            f"SELECT * FROM {self.schema}.incidents "
            "WHERE severity IN ('serious', 'emergency') AND opened_at >= $1 AND opened_at < $2 "
            "AND ($3::text IS NULL OR department = $3) ORDER BY opened_at, incident_id",
            since,
            until,
            department,
        )

    async def root_causes(self, by: str, since: datetime, until: datetime, timezone: str) -> list[Mapping[str, Any]]:
        """Work orders resolved in [since, until) per group of `by` and root-cause code, the most frequent first."""
        key = _ROOT_CAUSE_KEYS[by]
        return await self.conn.fetch(
            f"SELECT {key} AS key, w.root_cause AS code, max(w.root_cause_zh) AS label_zh, "
            "max(w.root_cause_en) AS label_en, count(*) AS count "
            f"FROM {self.schema}.work_orders w JOIN {self.schema}.cases c USING (complaint_id) "
            "WHERE w.root_cause IS NOT NULL AND w.resolved_at >= $1 AND w.resolved_at < $2 "
            "GROUP BY 1, 2 ORDER BY 1 NULLS LAST, count(*) DESC, 2",
            since,
            until,
            *([timezone] if by == "month" else []),  # $3, only where the key needs it
        )

    async def staff_cases(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per owner: the cases accepted in [since, until) they own, and how many they settled at first contact
        (with the owner's display name, when an event gave it)."""
        return await self.conn.fetch(
            "SELECT owner AS staff_id, max(owner_name) AS staff_name, count(*) AS cases_owned, "
            "count(*) FILTER (WHERE resolved_on_contact) AS first_contact_resolutions "
            f"FROM {self.schema}.cases WHERE owner IS NOT NULL AND accepted_at >= $1 AND accepted_at < $2 "
            "GROUP BY owner",
            since,
            until,
        )

    async def staff_callbacks(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per agent: callbacks that reached the customer by their attempt in [since, until)."""
        return await self.conn.fetch(
            f"SELECT agent AS staff_id, max(agent_name) AS staff_name, count(*) AS callbacks_done "
            f"FROM {self.schema}.callbacks "
            "WHERE outcome = ANY($3::text[]) AND last_attempt_at >= $1 AND last_attempt_at < $2 GROUP BY agent",
            since,
            until,
            list(REACHED),
        )

    async def staff_resolutions(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per actor: the work orders they resolved in [since, until); `person` when an event named them as a
        person (a display name other than the id: dispatch names a credential after itself)."""
        person = "resolved_by_name IS NOT NULL AND resolved_by_name <> resolved_by"
        return await self.conn.fetch(
            f"SELECT resolved_by AS staff_id, max(resolved_by_name) FILTER (WHERE {person}) AS staff_name, "
            f"bool_or({person}) AS person, count(*) AS work_orders_resolved FROM {self.schema}.work_orders "
            "WHERE resolved_by IS NOT NULL AND resolved_at >= $1 AND resolved_at < $2 GROUP BY resolved_by",
            since,
            until,
        )

    async def household_lookup(
        self,
        *,
        phone: str | None,
        account_no: str | None,
        address: str | None,
        department: str | None = None,
        limit: int,
    ) -> tuple[list[CaseRow], int]:
        """The cases of the households matching any of the given keys: cases whose caller had this phone number,
        of this account, or at an address containing this text — and every other case of an account found so (a
        household is its account); only a department's, when given. Open ones first, then newest; and how many there
        are. The address is a substring match (a scan of the cases: agents type part of it)."""
        s = self.schema
        matched = (
            f"SELECT complaint_id FROM {s}.contacts WHERE $1::text IS NOT NULL AND phone = $1 "
            f"UNION SELECT complaint_id FROM {s}.cases WHERE $2::text IS NOT NULL AND account_no = $2 "
            f"UNION SELECT complaint_id FROM {s}.cases WHERE $3::text IS NOT NULL AND strpos(address, $3) > 0"
        )
        found = (
            f"WITH matched AS ({matched}), households AS (SELECT DISTINCT account_no FROM {s}.cases "
            "WHERE complaint_id IN (SELECT complaint_id FROM matched) AND account_no IS NOT NULL) "
            f"SELECT {{columns}} FROM {s}.cases c WHERE (c.complaint_id IN (SELECT complaint_id FROM matched) "
            f"OR c.account_no IN (SELECT account_no FROM households)) AND {_of_department('$4', s)}"
        )
        closed = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)
        rows = await self.conn.fetch(
            found.format(columns=f"{_CASE_SELECT}, c.status NOT IN ({closed}) AS open")
            + " ORDER BY open DESC, c.accepted_at DESC NULLS LAST, c.complaint_id LIMIT $5",
            phone,
            account_no,
            address,
            department,
            limit,
        )
        total = await self.conn.fetchval(
            f"SELECT count(*) FROM ({found.format(columns='1')}) f", phone, account_no, address, department
        )
        return rows, total

    async def staff_satisfaction(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per owner: the final callbacks of their cases accepted in [since, until), by outcome, and the survey."""
        scores = ", ".join(f"sum(b.score_{n}) AS score_{n}_sum, count(b.score_{n}) AS score_{n}_n" for n in SCORES)
        return await self.conn.fetch(
            "SELECT c.owner AS staff_id, "
            "count(*) FILTER (WHERE b.outcome = 'satisfied') AS satisfied, "
            "count(*) FILTER (WHERE b.outcome = 'dissatisfied') AS dissatisfied, "
            f"count(*) FILTER (WHERE b.outcome = 'unreachable') AS unreachable, {scores} "
            f"FROM {self.schema}.callbacks b JOIN {self.schema}.cases c USING (complaint_id) "
            "WHERE b.final AND c.owner IS NOT NULL AND c.accepted_at >= $1 AND c.accepted_at < $2 GROUP BY c.owner",
            since,
            until,
        )


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value is not None else None


#: Timeliness counts of a group of cases (`timeliness.due_outcome`, `$3` = now).
_DUE_CASES = (
    "count(*) FILTER (WHERE c.resolved_in_time) AS in_time, "
    "count(*) FILTER (WHERE NOT c.resolved_in_time) AS late, "
    "count(*) FILTER (WHERE c.resolved_in_time IS NULL AND c.due_at <= $3) AS open_overdue"
)
#: Coverage counts of a group of callbacks (`timeliness.callback_outcome`, `$3` = now), attempts and the survey.
_DUE_CALLBACKS = (
    "count(*) FILTER (WHERE b.outcome IN ('satisfied', 'dissatisfied')) AS completed, "
    "count(*) FILTER (WHERE b.outcome = 'unreachable' AND b.final) AS unreachable, "
    "count(*) FILTER (WHERE (b.outcome IS NULL OR (b.outcome = 'unreachable' AND NOT b.final)) AND b.due_at <= $3) "
    "AS missed, "
    "coalesce(sum(b.attempts), 0) AS attempts, "
    + ", ".join(f"coalesce(sum(b.score_{n}), 0) AS {n}_sum, count(b.score_{n}) AS {n}_n" for n in SCORES)
)


def _due_sums(cases: list[Mapping[str, Any]], callbacks: list[Mapping[str, Any]]) -> dict[str, DueSums]:
    found: dict[str, DueSums] = {}
    for r in cases:
        found[r["key"]] = DueSums(in_time=r["in_time"], late=r["late"], open_overdue=r["open_overdue"])
    for r in callbacks:
        base = found.get(r["key"], DueSums())
        scores = tuple((n, r[f"{n}_sum"], r[f"{n}_n"]) for n in SCORES)
        found[r["key"]] = replace(
            base,
            callbacks_completed=r["completed"],
            callbacks_unreachable=r["unreachable"],
            callbacks_missed=r["missed"],
            callback_attempts=r["attempts"],
            scores=scores,
        )
    # A case received before its "received" event reached reporting has no channel yet: in the totals only.
    return {k: sums for k, sums in found.items() if k is not None and (sums.due or sums.callbacks_due)}


def _incident_sums(row: Mapping[str, Any] | None) -> IncidentSums:
    if row is None:
        return IncidentSums()
    return IncidentSums(row["incidents"], row["resolved"], row["resolved_in_time"], row["households"])


__all__ = ["CASE_FIELDS", "SCHEMA", "CaseRow", "ProjectionStore", "ReadModels", "ReportQueries"]


def _upsert_sql(table: str, columns: Sequence[str]) -> str:
    """Insert, or replace every column but the first (the key) of the row already there."""
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
    )
