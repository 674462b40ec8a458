"""`FollowupRepository` on Postgres: one class made of the tables' parts (each a module of this package), plus
the outbox and the processed-event marks, which commit with the effect."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.followup.repository.callbacks import CallbackTables
from services.followup.repository.cases import CaseTables
from services.followup.repository.clocks import ClockTables
from services.followup.repository.escalations import EscalationTables
from services.followup.repository.follow_through import FollowThroughTables
from services.followup.repository.held import HeldEventTables
from services.followup.repository.messages import MessageTables
from services.followup.repository.replies import ReplyTables
from services.followup.repository.rows import SCHEMA
from shared import outbox
from shared.contracts import Event
from shared.idempotency import first_deliveries


class PostgresFollowupRepository(
    CaseTables,
    FollowThroughTables,
    ClockTables,
    EscalationTables,
    CallbackTables,
    MessageTables,
    ReplyTables,
    HeldEventTables,
):
    """`FollowupRepository` on one asyncpg connection (or the pool, for single statements outside a unit of work)."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)  # type: ignore[arg-type]

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)  # type: ignore[arg-type]

    async def outbox_pending(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM followup.outbox"))
