"""All of dispatch's SQL: cases, work orders, their histories, the outbox and processed-event marks.

`DispatchRepository` is what handlers need; `PostgresDispatchRepository` implements it over the connection of
one unit of work (`shared.db.transactions`), and tests/fakes/dispatch.py implements it in memory. A repository
never commits: the handler's unit of work does, so a state change, its events (outbox rows) and the mark that
an incoming event was processed are written atomically.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.dispatch.model import Case, WorkOrder
from services.dispatch.workorders.lifecycle import OPEN
from shared import idempotency, outbox
from shared.contracts import Event

#: Dispatch's Postgres schema: its tables, its outbox and its processed-event marks.
SCHEMA = "dispatch"


class DispatchRepository(Protocol):
    """Everything dispatch's handlers read and write inside one transaction."""

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        """Serialise work on these accounts until the transaction ends (repeat and duplicate checks)."""

    async def first_delivery(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Mark the event processed by `consumer`; False when it already was (skip the effect)."""

    async def add_events(self, events: Sequence[Event]) -> None:
        """Queue events for publishing (the transactional outbox)."""

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        """The account's own (not linked) complaints per category accepted since `since`."""

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None: ...

    async def insert_case(self, case: Case) -> None: ...

    async def get_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> Case | None: ...

    async def update_case(self, complaint_id: uuid.UUID, **changes: Any) -> None: ...

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
    ) -> None:
        """Append to the case's classification history (automatic, returns, supervisor corrections)."""

    async def insert_work_order(self, order: WorkOrder) -> None: ...

    async def get_work_order(self, work_order_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None: ...

    async def open_work_order_of_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None: ...

    async def latest_work_order_of_case(self, complaint_id: uuid.UUID) -> WorkOrder | None: ...

    async def update_work_order(self, work_order_id: uuid.UUID, **changes: Any) -> None: ...

    async def add_history(
        self,
        *,
        work_order_id: uuid.UUID,
        action: str,
        from_status: str | None,
        to_status: str,
        actor: str,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        """Append to the work order's audit trail."""

    async def history(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        """The work order's audit trail, oldest first."""

    async def queue(self, department: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        """A page of the department's open work orders, most urgent first (priority, then resolve deadline),
        and how many there are."""


_CASE_COLUMNS = ", ".join(f.name for f in fields(Case))
_WO_COLUMNS = ", ".join(f.name for f in fields(WorkOrder))
_OPEN = [s.value for s in OPEN]


def _placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


def _work_order(row: asyncpg.Record | None) -> WorkOrder | None:
    return WorkOrder(**dict(row)) if row else None


class PostgresDispatchRepository:
    """`DispatchRepository` on the connection of the caller's unit of work."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        """Advisory locks, because dispatch replicas read what the other may be writing. Sorted, so two
        batches never wait on each other in a cycle."""
        for account in sorted(set(accounts)):
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('dispatch-account:' || $1))", account)

    async def first_delivery(self, consumer: str, event_id: uuid.UUID) -> bool:
        return await idempotency.first_delivery(self.conn, SCHEMA, consumer, event_id)

    async def add_events(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT category, count(*) AS n FROM dispatch.cases "
            "WHERE account_no = $1 AND accepted_at >= $2 AND linked_to IS NULL GROUP BY category",
            account_no,
            since,
        )
        return {r["category"]: r["n"] for r in rows}

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None:
        row = await self.conn.fetchrow(
            # The account's few cases first (materialized: the planner must not start from all open work orders).
            "WITH account_cases AS MATERIALIZED (SELECT complaint_id FROM dispatch.cases WHERE account_no = $1) "
            f"SELECT {', '.join('w.' + f.name for f in fields(WorkOrder))} FROM account_cases c "
            "JOIN dispatch.work_orders w ON w.complaint_id = c.complaint_id "
            "WHERE w.category = $2 AND w.status = ANY($3::text[]) "
            "ORDER BY w.created_at LIMIT 1",
            account_no,
            category,
            _OPEN,
        )
        return _work_order(row)

    async def insert_case(self, case: Case) -> None:
        values = asdict(case)
        await self.conn.execute(
            f"INSERT INTO dispatch.cases ({_CASE_COLUMNS}) VALUES ({_placeholders(len(values))})", *values.values()
        )

    async def get_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> Case | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE complaint_id = $1{suffix}", complaint_id
        )
        return Case(**dict(row)) if row else None

    async def update_case(self, complaint_id: uuid.UUID, **changes: Any) -> None:
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await self.conn.execute(
            f"UPDATE dispatch.cases SET {sets} WHERE complaint_id = $1", complaint_id, *changes.values()
        )

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
    ) -> None:
        await self.conn.execute(
            "INSERT INTO dispatch.classification_history "
            "(complaint_id, category, severity, actor, reason, reasons, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            complaint_id,
            category,
            severity,
            actor,
            reason,
            reasons,
            at,
        )

    async def insert_work_order(self, order: WorkOrder) -> None:
        values = asdict(order)
        await self.conn.execute(
            f"INSERT INTO dispatch.work_orders ({_WO_COLUMNS}) VALUES ({_placeholders(len(values))})", *values.values()
        )

    async def get_work_order(self, work_order_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE work_order_id = $1{suffix}", work_order_id
        )
        return _work_order(row)

    async def open_work_order_of_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders "
            f"WHERE complaint_id = $1 AND status = ANY($2::text[]){suffix}",
            complaint_id,
            _OPEN,
        )
        return _work_order(row)

    async def latest_work_order_of_case(self, complaint_id: uuid.UUID) -> WorkOrder | None:
        row = await self.conn.fetchrow(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 ORDER BY created_at DESC LIMIT 1",
            complaint_id,
        )
        return _work_order(row)

    async def update_work_order(self, work_order_id: uuid.UUID, **changes: Any) -> None:
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await self.conn.execute(
            f"UPDATE dispatch.work_orders SET {sets} WHERE work_order_id = $1", work_order_id, *changes.values()
        )

    async def add_history(
        self,
        *,
        work_order_id: uuid.UUID,
        action: str,
        from_status: str | None,
        to_status: str,
        actor: str,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO dispatch.work_order_history "
            "(work_order_id, action, from_status, to_status, actor, details, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            work_order_id,
            action,
            from_status,
            to_status,
            actor,
            details,
            at,
        )

    async def history(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT action, from_status, to_status, actor, details, at FROM dispatch.work_order_history "
            "WHERE work_order_id = $1 ORDER BY id",
            work_order_id,
        )
        return [dict(r) for r in rows]

    async def queue(self, department: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        rows = await self.conn.fetch(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[]) "
            "ORDER BY priority, resolve_by, work_order_id LIMIT $3 OFFSET $4",
            department,
            _OPEN,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[])",
            department,
            _OPEN,
        )
        return [WorkOrder(**dict(r)) for r in rows], total


async def outbox_pending(pool: asyncpg.Pool) -> int:
    """Events written but not yet published: the readiness probe reports it."""
    return await pool.fetchval("SELECT count(*) FROM dispatch.outbox")
