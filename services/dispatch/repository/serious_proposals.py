"""Serious and emergency cases' proposals (cause analysis and corrective actions) waiting for, or given,
leadership's approval — one row per lead work order — and the open serious lead work orders leadership sees."""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields
from typing import Any

from services.dispatch.model import SeriousProposal, WorkOrder
from services.dispatch.repository.rows import OPEN_STATUSES, WORK_ORDER_COLUMNS, Rows, work_order_of

PROPOSAL_COLUMNS = ", ".join(f.name for f in fields(SeriousProposal))
#: The severities whose lead work orders close only with an approved proposal (resolution.NEEDS_CORRECTIVE_ACTION).
SERIOUS_SEVERITIES = ["serious", "emergency"]


def _proposal(row: Any) -> SeriousProposal:
    return SeriousProposal(**dict(row))


class SeriousProposalTables(Rows):
    """`dispatch.serious_proposals`, and the serious lead work orders of `dispatch.work_orders`."""

    async def get_serious_proposal(self, work_order_id: uuid.UUID, *, lock: bool = False) -> SeriousProposal | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {PROPOSAL_COLUMNS} FROM dispatch.serious_proposals WHERE work_order_id = $1{suffix}",
            work_order_id,
        )
        return _proposal(row) if row else None

    async def save_serious_proposal(self, proposal: SeriousProposal) -> None:
        values = asdict(proposal)
        columns = list(values)
        casts = [f"${i}" for i in range(1, len(columns) + 1)]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "work_order_id")
        await self.conn.execute(
            f"INSERT INTO dispatch.serious_proposals ({', '.join(columns)}) VALUES ({', '.join(casts)}) "
            f"ON CONFLICT (work_order_id) DO UPDATE SET {updates}",
            *values.values(),
        )

    async def serious_work_orders(self, *, limit: int) -> list[WorkOrder]:
        rows = await self.conn.fetch(
            f"SELECT {WORK_ORDER_COLUMNS} FROM dispatch.work_orders "
            "WHERE role = 'lead' AND severity = ANY($1::text[]) AND status = ANY($2::text[]) "
            "ORDER BY priority, resolve_by, work_order_id LIMIT $3",
            SERIOUS_SEVERITIES,
            OPEN_STATUSES,
            limit,
        )
        return [order for order in map(work_order_of, rows) if order is not None]

    async def serious_proposals(self, work_order_ids: list[uuid.UUID]) -> dict[uuid.UUID, SeriousProposal]:
        if not work_order_ids:
            return {}
        rows = await self.conn.fetch(
            f"SELECT {PROPOSAL_COLUMNS} FROM dispatch.serious_proposals WHERE work_order_id = ANY($1::uuid[])",
            work_order_ids,
        )
        return {p.work_order_id: p for p in map(_proposal, rows)}
