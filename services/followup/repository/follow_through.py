"""What followup holds to time besides work orders: duty calls, corrective actions, invalid complaints' notices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

from services.followup.model import (
    CorrectiveAction,
    DutyCall,
    InvalidComplaint,
    Subject,
)
from services.followup.repository.rows import (
    Rows,
    subject_of,
)


class FollowThroughTables(Rows):
    """What followup holds to time besides work orders: duty calls, corrective actions, invalid complaints' notices."""

    async def add_duty_call(self, call: DutyCall) -> bool:
        return await self._insert_new("duty_calls", call, conflict="complaint_id")

    async def duty_call_for_update(self, complaint_id: uuid.UUID) -> DutyCall | None:
        return await self._get(DutyCall, "duty_calls", "complaint_id", complaint_id, lock=True)

    async def acknowledge_duty_call(
        self, complaint_id: uuid.UUID, at: datetime, by: str, note: str | None, *, name: str | None = None
    ) -> None:
        await self.conn.execute(
            "UPDATE followup.duty_calls SET acknowledged_at = $2, acknowledged_by = $3, note = $4, "
            "acknowledged_by_name = $5 WHERE complaint_id = $1",
            complaint_id,
            at,
            by,
            note,
            name,
        )

    async def duty_call_on_the_way(self, complaint_id: uuid.UUID, at: datetime, by: str, name: str | None) -> None:
        await self.conn.execute(
            "UPDATE followup.duty_calls SET on_the_way_at = $2, on_the_way_by = $3, on_the_way_by_name = $4 "
            "WHERE complaint_id = $1",
            complaint_id,
            at,
            by,
            name,
        )

    async def duty_calls(self, *, open_only: bool, limit: int) -> list[DutyCall]:
        columns = ", ".join(f.name for f in fields(DutyCall))
        where = "WHERE acknowledged_at IS NULL " if open_only else ""
        rows = await self.conn.fetch(
            f"SELECT {columns} FROM followup.duty_calls {where}ORDER BY called_at DESC, complaint_id LIMIT $1", limit
        )
        return [DutyCall(**dict(r)) for r in rows]

    async def duty_subject(self, complaint_id: uuid.UUID) -> Subject | None:
        return subject_of(
            await self.conn.fetchrow(
                "SELECT d.complaint_id, d.reference_no, 'customer_service' AS department, d.correlation_id, "
                "'called' AS status, c.phone FROM followup.duty_calls d "
                "LEFT JOIN followup.contacts c ON c.complaint_id = d.complaint_id "
                "WHERE d.complaint_id = $1 AND d.acknowledged_at IS NULL",
                complaint_id,
            )
        )

    async def add_corrective_action(self, action: CorrectiveAction) -> bool:
        return await self._insert_new("corrective_actions", action, conflict="action_id")

    async def complete_corrective_action(self, action_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE followup.corrective_actions SET status = 'done', completed_at = $2 WHERE action_id = $1",
            action_id,
            at,
        )

    async def action_subject(self, action_id: uuid.UUID) -> Subject | None:
        return subject_of(
            await self.conn.fetchrow(
                "SELECT complaint_id, reference_no, department, correlation_id, status, NULL AS phone, "
                "work_order_id, owner FROM followup.corrective_actions WHERE action_id = $1 AND status = 'open'",
                action_id,
            )
        )

    async def corrective_actions_of(self, complaint_id: uuid.UUID) -> list[CorrectiveAction]:
        columns = ", ".join(f.name for f in fields(CorrectiveAction))
        rows = await self.conn.fetch(
            f"SELECT {columns} FROM followup.corrective_actions WHERE complaint_id = $1 ORDER BY set_at, action_id",
            complaint_id,
        )
        return [CorrectiveAction(**dict(r)) for r in rows]

    #: The complaints of this unit of work that may hold an untold invalid notice (`know_untold_invalid`); None
    #: when it was not asked: every drop asks Postgres.
    _maybe_untold: set[uuid.UUID] | None = None

    async def know_untold_invalid(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        rows = await self.conn.fetch(
            "SELECT complaint_id FROM followup.invalid_complaints WHERE complaint_id = ANY($1::uuid[]) "
            "AND told_at IS NULL",
            list(complaint_ids),
        )
        self._maybe_untold = {row["complaint_id"] for row in rows}

    async def add_invalid(self, invalid: InvalidComplaint) -> bool:
        if self._maybe_untold is not None:
            # Whatever the insert says: a unit of work not committed yet (the partition's former owner) may be
            # adding the same notice, and this one's drop must then still ask.
            self._maybe_untold.add(invalid.complaint_id)
        return await self._insert_new("invalid_complaints", invalid, conflict="complaint_id")

    async def invalid_complaint(self, complaint_id: uuid.UUID) -> InvalidComplaint | None:
        return await self._get(InvalidComplaint, "invalid_complaints", "complaint_id", complaint_id)

    async def mark_told_invalid(self, complaint_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE followup.invalid_complaints SET told_at = $2 WHERE complaint_id = $1", complaint_id, at
        )

    async def drop_untold_invalid(self, complaint_id: uuid.UUID) -> bool:
        if self._maybe_untold is not None and complaint_id not in self._maybe_untold:
            return False
        dropped = await self.conn.fetchval(
            "DELETE FROM followup.invalid_complaints WHERE complaint_id = $1 AND told_at IS NULL RETURNING true",
            complaint_id,
        )
        return bool(dropped)
