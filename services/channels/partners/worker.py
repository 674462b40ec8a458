"""The delivery worker of the partner pushes: each round leases the oldest open push of every ticket that is due
(`handlers.partner_pushes.claim_pushes`), sends them side by side — one per ticket, so a ticket's states stay in
order — and records each answer in its own unit of work. A round that sent something is followed at once by the
next (the ticket's next state may be waiting); an idle one waits `CHANNELS_PARTNER_POLL_S` or until stopped.

The call to the hotline happens outside any transaction: a crash between the call and the record leaves the push
leased, and after `CHANNELS_PARTNER_LEASE_S` it is sent again with the same `Idempotency-Key` (the hotline answers
as the first time). Runs only when at least one hotline's URL is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Protocol

from services.channels import metrics
from services.channels.deps import ChannelsDoor, Running
from services.channels.handlers.partner_pushes import ClaimPushes, RecordAttempt, claim_pushes, record_attempt
from services.channels.partners.client import PartnerClient
from services.channels.pushes import Answer, Push, RetryPolicy
from shared.logging import get_logger
from shared.runtime import Worker

log = get_logger(__name__)
#: Pushes sent side by side in one round (one per ticket).
ROUND_SIZE = 20


class Sender(Protocol):
    """What delivers one push (`PartnerClient`; tests hand in a hotline of their own)."""

    async def send(self, push: Push) -> Answer: ...


def partner_pusher(running: Running) -> Worker | None:
    """The worker, or None when no hotline is configured."""
    settings = running.settings
    endpoints = settings.partner_endpoints
    if not endpoints:
        return None
    claim = ClaimPushes(tuple(sorted(endpoints)), ROUND_SIZE, timedelta(seconds=settings.channels_partner_lease_s))
    policy = RetryPolicy(
        first=timedelta(seconds=settings.channels_partner_retry_first_s),
        cap=timedelta(seconds=settings.channels_partner_retry_max_s),
    )

    async def push_to_partners(stop: asyncio.Event) -> None:
        async with PartnerClient(endpoints, timeout_s=settings.channels_partner_timeout_s) as client:
            while not stop.is_set():
                if await deliver_round(running.door, client, claim, policy):
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.channels_partner_poll_s)

    return push_to_partners


async def deliver_round(door: ChannelsDoor, client: Sender, claim: ClaimPushes, policy: RetryPolicy) -> int:
    """One round: how many pushes were sent."""
    pushes = await door.run(claim_pushes, claim)
    await asyncio.gather(*(_deliver(door, client, push, policy) for push in pushes))
    return len(pushes)


async def _deliver(door: ChannelsDoor, client: Sender, push: Push, policy: RetryPolicy) -> None:
    answer = await client.send(push)
    await door.run(record_attempt, RecordAttempt(push, answer, policy))
    metrics.PARTNER_PUSHES.labels(push.partner, push.kind, answer.outcome).inc()
