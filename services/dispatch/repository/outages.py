"""Outage notices the utility announced, and which are in force for a complaint's fault."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.dispatch.model import Outage
from services.dispatch.repository.rows import OUTAGE_COLUMNS, Rows


class OutageTables(Rows):
    """`dispatch.outages`."""

    async def insert_outage(self, outage: Outage) -> None:
        await self._insert("outages", outage)

    async def get_outage(self, outage_id: uuid.UUID, *, lock: bool = False) -> Outage | None:
        return await self._get(Outage, "outages", "outage_id", outage_id, lock=lock)

    async def outage_by_source_ref(self, source_ref: str, *, lock: bool = False) -> Outage | None:
        return await self._get(Outage, "outages", "source_ref", source_ref, lock=lock)

    async def update_outage(self, outage_id: uuid.UUID, **changes: Any) -> None:
        await self._update("outages", "outage_id", outage_id, changes)

    async def outages(self, *, active: bool | None, at: datetime, limit: int) -> list[Outage]:
        rows = await self.conn.fetch(
            f"SELECT {OUTAGE_COLUMNS} FROM dispatch.outages WHERE $1::boolean IS NULL "
            "OR ($1 AND status = 'active' AND starts_at <= $2) OR (NOT $1 AND (status <> 'active' OR starts_at > $2)) "
            "ORDER BY starts_at DESC LIMIT $3",
            active,
            at,
            limit,
        )
        return [Outage(**dict(r)) for r in rows]

    async def active_outages(self, family: str, at: datetime) -> list[Outage]:
        rows = await self.conn.fetch(
            f"SELECT {OUTAGE_COLUMNS} FROM dispatch.outages WHERE status = 'active' AND family = $1 "
            "AND starts_at <= $2 ORDER BY starts_at, outage_id",
            family,
            at,
        )
        return [Outage(**dict(r)) for r in rows]
