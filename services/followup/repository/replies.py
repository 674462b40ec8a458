"""What a customer's reply needs (`handlers/customer_replies.py`): the case's callback, the survey mark they sent,
and which department holds the case."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.followup.model import Callback
from services.followup.repository.rows import CALLBACK_COLUMNS, Rows


class ReplyTables(Rows):
    """The case's callback (not an agent's task) and its SMS survey mark."""

    async def case_callback(self, complaint_id: uuid.UUID) -> Callback | None:
        row = await self.conn.fetchrow(
            f"SELECT {CALLBACK_COLUMNS} FROM followup.callbacks WHERE complaint_id = $1 AND kind = 'callback' "
            "ORDER BY cycle DESC, created_at DESC, callback_id LIMIT 1",
            complaint_id,
        )
        return Callback(**dict(row)) if row is not None else None

    async def record_survey_score(self, callback_id: uuid.UUID, score: int, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE followup.callbacks SET survey_score = $2, survey_scored_at = $3 WHERE callback_id = $1",
            callback_id,
            score,
            at,
        )

    async def case_department(self, complaint_id: uuid.UUID) -> str | None:
        department: str | None = await self.conn.fetchval(
            "SELECT department FROM followup.work_orders WHERE complaint_id = $1 "
            "ORDER BY (role = 'lead') DESC, starts_at LIMIT 1",
            complaint_id,
        )
        return department
