"""Which work orders are incidents' (`incident.events`): their resolution calls back each caller
(`complaint.fault_fixed`, `callers.py`), not the incident (`callbacks.on_resolved` asks)."""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from shared.contracts import Event


async def learn_work_order(event: Event, work: FollowupWork) -> None:
    p = event.payload
    await work.repo.add_incident_work_order(p.work_order_id, p.incident_id)
