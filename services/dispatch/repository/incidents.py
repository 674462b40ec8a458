"""Incidents: one fault, many callers — the callers of a fault not yet settled, the incident and who joined it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from services.dispatch.model import Case, Incident
from services.dispatch.repository.rows import CASE_COLUMNS, INCIDENT_COLUMNS, Rows, lock_in_order


class IncidentTables(Rows):
    """`dispatch.incidents`, and the cases that joined one (or duplicate a case)."""

    async def lock_faults(self, scopes: Iterable[str]) -> None:
        await lock_in_order(self.conn, "dispatch-fault:", scopes)

    async def unsettled_fault_cases(self, scope: str, family: str, since: datetime) -> list[Case]:
        rows = await self.conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM dispatch.cases WHERE scope = $1 AND family = $2 AND accepted_at >= $3 "
            "AND incident_id IS NULL AND outage_id IS NULL AND fixed_at IS NULL ORDER BY accepted_at, complaint_id",
            scope,
            family,
            since,
        )
        return [Case(**dict(r)) for r in rows]

    async def open_incident(self, scope: str, family: str, *, lock: bool = False) -> Incident | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {INCIDENT_COLUMNS} FROM dispatch.incidents WHERE scope = $1 AND family = $2 "
            f"AND status = 'open'{suffix}",
            scope,
            family,
        )
        return Incident(**dict(row)) if row else None

    async def insert_incident(self, incident: Incident) -> None:
        await self._insert("incidents", incident)

    async def get_incident(self, incident_id: uuid.UUID, *, lock: bool = False) -> Incident | None:
        return await self._get(Incident, "incidents", "incident_id", incident_id, lock=lock)

    async def update_incident(self, incident_id: uuid.UUID, **changes: Any) -> None:
        await self._update("incidents", "incident_id", incident_id, changes)

    async def incident_households(self, incident_id: uuid.UUID) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(DISTINCT coalesce(household, account_no, complaint_id::text)) FROM dispatch.cases "
                "WHERE incident_id = $1",
                incident_id,
            )
        )

    async def incidents(self, status: str | None, *, limit: int) -> list[Incident]:
        rows = await self.conn.fetch(
            f"SELECT {INCIDENT_COLUMNS} FROM dispatch.incidents WHERE ($1::text IS NULL OR status = $1) "
            "ORDER BY opened_at DESC LIMIT $2",
            status,
            limit,
        )
        return [Incident(**dict(r)) for r in rows]

    async def cases_joined(
        self, *, incident_id: uuid.UUID | None = None, outage_id: uuid.UUID | None = None, unfixed: bool = False
    ) -> list[Case]:
        column, value = ("incident_id", incident_id) if incident_id is not None else ("outage_id", outage_id)
        fixed = " AND fixed_at IS NULL" if unfixed else ""
        rows = await self.conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM dispatch.cases WHERE {column} = $1{fixed} ORDER BY created_at, complaint_id",
            value,
        )
        return [Case(**dict(r)) for r in rows]

    async def unfixed_duplicates_of(self, complaint_id: uuid.UUID) -> list[Case]:
        rows = await self.conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM dispatch.cases WHERE linked_to = $1 AND fixed_at IS NULL "
            "AND incident_id IS NULL AND outage_id IS NULL ORDER BY created_at, complaint_id",
            complaint_id,
        )
        return [Case(**dict(r)) for r in rows]


async def open_incidents(pool: asyncpg.Pool) -> int:
    """Incidents not yet resolved: the `incidents_open` gauge reads it when scraped."""
    return int(await pool.fetchval("SELECT count(*) FROM dispatch.incidents WHERE status = 'open'"))
