"""The log of who was shown a customer's contact in followup (`followup.contact_access_log`, migration 011).

Its own door (`handlers.contact_reads`): the worklist and the callbacks are read in units of work never committed,
while a showing is a fact written before the answer goes out. Never commits: the door does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Protocol
from uuid import UUID

from services.followup.repository.postgres import PostgresFollowupRepository
from services.followup.repository.rows import SCHEMA
from shared.handling import HandlingRepository


@dataclass(frozen=True)
class ContactShown:
    at: datetime
    reader: str
    reader_name: str | None
    reader_kind: str  # person | key
    complaint_id: UUID
    reference_no: str
    what: tuple[str, ...]
    endpoint: str


_COLUMNS = ", ".join(f.name for f in fields(ContactShown))


class ContactReadLog(HandlingRepository, Protocol):
    async def log_contact_reads(self, reads: Sequence[ContactShown]) -> None: ...

    async def contact_reads(self, complaint_id: UUID) -> list[ContactShown]: ...


class PostgresContactReadLog(PostgresFollowupRepository):
    """The log on followup's connection (whose outbox the door's protocol names; a showing emits nothing)."""

    async def log_contact_reads(self, reads: Sequence[ContactShown]) -> None:
        if not reads:
            return
        rows = [(*astuple(r)[:6], list(r.what), r.endpoint) for r in reads]
        await self.conn.executemany(
            f"INSERT INTO {SCHEMA}.contact_access_log ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", rows
        )

    async def contact_reads(self, complaint_id: UUID) -> list[ContactShown]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM {SCHEMA}.contact_access_log WHERE complaint_id = $1 ORDER BY at DESC, id DESC",
            complaint_id,
        )
        return [ContactShown(**{**dict(r), "what": tuple(r["what"])}) for r in rows]
