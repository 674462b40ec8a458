"""Callbacks (and agents' tasks) and the agents' worklist."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.followup.model import (
    Callback,
    Subject,
)
from services.followup.repository.rows import (
    CALLBACK_COLUMNS,
    Rows,
    subject_of,
)


class CallbackTables(Rows):
    """Callbacks (and agents' tasks) and the agents' worklist."""

    async def add_callback(self, callback: Callback) -> bool:
        return await self._insert_new("callbacks", callback, conflict="complaint_id, work_order_id")

    async def callback_for_update(self, callback_id: uuid.UUID) -> Callback | None:
        return await self._get(Callback, "callbacks", "callback_id", callback_id, lock=True)

    async def save_callback(self, callback: Callback) -> None:
        await self.conn.execute(
            "UPDATE followup.callbacks SET status = $2, attempts = $3, next_attempt_at = $4, last_note = $5, "
            "last_agent = $6, completed_at = $7, scores = $8, last_agent_name = $9, last_method = $10 "
            "WHERE callback_id = $1",
            callback.callback_id,
            callback.status,
            callback.attempts,
            callback.next_attempt_at,
            callback.last_note,
            callback.last_agent,
            callback.completed_at,
            callback.scores,
            callback.last_agent_name,
            callback.last_method,
        )

    async def callback_subject(self, callback_id: uuid.UUID) -> Subject | None:
        return subject_of(
            await self.conn.fetchrow(
                "SELECT b.complaint_id, b.reference_no, b.department, "
                "COALESCE(b.correlation_id, w.correlation_id, '') AS correlation_id, b.status, c.phone "
                "FROM followup.callbacks b LEFT JOIN followup.work_orders w ON w.work_order_id = b.work_order_id "
                "LEFT JOIN followup.contacts c ON c.complaint_id = b.complaint_id "
                "WHERE b.callback_id = $1 AND b.status = 'pending'",
                callback_id,
            )
        )

    async def worklist(
        self, now: datetime, *, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Callback], int]:
        where = "status = 'pending' AND next_attempt_at <= $1 AND ($2::text IS NULL OR owner = $2)"
        rows = await self.conn.fetch(
            f"SELECT {CALLBACK_COLUMNS} FROM followup.callbacks WHERE {where} "
            "ORDER BY due_at, created_at, callback_id LIMIT $3 OFFSET $4",
            now,
            owner,
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM followup.callbacks WHERE {where}", now, owner)
        return [Callback(**dict(r)) for r in rows], total
