"""Every message requested (the audit trail) and the receipts waiting for their contact."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.followup.model import (
    NotificationRecord,
    Receipt,
)
from services.followup.repository.rows import (
    Rows,
    values_of,
)

_RECEIPT_COLUMNS = ", ".join(Receipt.__dataclass_fields__)


class MessageTables(Rows):
    """Every message requested (the audit trail) and the receipts waiting for their contact."""

    async def add_notification(self, record: NotificationRecord) -> None:
        await self.conn.execute(
            "INSERT INTO followup.notifications (notification_id, complaint_id, template_id, recipient_kind, "
            "urgency, reference_no, correlation_id, text, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            *values_of(record),
        )

    async def notification(self, notification_id: uuid.UUID) -> NotificationRecord | None:
        row = await self.conn.fetchrow(
            "SELECT notification_id, complaint_id, template_id, recipient_kind, urgency, reference_no, "
            "coalesce(correlation_id, '') AS correlation_id, coalesce(text, '') AS text, at "
            "FROM followup.notifications WHERE notification_id = $1",
            notification_id,
        )
        return NotificationRecord(**dict(row)) if row is not None else None

    async def lock_receipts(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext('followup-receipt:' || id::text) AS k "
            "FROM unnest($1::uuid[]) AS id ORDER BY k) AS keys",
            list(complaint_ids),
        )

    async def add_receipt(self, receipt: Receipt) -> bool:
        return await self._insert_new("receipts", receipt, conflict="complaint_id")

    async def claim_receipt(self, complaint_id: uuid.UUID, at: datetime) -> Receipt | None:
        row = await self.conn.fetchrow(
            f"UPDATE followup.receipts SET told_at = $2 WHERE complaint_id = $1 AND told_at IS NULL "
            f"RETURNING {_RECEIPT_COLUMNS}",
            complaint_id,
            at,
        )
        return Receipt(**dict(row)) if row is not None else None
