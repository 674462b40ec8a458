"""Corrective actions a serious case's cause analysis set, with their deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.dispatch.model import CorrectiveAction
from services.dispatch.repository.rows import ACTION_COLUMNS, Rows


class CorrectiveActionTables(Rows):
    """`dispatch.corrective_actions`."""

    async def insert_corrective_action(self, action: CorrectiveAction) -> None:
        await self._insert("corrective_actions", action)

    async def get_corrective_action(self, action_id: uuid.UUID, *, lock: bool = False) -> CorrectiveAction | None:
        return await self._get(CorrectiveAction, "corrective_actions", "action_id", action_id, lock=lock)

    async def update_corrective_action(self, action_id: uuid.UUID, **changes: Any) -> None:
        await self._update("corrective_actions", "action_id", action_id, changes)

    async def corrective_actions(
        self,
        *,
        complaint_id: uuid.UUID | None = None,
        status: str | None = None,
        overdue_at: datetime | None = None,
        department: str | None = None,
        limit: int = 500,
    ) -> list[CorrectiveAction]:
        rows = await self.conn.fetch(
            f"SELECT {ACTION_COLUMNS} FROM dispatch.corrective_actions "
            "WHERE ($1::uuid IS NULL OR complaint_id = $1) AND ($2::text IS NULL OR status = $2) "
            "AND ($3::timestamptz IS NULL OR (status = 'open' AND deadline < $3)) "
            "AND ($4::text IS NULL OR department = $4) "
            "ORDER BY deadline, action_id LIMIT $5",
            complaint_id,
            status,
            overdue_at,
            department,
            limit,
        )
        return [CorrectiveAction(**dict(r)) for r in rows]
