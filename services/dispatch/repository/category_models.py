"""`dispatch.category_models`: retrained candidates, their blind-set figures, and the one promoted model every
replica serves (the shipped model when none is)."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import datetime
from typing import Any

import asyncpg

from services.dispatch.candidates import ModelCandidate, ServedModelRow
from services.dispatch.model import LabelledExample
from services.dispatch.repository.rows import Rows

CANDIDATE_COLUMNS = ", ".join(f.name for f in fields(ModelCandidate))


def _candidate(row: asyncpg.Record) -> ModelCandidate:
    return ModelCandidate(**dict(row))


class CategoryModelTables(Rows):
    """Candidates asked for, fitted, promoted; the current one's bytes for the replicas."""

    async def add_candidate(self, candidate: ModelCandidate) -> bool:
        """A training asked for; False when one is already running (one at a time)."""
        status = await self.conn.execute(
            "INSERT INTO dispatch.category_models "
            "(candidate_id, status, requested_by, requested_by_name, requested_at) VALUES ($1, 'training', $2, $3, $4) "
            "ON CONFLICT DO NOTHING",
            candidate.candidate_id,
            candidate.requested_by,
            candidate.requested_by_name,
            candidate.requested_at,
        )
        return status.endswith(" 1")

    async def abandon_trainings(self, before: datetime, reason: str) -> int:
        """Trainings asked for before `before` and never finished (their process ended) marked failed."""
        status = await self.conn.execute(
            "UPDATE dispatch.category_models SET status = 'failed', error = $2 "
            "WHERE status = 'training' AND requested_at < $1",
            before,
            reason,
        )
        return int(status.split()[-1])

    async def finish_candidate(self, candidate_id: uuid.UUID, model: bytes | None, **changes: Any) -> None:
        """A training's outcome: the fitted candidate with its figures (status candidate), or failed with why."""
        names = ["model", *changes]
        sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
        await self.conn.execute(
            f"UPDATE dispatch.category_models SET {sets} WHERE candidate_id = $1",
            candidate_id,
            model,
            *changes.values(),
        )

    async def candidates(self, *, limit: int) -> list[ModelCandidate]:
        rows = await self.conn.fetch(
            f"SELECT {CANDIDATE_COLUMNS} FROM dispatch.category_models ORDER BY requested_at DESC LIMIT $1", limit
        )
        return [_candidate(r) for r in rows]

    async def candidate(self, candidate_id: uuid.UUID, *, lock: bool = False) -> ModelCandidate | None:
        row = await self.conn.fetchrow(
            f"SELECT {CANDIDATE_COLUMNS} FROM dispatch.category_models WHERE candidate_id = $1"
            + (" FOR UPDATE" if lock else ""),
            candidate_id,
        )
        return None if row is None else _candidate(row)

    async def promote_candidate(self, candidate_id: uuid.UUID, actor: str, at: datetime) -> None:
        """The candidate serves from now on; the one that served before is retired."""
        await self.conn.execute("UPDATE dispatch.category_models SET status = 'retired' WHERE status = 'current'")
        await self.conn.execute(
            "UPDATE dispatch.category_models SET status = 'current', promoted_by = $2, promoted_at = $3 "
            "WHERE candidate_id = $1",
            candidate_id,
            actor,
            at,
        )

    async def served_model(self, *, known_version: str | None = None) -> ServedModelRow | None:
        """The promoted model (its bytes only when its version is not `known_version`); None: the shipped one."""
        row = await self.conn.fetchrow(
            "SELECT version, CASE WHEN version IS DISTINCT FROM $1 THEN model END AS model "
            "FROM dispatch.category_models WHERE status = 'current'",
            known_version,
        )
        return None if row is None else ServedModelRow(row["version"], bytes(row["model"] or b""))

    async def recent_corrections(self, *, limit: int, source: str | None = None) -> list[LabelledExample]:
        """People's corrections (labelled examples), newest first; only one source's (triage, …) when named."""
        columns = ", ".join(f.name for f in fields(LabelledExample))
        rows = await self.conn.fetch(
            f"SELECT {columns} FROM dispatch.labelled_examples WHERE $2::text IS NULL OR source = $2 "
            "ORDER BY id DESC LIMIT $1",
            limit,
            source,
        )
        return [LabelledExample(**dict(r)) for r in rows]
