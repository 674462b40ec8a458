"""Cases: a complaint as dispatch keeps it, how it was classified, the triage queue and the corrections a
supervisor made (the labelled examples retraining reads)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from services.dispatch.model import Case, ClassificationEntry, LabelledExample
from services.dispatch.repository.rows import CASE_COLUMNS, Rows, lock_in_order


class CaseTables(Rows):
    """`dispatch.cases`, `classification_history` and `labelled_examples`."""

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        """Advisory locks on households, because dispatch replicas read what the other may be writing. Sorted,
        so two batches never wait on each other in a cycle."""
        await lock_in_order(self.conn, "dispatch-account:", accounts)

    async def households(self, proposed: Sequence[tuple[uuid.UUID, str]]) -> dict[uuid.UUID, str]:
        """Each customer's household: the one it was given before, else the one proposed (the first proposal of a
        customer wins), kept from now on. A customer whose household a concurrent batch is giving at this very
        moment is missing from the answer (the caller keeps its proposal)."""
        if not proposed:
            return {}
        rows = await self.conn.fetch(
            "WITH given AS (SELECT DISTINCT ON (customer_id) customer_id, household "
            "FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS g(customer_id, household, i) "
            "ORDER BY customer_id, i), "
            "added AS (INSERT INTO dispatch.customer_households (customer_id, household) "
            "SELECT customer_id, household FROM given ON CONFLICT (customer_id) DO NOTHING "
            "RETURNING customer_id, household) "
            "SELECT customer_id, household FROM added UNION ALL "
            "SELECT h.customer_id, h.household FROM dispatch.customer_households h JOIN given USING (customer_id)",
            [c for c, _ in proposed],
            [h for _, h in proposed],
        )
        return {r["customer_id"]: r["household"] for r in rows}

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT category, count(*) AS n FROM dispatch.cases "
            "WHERE household = $1 AND accepted_at >= $2 AND linked_to IS NULL GROUP BY category",
            account_no,
            since,
        )
        return {r["category"]: r["n"] for r in rows}

    async def category_counts_since(self, accounts: Sequence[tuple[str, datetime]]) -> list[dict[str, int]]:
        """`category_counts` for many (household, since) pairs in one statement, in their order."""
        if not accounts:
            return []
        rows = await self.conn.fetch(
            "SELECT q.i, c.category, count(*) AS n "
            "FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS q(household, since, i) "
            "JOIN dispatch.cases c ON c.household = q.household AND c.accepted_at >= q.since "
            "AND c.linked_to IS NULL GROUP BY q.i, c.category",
            [a for a, _ in accounts],
            [since for _, since in accounts],
        )
        counts: list[dict[str, int]] = [{} for _ in accounts]
        for r in rows:
            counts[r["i"] - 1][r["category"]] = r["n"]
        return counts

    async def insert_cases(self, cases: Sequence[Case]) -> None:
        await self._insert_many("cases", cases)

    async def add_classifications(self, entries: Sequence[ClassificationEntry]) -> None:
        await self._insert_many("classification_history", entries)

    async def insert_case(self, case: Case) -> None:
        await self._insert("cases", case)

    async def get_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> Case | None:
        return await self._get(Case, "cases", "complaint_id", complaint_id, lock=lock)

    async def update_case(self, complaint_id: uuid.UUID, **changes: Any) -> None:
        await self._update("cases", "complaint_id", complaint_id, changes)

    async def add_classification(
        self,
        *,
        complaint_id: uuid.UUID,
        category: str,
        severity: str,
        actor: str,
        reason: str | None,
        reasons: list[str],
        at: datetime,
        model_version: str | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO dispatch.classification_history "
            "(complaint_id, category, severity, actor, reason, reasons, at, model_version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            complaint_id,
            category,
            severity,
            actor,
            reason,
            reasons,
            at,
            model_version,
        )

    async def get_case_by_reference(self, reference_no: str) -> Case | None:
        row = await self.conn.fetchrow(
            f"SELECT {CASE_COLUMNS} FROM dispatch.cases WHERE reference_no = $1 ORDER BY created_at LIMIT 1",
            reference_no,
        )
        return Case(**dict(row)) if row else None

    async def cases(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Case]:
        rows = await self.conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM dispatch.cases WHERE complaint_id = ANY($1::uuid[])", list(set(complaint_ids))
        )
        return {r["complaint_id"]: Case(**dict(r)) for r in rows}

    async def triage_queue(self, *, limit: int, offset: int) -> tuple[list[Case], int]:
        waiting = "triage_since IS NOT NULL AND triaged_at IS NULL"
        rows = await self.conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM dispatch.cases WHERE {waiting} "
            "ORDER BY triage_since, complaint_id LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM dispatch.cases WHERE {waiting}")
        return [Case(**dict(r)) for r in rows], total

    async def add_labelled_example(self, example: LabelledExample) -> None:
        await self._insert("labelled_examples", example)

    async def labelled_examples(self) -> list[LabelledExample]:
        columns = ", ".join(f.name for f in fields(LabelledExample))
        rows = await self.conn.fetch(f"SELECT {columns} FROM dispatch.labelled_examples ORDER BY id")
        return [LabelledExample(**dict(r)) for r in rows]
