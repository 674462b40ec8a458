"""All of dispatch's SQL: cases, work orders, their histories, incidents, outage notices, corrective actions,
field work, contacts, the asset registry, the outbox and processed-event marks.

`DispatchRepository` (protocol.py) is what the use cases need; `PostgresDispatchRepository` (postgres.py)
implements it over the connection of one unit of work, made of one part per family of tables (`cases`,
`work_orders`, `incidents`, `outages`, `corrective_actions`, `field_work`, `contacts`, `assets`; `rows` is what
they share), and tests/fakes/dispatch.py implements it in memory. A repository never commits: the door
(`shared.handling`) does, so a state change, its events (outbox rows) and the mark that an incoming event was
processed are written atomically.
"""

from __future__ import annotations

from services.dispatch.repository.incidents import open_incidents
from services.dispatch.repository.postgres import PostgresDispatchRepository, outbox_pending
from services.dispatch.repository.protocol import DispatchRepository
from services.dispatch.repository.rows import SCHEMA

__all__ = ["SCHEMA", "DispatchRepository", "PostgresDispatchRepository", "open_incidents", "outbox_pending"]
