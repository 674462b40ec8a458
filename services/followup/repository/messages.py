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
    placeholders,
    values_of,
)
from shared.db import recordset_json

_RECEIPT_COLUMNS = ", ".join(Receipt.__dataclass_fields__)
_NOTIFICATION_COLUMNS = ", ".join(NotificationRecord.__dataclass_fields__)


class MessageTables(Rows):
    """Every message requested (the audit trail) and the receipts waiting for their contact."""

    async def add_notifications(self, records: Sequence[NotificationRecord]) -> None:
        if len(records) == 1:  # most units request one message: the plain statement, prepared once per connection
            await self.conn.execute(
                f"INSERT INTO followup.notifications ({_NOTIFICATION_COLUMNS}) "
                f"VALUES ({placeholders(len(NotificationRecord.__dataclass_fields__))})",
                *values_of(records[0]),
            )
        elif records:
            await self.conn.execute(
                f"INSERT INTO followup.notifications ({_NOTIFICATION_COLUMNS}) SELECT {_NOTIFICATION_COLUMNS} "
                "FROM jsonb_populate_recordset(NULL::followup.notifications, $1::text::jsonb)",
                recordset_json(records),
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

    async def add_receipts(self, receipts: Sequence[Receipt]) -> None:
        if receipts:
            await self.conn.execute(
                f"INSERT INTO followup.receipts ({_RECEIPT_COLUMNS}) SELECT {_RECEIPT_COLUMNS} "
                "FROM jsonb_populate_recordset(NULL::followup.receipts, $1::text::jsonb) "
                "ON CONFLICT (complaint_id) DO NOTHING",
                recordset_json(receipts),
            )

    async def claim_receipts(self, complaint_ids: Sequence[uuid.UUID], at: datetime) -> list[Receipt]:
        if not complaint_ids:
            return []
        rows = await self.conn.fetch(
            f"UPDATE followup.receipts SET told_at = $2 WHERE complaint_id = ANY($1::uuid[]) AND told_at IS NULL "
            f"RETURNING {_RECEIPT_COLUMNS}",
            list(complaint_ids),
            at,
        )
        return [Receipt(**dict(row)) for row in rows]
