"""Field work: a crew's jobs, and the findings and photos recorded on site."""

from __future__ import annotations

import uuid

from services.dispatch.model import Finding, Photo, WorkOrder
from services.dispatch.repository.rows import OPEN_STATUSES, WORK_ORDER_COLUMNS, Rows


class FieldWorkTables(Rows):
    """`dispatch.findings` and `dispatch.photos`, and the work orders a crew was sent to."""

    async def crew_jobs(self, crew: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        rows = await self.conn.fetch(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders WHERE crew = $1 AND status = ANY($2::text[]) "
            "ORDER BY priority, resolve_by, work_order_id LIMIT $3 OFFSET $4",
            crew,
            OPEN_STATUSES,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM dispatch.work_orders WHERE crew = $1 AND status = ANY($2::text[])",
            crew,
            OPEN_STATUSES,
        )
        return [WorkOrder(**dict(r)) for r in rows], total

    async def insert_finding(self, finding: Finding) -> None:
        await self._insert("findings", finding)

    async def findings(self, work_order_id: uuid.UUID) -> list[Finding]:
        return await self._of_work_order(Finding, "findings", "finding_id", work_order_id)

    async def insert_photo(self, photo: Photo) -> None:
        await self._insert("photos", photo)

    async def photos(self, work_order_id: uuid.UUID) -> list[Photo]:
        return await self._of_work_order(Photo, "photos", "photo_id", work_order_id)

    async def get_photo(self, photo_id: uuid.UUID) -> Photo | None:
        return await self._get(Photo, "photos", "photo_id", photo_id, lock=False)
