"""`DispatchRepository` on Postgres: one class made of the table families' parts (each a module of this package),
plus the outbox and the processed-event marks, which commit with the effect."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.dispatch.repository.assets import AssetTables
from services.dispatch.repository.cases import CaseTables
from services.dispatch.repository.category_models import CategoryModelTables
from services.dispatch.repository.contacts import ContactTables
from services.dispatch.repository.coordination import CoordinationTables
from services.dispatch.repository.corrective_actions import CorrectiveActionTables
from services.dispatch.repository.field_work import FieldWorkTables
from services.dispatch.repository.incidents import IncidentTables
from services.dispatch.repository.outages import OutageTables
from services.dispatch.repository.rows import SCHEMA
from services.dispatch.repository.serious_proposals import SeriousProposalTables
from services.dispatch.repository.work_orders import WorkOrderTables
from shared import idempotency, outbox
from shared.contracts import Event


class PostgresDispatchRepository(
    CaseTables,
    WorkOrderTables,
    IncidentTables,
    OutageTables,
    CorrectiveActionTables,
    SeriousProposalTables,
    FieldWorkTables,
    ContactTables,
    AssetTables,
    CoordinationTables,
    CategoryModelTables,
):
    """`DispatchRepository` on the connection of the caller's unit of work."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await idempotency.first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)


async def outbox_pending(pool: asyncpg.Pool) -> int:
    """Events written but not yet published: the readiness probe reports it."""
    return int(await pool.fetchval("SELECT count(*) FROM dispatch.outbox"))
