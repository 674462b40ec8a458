"""What every table family's part shares: the connection of the unit of work, the column lists of the rows that
map one to one onto model dataclasses, and one dataclass as one row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from typing import Any, TypeVar

import asyncpg

from services.dispatch.model import Case, Contact, ContactRead, CorrectiveAction, Incident, Outage, WorkOrder
from services.dispatch.workorders.lifecycle import OPEN
from shared.db import recordset_json

#: Dispatch's Postgres schema: its tables, its outbox and its processed-event marks.
SCHEMA = "dispatch"

CASE_COLUMNS = ", ".join(f.name for f in fields(Case))
WORK_ORDER_COLUMNS = ", ".join(f.name for f in fields(WorkOrder))
INCIDENT_COLUMNS = ", ".join(f.name for f in fields(Incident))
OUTAGE_COLUMNS = ", ".join(f.name for f in fields(Outage))
ACTION_COLUMNS = ", ".join(f.name for f in fields(CorrectiveAction))
CONTACT_COLUMNS = ", ".join(f.name for f in fields(Contact))
READ_COLUMNS = ", ".join(f.name for f in fields(ContactRead))
#: A work order's open statuses, as the `status = ANY($n::text[])` parameter.
OPEN_STATUSES = [s.value for s in OPEN]
_Row = TypeVar("_Row")


def placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


def work_order_of(row: asyncpg.Record | None) -> WorkOrder | None:
    return WorkOrder(**dict(row)) if row else None


async def lock_in_order(conn: asyncpg.Connection, prefix: str, keys: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on `prefix + key`, taken in sorted key order in one statement (unnest
    reads the sorted array in order, and each row takes its lock before the next is read), so two transactions
    never wait on each other in a cycle."""
    ordered = sorted(set(keys))
    if ordered:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1 || k)) FROM unnest($2::text[]) AS k", prefix, ordered
        )


class Rows:
    """The connection of the caller's unit of work; a repository never commits (the door does)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def _insert(self, table: str, row: Any) -> None:
        """One dataclass as one row: its fields are the table's columns."""
        values = asdict(row)
        await self.conn.execute(
            f"INSERT INTO dispatch.{table} ({', '.join(values)}) VALUES ({placeholders(len(values))})",
            *values.values(),
        )

    async def _insert_many(self, table: str, rows: Sequence[Any]) -> None:
        """Many dataclasses as rows of one table in one statement (a batch's rows, in their order): the rows travel
        as one JSON array and `jsonb_populate_recordset` reads each as the table's row type, so every column keeps
        its own type (uuid, timestamptz, jsonb) without a parameter per column."""
        if not rows:
            return
        columns = ", ".join(f.name for f in fields(rows[0]))
        await self.conn.execute(
            f"INSERT INTO dispatch.{table} ({columns}) SELECT {columns} "
            f"FROM jsonb_populate_recordset(NULL::dispatch.{table}, $1::text::jsonb)",
            recordset_json(rows),
        )

    async def _get(self, model: type[_Row], table: str, key: str, value: Any, *, lock: bool) -> _Row | None:
        """One row by a unique key as its dataclass; locked for the transaction when asked."""
        columns = ", ".join(f.name for f in fields(model))  # type: ignore[arg-type]
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(f"SELECT {columns} FROM dispatch.{table} WHERE {key} = $1{suffix}", value)
        return model(**dict(row)) if row else None

    async def _of_work_order(self, model: type[_Row], table: str, key: str, work_order_id: uuid.UUID) -> list[_Row]:
        """A work order's rows as dataclasses, oldest first (`at`, then the row's own key)."""
        columns = ", ".join(f.name for f in fields(model))  # type: ignore[arg-type]
        rows = await self.conn.fetch(
            f"SELECT {columns} FROM dispatch.{table} WHERE work_order_id = $1 ORDER BY at, {key}", work_order_id
        )
        return [model(**dict(r)) for r in rows]

    async def _update(self, table: str, key: str, value: uuid.UUID, changes: dict[str, Any]) -> None:
        """One row's columns by its key; the column names come from our own code, never from input."""
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await self.conn.execute(f"UPDATE dispatch.{table} SET {sets} WHERE {key} = $1", value, *changes.values())
