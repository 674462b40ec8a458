"""The raw inbound messages and their attachments (tables `inbound_messages`, `attachments`, `attachment_reads`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.channels.model import MessageStatus, StoredAttachment, StoredMessage


class InboundStore(Protocol):
    async def insert_message(
        self,
        message: StoredMessage,
        *,
        content_type: str,
        raw_body: bytes,
    ) -> bool:
        """False when the provider's id is stored already (a duplicate; after the first's commit, when they raced)."""
        ...

    async def message_by_provider_id(self, provider: str, provider_message_id: str) -> StoredMessage | None:
        """The stored message with its attachments and, once the read model has it, its case's reference number."""
        ...

    async def message(self, message_id: uuid.UUID) -> StoredMessage | None: ...

    async def add_attachment(self, attachment: StoredAttachment, content: bytes) -> None: ...

    async def attachment(self, attachment_id: uuid.UUID) -> tuple[StoredAttachment, bytes] | None: ...

    async def record_attachment_read(self, attachment_id: uuid.UUID, read_by: str, at: datetime) -> None: ...


_MESSAGE = (
    "m.message_id, m.provider, m.provider_message_id, m.channel, m.status, m.received_at, m.stored_at, "
    "m.complaint_id, coalesce(m.reference_no, c.reference_no) AS reference_no, m.detail, m.skipped_attachments"
)
_ATTACHMENT = "attachment_id, message_id, file_name, content_type, size_bytes, stored_at"


def _attachment(row: Any) -> StoredAttachment:
    return StoredAttachment(
        attachment_id=row["attachment_id"],
        message_id=row["message_id"],
        file_name=row["file_name"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        stored_at=row["stored_at"],
    )


class PostgresInboundStore:
    conn: asyncpg.Connection

    async def insert_message(self, message: StoredMessage, *, content_type: str, raw_body: bytes) -> bool:
        m = message
        inserted = await self.conn.fetchval(
            "INSERT INTO channels.inbound_messages (message_id, provider, provider_message_id, channel, "
            "content_type, raw_body, received_at, stored_at, status, complaint_id, reference_no, detail, "
            "skipped_attachments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
            "ON CONFLICT (provider, provider_message_id) DO NOTHING RETURNING true",
            m.message_id,
            m.provider,
            m.provider_message_id,
            m.channel,
            content_type,
            raw_body,
            m.received_at,
            m.stored_at,
            m.status,
            m.complaint_id,
            m.reference_no,
            m.detail,
            list(m.skipped_attachments),
        )
        return bool(inserted)

    async def message_by_provider_id(self, provider: str, provider_message_id: str) -> StoredMessage | None:
        row = await self.conn.fetchrow(
            f"SELECT {_MESSAGE} FROM channels.inbound_messages m LEFT JOIN channels.cases c "
            "ON c.complaint_id = m.complaint_id WHERE m.provider = $1 AND m.provider_message_id = $2",
            provider,
            provider_message_id,
        )
        return await self._with_attachments(row)

    async def message(self, message_id: uuid.UUID) -> StoredMessage | None:
        row = await self.conn.fetchrow(
            f"SELECT {_MESSAGE} FROM channels.inbound_messages m LEFT JOIN channels.cases c "
            "ON c.complaint_id = m.complaint_id WHERE m.message_id = $1",
            message_id,
        )
        return await self._with_attachments(row)

    async def _with_attachments(self, row: Any) -> StoredMessage | None:
        if row is None:
            return None
        files = await self.conn.fetch(
            f"SELECT {_ATTACHMENT} FROM channels.attachments WHERE message_id = $1 ORDER BY stored_at, file_name",
            row["message_id"],
        )
        status: MessageStatus = row["status"]
        return StoredMessage(
            message_id=row["message_id"],
            provider=row["provider"],
            provider_message_id=row["provider_message_id"],
            channel=row["channel"],
            status=status,
            received_at=row["received_at"],
            stored_at=row["stored_at"],
            complaint_id=row["complaint_id"],
            reference_no=row["reference_no"],
            detail=row["detail"],
            attachments=tuple(_attachment(f) for f in files),
            skipped_attachments=tuple(row["skipped_attachments"]),
        )

    async def add_attachment(self, attachment: StoredAttachment, content: bytes) -> None:
        a = attachment
        await self.conn.execute(
            f"INSERT INTO channels.attachments ({_ATTACHMENT}, content) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            a.attachment_id,
            a.message_id,
            a.file_name,
            a.content_type,
            a.size_bytes,
            a.stored_at,
            content,
        )

    async def attachment(self, attachment_id: uuid.UUID) -> tuple[StoredAttachment, bytes] | None:
        row = await self.conn.fetchrow(
            f"SELECT {_ATTACHMENT}, content FROM channels.attachments WHERE attachment_id = $1", attachment_id
        )
        return None if row is None else (_attachment(row), bytes(row["content"]))

    async def record_attachment_read(self, attachment_id: uuid.UUID, read_by: str, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO channels.attachment_reads (attachment_id, read_by, read_at) VALUES ($1, $2, $3)",
            attachment_id,
            read_by,
            at,
        )
