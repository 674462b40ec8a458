"""Reporting's use cases run as the live consumers and the rebuild run them: through the door
(`shared.handling.Door`), on the in-memory read models (`tests.fakes.reporting`)."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.reporting.handlers import ReportingContext, project
from shared.contracts import Event
from shared.handling import Door
from tests.fakes.reporting import InMemoryTransactions

CN = ZoneInfo("Asia/Shanghai")


async def project_through(transactions: InMemoryTransactions, events: Sequence[Event], timezone: ZoneInfo = CN) -> int:
    """`handlers.project` in one unit of work: how many of `events` were new to the timeline."""
    return await Door(transactions, ReportingContext(timezone)).run(project, events)
