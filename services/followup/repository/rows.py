"""What every table's rows share: the connection of the unit of work, and one dataclass as one row."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

import asyncpg

from services.followup.model import Callback, Subject, TrackedWorkOrder

SCHEMA = "followup"
#: Woken on every scheduled timer, so a due-soon timer does not wait for the next poll.
TIMERS_CHANNEL = "followup_timers"

CALLBACK_COLUMNS = ", ".join(Callback.__dataclass_fields__)
ORDER_COLUMNS = ", ".join(TrackedWorkOrder.__dataclass_fields__)
_Row = TypeVar("_Row")


def placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


def values_of(record: object) -> tuple[object, ...]:
    """A dataclass's fields in declaration order, for an INSERT that lists its columns in the same order."""
    return tuple(getattr(record, f.name) for f in fields(record))  # type: ignore[arg-type]


def subject_of(row: asyncpg.Record | None) -> Subject | None:
    return Subject(**dict(row)) if row is not None else None


class Rows:
    """The connection of one unit of work (or the pool, for single statements outside one); never commits."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def _insert_new(self, table: str, record: object, *, conflict: str) -> bool:
        """One dataclass as one row, unless its key (`conflict`) is there already: False for a redelivery."""
        names = [f.name for f in fields(record)]  # type: ignore[arg-type]
        inserted = await self.conn.fetchval(
            f"INSERT INTO followup.{table} ({', '.join(names)}) VALUES ({placeholders(len(names))}) "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING true",
            *values_of(record),
        )
        return bool(inserted)

    async def _get(self, model: type[_Row], table: str, key: str, value: object, *, lock: bool = False) -> _Row | None:
        """One row by a unique key as its dataclass; locked for the transaction when asked."""
        columns = ", ".join(f.name for f in fields(model))  # type: ignore[arg-type]
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(f"SELECT {columns} FROM followup.{table} WHERE {key} = $1{suffix}", value)
        return model(**dict(row)) if row is not None else None
