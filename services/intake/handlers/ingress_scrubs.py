"""The ingress scrub's units of work (`ingress_scrub.py` runs the Kafka part between them): which erased customers
still have clear copies to take out, and what became of an attempt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.intake.handlers.context import IntakeWork
from services.intake.privacy import PendingScrub


@dataclass(frozen=True)
class PendingScrubs:
    """Up to `limit` erased customers, oldest erasure first: one scan of the topics serves them all."""

    limit: int = 100


async def pending_scrubs(cmd: PendingScrubs, work: IntakeWork) -> list[PendingScrub]:
    return await work.repo.pending_ingress_scrubs(cmd.limit)


@dataclass(frozen=True)
class SettleScrubs:
    """The scrub of `customer_ids` finished (`outcome` None), or not yet, and why."""

    customer_ids: tuple[uuid.UUID, ...]
    outcome: str | None = None


async def settle_scrubs(cmd: SettleScrubs, work: IntakeWork) -> None:
    await work.repo.settle_ingress_scrubs(cmd.customer_ids, cmd.outcome)
