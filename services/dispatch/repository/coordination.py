"""The cases the customer-service centre coordinates (`dispatch.coordinated_cases`): which, since when, by whom."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from services.dispatch.repository.rows import Rows


@dataclass(frozen=True)
class CoordinatedCase:
    """A multi-department case the customer-service centre coordinates (seed 002): its parts are the case's work
    orders, steered by the centre's supervisors (handlers/steering.py)."""

    complaint_id: uuid.UUID
    reference_no: str
    opened_by: str
    opened_by_name: str
    opened_at: datetime
    note: str = ""


COORDINATION_COLUMNS = ", ".join(f.name for f in fields(CoordinatedCase))


class CoordinationTables(Rows):
    """`dispatch.coordinated_cases`."""

    async def insert_coordinated_case(self, coordinated: CoordinatedCase) -> None:
        await self._insert("coordinated_cases", coordinated)

    async def coordinated_case(self, complaint_id: uuid.UUID) -> CoordinatedCase | None:
        row = await self.conn.fetchrow(
            f"SELECT {COORDINATION_COLUMNS} FROM dispatch.coordinated_cases WHERE complaint_id = $1", complaint_id
        )
        return CoordinatedCase(**dict(row)) if row else None

    async def coordinated_cases(self, *, limit: int) -> list[CoordinatedCase]:
        rows = await self.conn.fetch(
            f"SELECT {COORDINATION_COLUMNS} FROM dispatch.coordinated_cases ORDER BY opened_at DESC LIMIT $1", limit
        )
        return [CoordinatedCase(**dict(r)) for r in rows]
