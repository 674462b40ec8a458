"""The sending worker's units of work, around each vendor call (the call itself is the worker's, `sending.py`
beside `bootstrap.py`, outside any transaction):

1. `claim_due` — due deliveries, each taken by one process, their attempt counted, marked in doubt and leased.
   Its unit commits **before** the vendor is called: a process killed mid-call leaves the attempt on record, in
   doubt, to be checked with the vendor once the lease runs out (never silently sent again).
2. `begin_again` — a recovered attempt the vendor has no record of: that attempt closed (`not_found`) and a new
   one begun, also committed before the call.
3. `record_answer` — the vendor's answer applied (`outcomes.answered`), if the row is still in that attempt (a
   receipt may have settled it meanwhile); a status or channel change publishes `notification.delivery` (and
   `notification.failed`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.notify import events
from services.notify.handlers.context import Notify
from services.notify.model import Delivery
from services.notify.outcomes import Answer, answered
from services.notify.repository import Claimed


@dataclass(frozen=True)
class ClaimDue:
    """Up to `limit` due deliveries for the worker named `worker` (host:pid:instance, kept on the row)."""

    limit: int
    worker: str


@dataclass(frozen=True)
class BeginAgain:
    """A recovered delivery the vendor did not take: send it again, as a new attempt."""

    delivery: Delivery
    worker: str


@dataclass(frozen=True)
class RecordAnswer:
    """What the vendor answered to the attempt `claimed` (the delivery as the claim left it)."""

    claimed: Delivery
    answer: Answer


async def claim_due(command: ClaimDue, work: Notify) -> list[Claimed]:
    return await work.repo.claim_due(work.now, limit=command.limit, lease_s=work.context.lease_s, worker=command.worker)


async def begin_again(command: BeginAgain, work: Notify) -> Delivery:
    await work.repo.finish_attempt(command.delivery, outcome="not_found", at=work.now)
    return await work.repo.begin_attempt(
        command.delivery, work.now, lease_s=work.context.lease_s, worker=command.worker
    )


async def record_answer(command: RecordAnswer, work: Notify) -> Delivery | None:
    """The delivery as recorded, or None when the row had left that attempt (nothing written)."""
    claimed, answer = command.claimed, command.answer
    current = await work.repo.for_update(claimed.notification_id)
    if current is None or not current.in_doubt or current.attempts != claimed.attempts:
        return None
    changed = answered(claimed, answer, work.context.rules, draw=work.context.draw, at=work.now)
    await work.repo.save(changed)
    # The attempt row closed is the claimed one; it keeps the vendor's message id the answer carried.
    attempt = replace(claimed, provider_message_id=changed.provider_message_id)
    await work.repo.finish_attempt(attempt, outcome=answer.outcome, at=work.now, detail=answer.detail)
    if changed.status != claimed.status or changed.step != claimed.step:
        work.emit(events.on_change(changed, work.now))
    return changed
