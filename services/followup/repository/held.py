"""Work-order events held until their work order's assignment is tracked (issue 26: out-of-order events)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import TypeAdapter

from services.followup.repository.rows import Rows
from shared.contracts import AnyWorkOrderEvent, WorkOrderEvent

#: How long a step waits for its assignment: past it, its work order is not coming (the group started after it).
HELD_FOR = timedelta(days=7)
_EVENTS: TypeAdapter[WorkOrderEvent] = TypeAdapter(AnyWorkOrderEvent)


class HeldEventTables(Rows):
    """`followup.held_work_order_events`."""

    async def tracked_among(self, work_order_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self.conn.fetch(
            "SELECT work_order_id FROM followup.work_orders WHERE work_order_id = ANY($1::uuid[])",
            list(set(work_order_ids)),
        )
        return {r["work_order_id"] for r in rows}

    async def hold_events(self, events: Sequence[WorkOrderEvent], at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO followup.held_work_order_events (event_id, work_order_id, occurred_at, held_at, body) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[]) "
            "ON CONFLICT (event_id) DO NOTHING",
            [e.event_id for e in events],
            [e.payload.work_order_id for e in events],
            [e.occurred_at for e in events],
            [at] * len(events),
            [e.model_dump(mode="json") for e in events],
        )
        await self.conn.execute("DELETE FROM followup.held_work_order_events WHERE held_at < $1", at - HELD_FOR)

    async def take_held(self, work_order_ids: Sequence[uuid.UUID]) -> list[WorkOrderEvent]:
        rows = await self.conn.fetch(
            "DELETE FROM followup.held_work_order_events WHERE work_order_id = ANY($1::uuid[]) "
            "RETURNING occurred_at, body",
            list(set(work_order_ids)),
        )
        ordered = sorted(rows, key=lambda r: r["occurred_at"])
        return [_EVENTS.validate_python(r["body"]) for r in ordered]
