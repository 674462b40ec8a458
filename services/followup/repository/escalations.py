"""Escalations' answer step (issue 24): one row per rung climbed (`followup.escalations`), its latest answer state
beside it, and the next rung's timer re-armed when an answer is sent back with a new deadline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import fields

import asyncpg

from services.followup.model import DEPARTMENT_RUNGS, Escalation, EscalationAnswer, EscalationRecord, TimerPlan
from services.followup.repository.rows import TIMERS_CHANNEL, Rows

_RECORD = [f.name for f in fields(EscalationRecord)]
_ANSWER = [f.name for f in fields(EscalationAnswer)]
_COLUMNS = ", ".join(_RECORD + _ANSWER)


def escalation_of(row: asyncpg.Record) -> Escalation:
    return Escalation(
        EscalationRecord(**{name: row[name] for name in _RECORD}),
        EscalationAnswer(**{name: row[name] for name in _ANSWER}),
    )


class EscalationTables(Rows):
    """Escalations as the answering department and the escalated person see them."""

    async def escalation(self, escalation_id: uuid.UUID, *, lock: bool = False) -> Escalation | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM followup.escalations WHERE escalation_id = $1{suffix}", escalation_id
        )
        return escalation_of(row) if row is not None else None

    async def escalations_to(
        self, rungs: Sequence[str] | None, department: str | None, *, status: str | None, limit: int
    ) -> list[Escalation]:
        """Escalations to any of `rungs` (a department's own rung, e.g. its manager's, only of `department`'s cases)
        or of `department`'s cases (both None: every one), newest first, each still its clock's latest rung (one
        climbed past takes no step); only those recorded since escalations have an answer step (they name their case).
        Filtered here rather than after the LIMIT, so other departments' rungs never crowd out a person's own."""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM followup.escalations e WHERE reference_no IS NOT NULL "
            "AND ($1::text[] IS NULL OR department = $2 OR "
            "(escalated_to = ANY($1::text[]) AND escalated_to <> ALL($5::text[]))) "
            "AND ($3::text IS NULL OR status = $3) "
            "AND NOT EXISTS (SELECT 1 FROM followup.escalations h "
            "WHERE h.subject_id = e.subject_id AND h.stage = e.stage AND h.level > e.level) "
            "ORDER BY at DESC, id DESC LIMIT $4",
            list(rungs) if rungs is not None else None,
            department,
            status,
            limit,
            sorted(DEPARTMENT_RUNGS),
        )
        return [escalation_of(r) for r in rows]

    async def save_escalation(self, escalation: Escalation) -> None:
        """Store where the answer stands, and the answer deadline (moved when sent back)."""
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(_ANSWER, start=3))
        await self.conn.execute(
            f"UPDATE followup.escalations SET answer_by = $2, {sets} WHERE escalation_id = $1",
            escalation.escalation_id,
            escalation.record.answer_by,
            *(getattr(escalation.answer, name) for name in _ANSWER),
        )

    async def climbed_past(self, record: EscalationRecord) -> bool:
        """Whether a higher rung of the same clock has been climbed since (the escalation is no longer the latest)."""
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM followup.escalations "
                "WHERE subject_id = $1 AND stage = $2 AND level > $3)",
                record.subject_id,
                record.stage,
                record.level,
            )
        )

    async def rearm(self, plan: TimerPlan) -> None:
        """The plan's timer due at its time, whether it is pending, cancelled (an answer stopped it) or not there
        yet; one that fired already stays as it is."""
        await self.conn.execute(
            "WITH armed AS (INSERT INTO followup.timers "
            "(complaint_id, subject_id, kind, stage, level, due_at, deadline, ladder) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (subject_id, kind, stage, level) DO UPDATE "
            "SET due_at = EXCLUDED.due_at, cancelled_at = NULL WHERE followup.timers.fired_at IS NULL) "
            f"SELECT pg_notify('{TIMERS_CHANNEL}', '')",
            plan.complaint_id,
            plan.subject_id,
            plan.kind,
            plan.stage,
            plan.level,
            plan.due_at,
            plan.deadline,
            plan.ladder,
        )
