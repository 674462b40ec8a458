"""The log of who read personal data in reporting (`reporting_audit.read_access_log`, migration 008).

Its own schema and its own door: a rebuild drops the read models' schema (`reporting`) and derives it again from
the topics, but what a person read cannot be derived from anything, so it lives beside them. Never commits: the
door does.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Protocol

from services.reporting.repository import ReadModels
from shared.handling import HandlingRepository


@dataclass(frozen=True)
class PersonalDataRead:
    """One read: who, through which request, whose, which fields, when."""

    at: datetime
    reader: str
    reader_name: str | None
    reader_kind: str  # person | key
    role: str | None
    endpoint: str
    subject: str
    what: tuple[str, ...]


_COLUMNS = ", ".join(f.name for f in fields(PersonalDataRead))


class ReadAccessLog(HandlingRepository, Protocol):
    """What recording and reading the log needs, inside the door's transaction (`shared.handling`)."""

    async def log_read(self, read: PersonalDataRead) -> None: ...

    async def reads(self, *, reader: str | None, since: datetime | None, limit: int) -> list[PersonalDataRead]: ...


class PostgresReadAccessLog(ReadModels):
    """The log, on the read models' connection (whose outbox and processed-events tables the door's protocol
    names; recording a read emits nothing)."""

    async def log_read(self, read: PersonalDataRead) -> None:
        values = (*astuple(read)[:-1], list(read.what))
        await self.conn.execute(
            f"INSERT INTO reporting_audit.read_access_log ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            *values,
        )

    async def reads(self, *, reader: str | None, since: datetime | None, limit: int) -> list[PersonalDataRead]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM reporting_audit.read_access_log "
            "WHERE ($1::text IS NULL OR reader = $1) AND ($2::timestamptz IS NULL OR at >= $2) "
            "ORDER BY at DESC, id DESC LIMIT $3",
            reader,
            since,
            limit,
        )
        return [PersonalDataRead(**{**dict(r), "what": tuple(r["what"])}) for r in rows]
