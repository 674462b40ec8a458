"""Work orders: one department's assignment for one cycle of a case, its audit trail, a department's queue and
the assisting work orders of a coordinated case."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from services.dispatch.model import HistoryEntry, WorkOrder
from services.dispatch.repository.rows import OPEN_STATUSES, WORK_ORDER_COLUMNS, Rows, work_order_of


class WorkOrderTables(Rows):
    """`dispatch.work_orders` and `work_order_history`."""

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None:
        row = await self.conn.fetchrow(
            # The household's few cases first (materialized: the planner must not start from all open work orders).
            "WITH account_cases AS MATERIALIZED (SELECT complaint_id FROM dispatch.cases WHERE household = $1) "
            f"SELECT {', '.join('w.' + f.name for f in fields(WorkOrder))} FROM account_cases c "
            "JOIN dispatch.work_orders w ON w.complaint_id = c.complaint_id "
            "WHERE w.category = $2 AND w.status = ANY($3::text[]) AND w.role = 'lead' "
            "ORDER BY w.created_at LIMIT 1",
            account_no,
            category,
            OPEN_STATUSES,
        )
        return work_order_of(row)

    async def open_work_orders_for_accounts(self, accounts: Iterable[str]) -> dict[str, list[WorkOrder]]:
        """`open_work_order_for_account` for many households in one statement: each one's open lead work orders,
        oldest first (the first of a category is the one a duplicate joins)."""
        wanted = sorted(set(accounts))
        if not wanted:
            return {}
        rows = await self.conn.fetch(
            "WITH account_cases AS MATERIALIZED "
            "(SELECT complaint_id, household FROM dispatch.cases WHERE household = ANY($1::text[])) "
            f"SELECT c.household AS _account_no, {', '.join('w.' + f.name for f in fields(WorkOrder))} "
            "FROM account_cases c JOIN dispatch.work_orders w ON w.complaint_id = c.complaint_id "
            "WHERE w.status = ANY($2::text[]) AND w.role = 'lead' ORDER BY w.created_at",
            wanted,
            OPEN_STATUSES,
        )
        found: dict[str, list[WorkOrder]] = {a: [] for a in wanted}
        for r in rows:
            values = dict(r)
            found[values.pop("_account_no")].append(WorkOrder(**values))
        return found

    async def insert_work_orders(self, orders: Sequence[WorkOrder]) -> None:
        await self._insert_many("work_orders", orders)

    async def add_histories(self, entries: Sequence[HistoryEntry]) -> None:
        await self._insert_many("work_order_history", entries)

    async def insert_work_order(self, order: WorkOrder) -> None:
        await self._insert("work_orders", order)

    async def get_work_order(self, work_order_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders WHERE work_order_id = $1{suffix}", work_order_id
        )
        return work_order_of(row)

    async def open_work_order_of_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders "
            f"WHERE complaint_id = $1 AND role = 'lead' AND status = ANY($2::text[]){suffix}",
            complaint_id,
            OPEN_STATUSES,
        )
        return work_order_of(row)

    async def latest_work_order_of_case(self, complaint_id: uuid.UUID) -> WorkOrder | None:
        row = await self.conn.fetchrow(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 AND role = 'lead' "
            "ORDER BY created_at DESC LIMIT 1",
            complaint_id,
        )
        return work_order_of(row)

    async def work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        rows = await self.conn.fetch(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 "
            "ORDER BY created_at, work_order_id",
            complaint_id,
        )
        return [WorkOrder(**dict(r)) for r in rows]

    async def update_work_order(self, work_order_id: uuid.UUID, **changes: Any) -> None:
        await self._update("work_orders", "work_order_id", work_order_id, changes)

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
        actor_name: str | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO dispatch.work_order_history "
            "(work_order_id, action, from_status, to_status, actor, actor_name, details, at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            work_order_id,
            action,
            from_status,
            to_status,
            actor,
            actor_name or actor,
            details,
            at,
        )

    async def history(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT action, from_status, to_status, actor, coalesce(actor_name, actor) AS actor_name, details, at "
            "FROM dispatch.work_order_history WHERE work_order_id = $1 ORDER BY id",
            work_order_id,
        )
        return [dict(r) for r in rows]

    async def queue(self, department: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        rows = await self.conn.fetch(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[]) "
            "ORDER BY priority, resolve_by, work_order_id LIMIT $3 OFFSET $4",
            department,
            OPEN_STATUSES,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[])",
            department,
            OPEN_STATUSES,
        )
        return [WorkOrder(**dict(r)) for r in rows], total

    async def open_work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        rows = await self.conn.fetch(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders "
            "WHERE complaint_id = $1 AND status = ANY($2::text[]) ORDER BY created_at, work_order_id",
            complaint_id,
            OPEN_STATUSES,
        )
        return [WorkOrder(**dict(r)) for r in rows]

    async def move_assisting(self, lead_work_order_id: uuid.UUID, new_lead_work_order_id: uuid.UUID) -> None:
        await self.conn.execute(
            "UPDATE dispatch.work_orders SET lead_work_order_id = $2 "
            "WHERE lead_work_order_id = $1 AND status = ANY($3::text[])",
            lead_work_order_id,
            new_lead_work_order_id,
            OPEN_STATUSES,
        )
