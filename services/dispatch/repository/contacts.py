"""Customers' contact data (from complaint.contact) and the log of every staff member who read it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import datetime

from services.dispatch.model import Contact, ContactRead
from services.dispatch.repository.rows import CONTACT_COLUMNS, READ_COLUMNS, Rows, placeholders
from shared.db import recordset_json


class ContactTables(Rows):
    """`dispatch.contacts` and `dispatch.contact_access_log`."""

    async def add_contacts(self, contacts: Sequence[Contact]) -> None:
        """A batch's contacts in one statement, at most one per complaint (the caller keeps each complaint's latest:
        one statement cannot update a row twice). A contact replaces the one kept only when it is later."""
        if not contacts:
            return
        updates = ", ".join(f"{f.name} = EXCLUDED.{f.name}" for f in fields(Contact) if f.name != "complaint_id")
        await self.conn.execute(
            f"INSERT INTO dispatch.contacts ({CONTACT_COLUMNS}) SELECT {CONTACT_COLUMNS} "
            "FROM jsonb_populate_recordset(NULL::dispatch.contacts, $1::text::jsonb) "
            f"ON CONFLICT (complaint_id) DO UPDATE SET {updates} WHERE contacts.received_at < EXCLUDED.received_at",
            recordset_json(contacts),
        )

    async def contacts(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        rows = await self.conn.fetch(
            f"SELECT {CONTACT_COLUMNS} FROM dispatch.contacts WHERE complaint_id = ANY($1::uuid[])",
            list(set(complaint_ids)),
        )
        return {r["complaint_id"]: Contact(**dict(r)) for r in rows}

    async def purge_contacts(self, complaint_ids: Sequence[uuid.UUID]) -> int:
        deleted = await self.conn.fetchval(
            "WITH gone AS (DELETE FROM dispatch.contacts WHERE complaint_id = ANY($1::uuid[]) RETURNING 1) "
            "SELECT count(*) FROM gone",
            list(complaint_ids),
        )
        # The exact place opened from complaint.received v5 (or in clear before it): the case stays, without it.
        await self.conn.execute(
            "UPDATE dispatch.cases SET location = location || "
            '\'{"address": null, "coordinates": null, "sealed": null}\'::jsonb '
            "WHERE complaint_id = ANY($1::uuid[])",
            list(complaint_ids),
        )
        return int(deleted)

    async def log_contact_reads(self, reads: Sequence[ContactRead]) -> None:
        if not reads:
            return
        await self.conn.executemany(
            f"INSERT INTO dispatch.contact_access_log ({READ_COLUMNS}) VALUES ({placeholders(7)})",
            [tuple(asdict(r).values()) for r in reads],
        )

    async def contact_reads(
        self,
        *,
        complaint_id: uuid.UUID | None = None,
        reference_no: str | None = None,
        staff_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[ContactRead]:
        rows = await self.conn.fetch(
            f"SELECT {READ_COLUMNS} FROM dispatch.contact_access_log "
            "WHERE ($1::uuid IS NULL OR complaint_id = $1) AND ($2::text IS NULL OR reference_no = $2) "
            "AND ($3::text IS NULL OR staff_id = $3) AND ($4::timestamptz IS NULL OR at >= $4) "
            "AND ($5::timestamptz IS NULL OR at < $5) ORDER BY at DESC, id DESC LIMIT $6",
            complaint_id,
            reference_no,
            staff_id,
            since,
            until,
            limit,
        )
        return [ContactRead(**dict(r)) for r in rows]
