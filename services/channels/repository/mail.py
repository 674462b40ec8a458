"""The complaints mailbox reader's position (table `mail_reader_state`): per mailbox, its UIDVALIDITY and the last
UID taken, written in the unit of work that takes the mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg


@dataclass(frozen=True)
class MailboxPosition:
    """The last mail taken from `mailbox`: its UID, valid while the server's UIDVALIDITY is `uidvalidity`."""

    mailbox: str
    uidvalidity: int
    last_uid: int


class MailReaderStore(Protocol):
    async def mailbox_position(self, mailbox: str) -> MailboxPosition | None:
        """Where the reader of `mailbox` stands, or None before its first mail."""
        ...

    async def advance_mailbox(self, position: MailboxPosition, at: datetime) -> None:
        """Record `position` (a new UIDVALIDITY replaces the old one; the same one only ever moves forward)."""
        ...


class PostgresMailReaderStore:
    conn: asyncpg.Connection

    async def mailbox_position(self, mailbox: str) -> MailboxPosition | None:
        row = await self.conn.fetchrow(
            "SELECT mailbox, uidvalidity, last_uid FROM channels.mail_reader_state WHERE mailbox = $1", mailbox
        )
        return MailboxPosition(row["mailbox"], row["uidvalidity"], row["last_uid"]) if row else None

    async def advance_mailbox(self, position: MailboxPosition, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO channels.mail_reader_state (mailbox, uidvalidity, last_uid, updated_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "last_uid = CASE WHEN mail_reader_state.uidvalidity = excluded.uidvalidity "
            "THEN greatest(mail_reader_state.last_uid, excluded.last_uid) ELSE excluded.last_uid END, "
            "updated_at = excluded.updated_at",
            position.mailbox,
            position.uidvalidity,
            position.last_uid,
            at,
        )
