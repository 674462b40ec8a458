"""Submitting a complaint: the one handler every channel goes through (HTTP and partner ingress).

Idempotent: the same Idempotency-Key, or the same (channel, channel ticket id), returns the
complaint created the first time and publishes nothing new — also when the retries race.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg

from services.intake import repository
from services.intake.events import SERVICE, build_events
from services.intake.reference import next_reference
from services.intake.repository import StoredComplaint
from services.intake.schemas import AGENT_FIELDS, ComplaintCreate
from shared import outbox
from shared.db import unit_of_work
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class SubmitComplaint:
    complaint: ComplaintCreate
    idempotency_key: str | None
    correlation_id: str
    #: The display name of the signed-in agent who took it (their staff id is `complaint.agent_id`).
    agent_name: str | None = None


@dataclass(frozen=True)
class Submitted:
    complaint: StoredComplaint
    replayed: bool


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key belongs to a different submission: the caller has a bug, not a retry."""


def fingerprint(complaint: ComplaintCreate) -> str:
    """The submission's hash; the agent fields count only when given, so a retry from an old client (sent
    before they existed) still matches the fingerprint stored for it."""
    unset = {name for name in AGENT_FIELDS if getattr(complaint, name) in (None, False)}
    return hashlib.sha256(complaint.model_dump_json(exclude=unset).encode()).hexdigest()


def _replay(existing: StoredComplaint, cmd: SubmitComplaint, request_fingerprint: str) -> Submitted:
    if (
        cmd.idempotency_key is not None
        and existing.idempotency_key == cmd.idempotency_key
        and existing.request_fingerprint != request_fingerprint
    ):
        raise IdempotencyKeyReused(cmd.idempotency_key)
    return Submitted(existing, replayed=True)


async def submit_complaint(
    cmd: SubmitComplaint,
    *,
    pool: asyncpg.Pool,
    timezone: ZoneInfo,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Submitted:
    complaint = cmd.complaint
    request_fingerprint = fingerprint(complaint)
    lookup = {
        "channel": complaint.channel.value,
        "idempotency_key": cmd.idempotency_key,
        "channel_ticket_id": complaint.channel_ticket_id,
    }
    existing = await repository.find_existing(pool, **lookup)
    if existing is not None:
        return _replay(existing, cmd, request_fingerprint)

    accepted_at = clock()
    stored = StoredComplaint(
        complaint_id=uuid.uuid4(),
        reference_no=await next_reference(pool, accepted_at.astimezone(timezone).date()),
        channel=complaint.channel.value,
        channel_ticket_id=complaint.channel_ticket_id,
        idempotency_key=cmd.idempotency_key,
        request_fingerprint=request_fingerprint,
        received_at=complaint.received_at,
        accepted_at=accepted_at,
        correlation_id=cmd.correlation_id,
        submission=complaint.model_dump(mode="json"),
    )
    async with unit_of_work(pool) as uow:
        if await repository.insert_if_new(uow.conn, stored):
            await outbox.add(uow.conn, SERVICE, build_events(stored, complaint, agent_name=cmd.agent_name))
            uow.commit()
            log.info(
                "complaint accepted",
                complaint_id=str(stored.complaint_id),
                reference_no=stored.reference_no,
                channel=stored.channel,
            )
            return Submitted(stored, replayed=False)

    # A concurrent retry of the same submission won the insert: answer with its complaint.
    existing = await repository.find_existing(pool, **lookup)
    if existing is None:
        raise RuntimeError("complaint insert conflicted but no earlier complaint was found")
    return _replay(existing, cmd, request_fingerprint)
