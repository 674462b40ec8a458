"""The case read model (tables `cases`, `case_messages`): what every protocol reads about a case. Written only by
`handlers/cases.py` from events; read by the status page, Open311, SMS and mail replies and the partner pushes."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import asyncpg

from services.channels.model import Case, CaseStatus, SentMessage

_COLUMNS = (
    "complaint_id, reference_no, channel, channel_ticket_id, status, received_at, updated_at, status_at, category, "
    "department, "
    "status_notes, eta, district, latitude, longitude, phone_hash, phone_last4_hash, email_hash, "
    "wechat_openid_hash, last_message_at"
)
_FIELDS = [c.strip() for c in _COLUMNS.split(",")]


class CaseStore(Protocol):
    async def case(self, complaint_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        """The case with the messages sent; `for_update` locks its row until the transaction ends."""
        ...

    async def case_by_reference(self, reference_no: str) -> Case | None: ...

    async def case_last_messaged(self, phone_hash: str) -> Case | None:
        """The case of the last message sent to this phone (keyed hash): where an SMS reply belongs."""
        ...

    async def add_case_if_absent(self, case: Case) -> None:
        """Insert the case unless its row exists (a stub to lock before the first events of a case)."""
        ...

    async def save_case(self, case: Case) -> None:
        """Insert or replace the case's row (not its messages: `record_sent`)."""
        ...

    async def record_sent(self, complaint_id: uuid.UUID, message: SentMessage) -> None:
        """A message's latest status (a later one for the same notification replaces it)."""
        ...

    async def forget_customer(self, complaint_ids: list[uuid.UUID]) -> None:
        """An erased customer's cases: their contact hashes and exact coordinates cleared, the raw messages they
        sent emptied."""
        ...


def case_from_row(row: Any, messages: tuple[SentMessage, ...] = ()) -> Case:
    status: CaseStatus = row["status"]
    values = {f: row[f] for f in _FIELDS if f != "status"}
    return Case(status=status, messages=messages, **values)


class PostgresCaseStore:
    conn: asyncpg.Connection

    async def case(self, complaint_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM channels.cases WHERE complaint_id = $1{lock}", complaint_id
        )
        return await self._with_messages(row)

    async def case_by_reference(self, reference_no: str) -> Case | None:
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM channels.cases WHERE reference_no = $1", reference_no)
        return await self._with_messages(row)

    async def case_last_messaged(self, phone_hash: str) -> Case | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM channels.cases WHERE phone_hash = $1 AND last_message_at IS NOT NULL "
            "ORDER BY last_message_at DESC LIMIT 1",
            phone_hash,
        )
        return await self._with_messages(row)

    async def _with_messages(self, row: Any) -> Case | None:
        if row is None:
            return None
        sent = await self.conn.fetch(
            "SELECT notification_id, template_id, channel, status, at FROM channels.case_messages "
            "WHERE complaint_id = $1 ORDER BY at, notification_id",
            row["complaint_id"],
        )
        return case_from_row(row, tuple(SentMessage(**dict(s)) for s in sent))

    async def add_case_if_absent(self, case: Case) -> None:
        values = [getattr(case, f) for f in _FIELDS]
        placeholders = ", ".join(f"${i}" for i in range(1, len(_FIELDS) + 1))
        await self.conn.execute(
            f"INSERT INTO channels.cases ({_COLUMNS}) VALUES ({placeholders}) ON CONFLICT (complaint_id) DO NOTHING",
            *values,
        )

    async def save_case(self, case: Case) -> None:
        values = [getattr(case, f) for f in _FIELDS]
        placeholders = ", ".join(f"${i}" for i in range(1, len(_FIELDS) + 1))
        updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in _FIELDS if f != "complaint_id")
        await self.conn.execute(
            f"INSERT INTO channels.cases ({_COLUMNS}) VALUES ({placeholders}) "
            f"ON CONFLICT (complaint_id) DO UPDATE SET {updates}",
            *values,
        )

    async def forget_customer(self, complaint_ids: list[uuid.UUID]) -> None:
        await self.conn.execute(
            "UPDATE channels.cases SET phone_hash = NULL, phone_last4_hash = NULL, email_hash = NULL, "
            "wechat_openid_hash = NULL, latitude = NULL, longitude = NULL WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )
        await self.conn.execute(
            "UPDATE channels.inbound_messages SET raw_body = ''::bytea WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )

    async def record_sent(self, complaint_id: uuid.UUID, message: SentMessage) -> None:
        m = message
        await self.conn.execute(
            "INSERT INTO channels.case_messages (notification_id, complaint_id, template_id, channel, status, at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (notification_id) DO UPDATE SET "
            "channel = coalesce(EXCLUDED.channel, case_messages.channel), status = EXCLUDED.status, at = EXCLUDED.at "
            "WHERE case_messages.at <= EXCLUDED.at",
            m.notification_id,
            complaint_id,
            m.template_id,
            m.channel,
            m.status,
            m.at,
        )
