"""SQL of dispatch's cases and work orders. Functions take the connection of the caller's unit of work
and never commit."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from services.dispatch.workorders.lifecycle import OPEN


@dataclass(frozen=True)
class Case:
    complaint_id: uuid.UUID
    reference_no: str
    account_no: str | None
    channel: str
    district: str
    text: str
    location: dict[str, Any]
    customer: dict[str, Any]
    category_hint: str | None
    accepted_at: datetime
    category: str
    severity: str
    valid: bool
    invalid_reason: str | None
    reasons: list[str]
    scores: dict[str, float]
    linked_to: uuid.UUID | None
    cycle: int
    correlation_id: str


@dataclass(frozen=True)
class WorkOrder:
    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    cycle: int
    department: str
    status: str
    category: str
    severity: str
    priority: int
    starts_at: datetime
    acknowledge_by: datetime
    on_site_by: datetime | None
    resolve_by: datetime
    interim_reply_by: datetime | None
    callback_limit: str
    policy_id: str
    previous_work_order_id: uuid.UUID | None
    resolution: str | None
    root_cause: str | None
    closing_reason: str | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None


_CASE_COLUMNS = ", ".join(f.name for f in fields(Case))
_WO_COLUMNS = ", ".join(f.name for f in fields(WorkOrder))
_OPEN = [s.value for s in OPEN]


def _placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


async def lock_accounts(conn: asyncpg.Connection, accounts: list[str]) -> None:
    """Serialise work on one account across dispatch replicas (repeat and duplicate checks read what
    the other may be writing). Sorted, so two batches never wait on each other in a cycle."""
    for account in sorted(set(accounts)):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('dispatch-account:' || $1))", account)


async def category_counts(conn: asyncpg.Connection, account_no: str, since: datetime) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT category, count(*) AS n FROM dispatch.cases "
        "WHERE account_no = $1 AND accepted_at >= $2 AND linked_to IS NULL GROUP BY category",
        account_no,
        since,
    )
    return {r["category"]: r["n"] for r in rows}


async def open_work_order_for_account(conn: asyncpg.Connection, account_no: str, category: str) -> WorkOrder | None:
    row = await conn.fetchrow(
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
    return WorkOrder(**dict(row)) if row else None


async def insert_case(conn: asyncpg.Connection, case: Case) -> None:
    values = asdict(case)
    await conn.execute(
        f"INSERT INTO dispatch.cases ({_CASE_COLUMNS}) VALUES ({_placeholders(len(values))})", *values.values()
    )


async def get_case(
    conn: asyncpg.Connection | asyncpg.Pool, complaint_id: uuid.UUID, *, lock: bool = False
) -> Case | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE complaint_id = $1{suffix}", complaint_id
    )
    return Case(**dict(row)) if row else None


async def update_case(conn: asyncpg.Connection, complaint_id: uuid.UUID, **changes: Any) -> None:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await conn.execute(f"UPDATE dispatch.cases SET {sets} WHERE complaint_id = $1", complaint_id, *changes.values())


async def add_classification(
    conn: asyncpg.Connection,
    *,
    complaint_id: uuid.UUID,
    category: str,
    severity: str,
    actor: str,
    reason: str | None,
    reasons: list[str],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO dispatch.classification_history (complaint_id, category, severity, actor, reason, reasons, at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        complaint_id,
        category,
        severity,
        actor,
        reason,
        reasons,
        at,
    )


async def insert_work_order(conn: asyncpg.Connection, order: WorkOrder) -> None:
    values = asdict(order)
    await conn.execute(
        f"INSERT INTO dispatch.work_orders ({_WO_COLUMNS}) VALUES ({_placeholders(len(values))})", *values.values()
    )


async def get_work_order(
    conn: asyncpg.Connection | asyncpg.Pool, work_order_id: uuid.UUID, *, lock: bool = False
) -> WorkOrder | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE work_order_id = $1{suffix}", work_order_id
    )
    return WorkOrder(**dict(row)) if row else None


async def open_work_order_of_case(
    conn: asyncpg.Connection, complaint_id: uuid.UUID, *, lock: bool = False
) -> WorkOrder | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 AND status = ANY($2::text[]){suffix}",
        complaint_id,
        _OPEN,
    )
    return WorkOrder(**dict(row)) if row else None


async def latest_work_order_of_case(conn: asyncpg.Connection, complaint_id: uuid.UUID) -> WorkOrder | None:
    row = await conn.fetchrow(
        f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 ORDER BY created_at DESC LIMIT 1",
        complaint_id,
    )
    return WorkOrder(**dict(row)) if row else None


async def update_work_order(conn: asyncpg.Connection, work_order_id: uuid.UUID, **changes: Any) -> None:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await conn.execute(
        f"UPDATE dispatch.work_orders SET {sets} WHERE work_order_id = $1", work_order_id, *changes.values()
    )


async def add_history(
    conn: asyncpg.Connection,
    *,
    work_order_id: uuid.UUID,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    details: dict[str, Any],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO dispatch.work_order_history (work_order_id, action, from_status, to_status, actor, details, at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        work_order_id,
        action,
        from_status,
        to_status,
        actor,
        details,
        at,
    )


async def history(conn: asyncpg.Connection | asyncpg.Pool, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT action, from_status, to_status, actor, details, at FROM dispatch.work_order_history "
        "WHERE work_order_id = $1 ORDER BY id",
        work_order_id,
    )
    return [dict(r) for r in rows]


async def queue(
    conn: asyncpg.Connection | asyncpg.Pool, department: str, *, limit: int, offset: int
) -> tuple[list[WorkOrder], int]:
    """Open work orders of a department, most urgent first: priority, then the resolve deadline."""
    rows = await conn.fetch(
        f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[]) "
        "ORDER BY priority, resolve_by, work_order_id LIMIT $3 OFFSET $4",
        department,
        _OPEN,
        limit,
        offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[])",
        department,
        _OPEN,
    )
    return [WorkOrder(**dict(r)) for r in rows], total
