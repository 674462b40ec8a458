"""The sending worker: takes due deliveries and hands each to its provider, at most `concurrency` at once.

Why no message goes out twice, even when a process dies mid-call:
- the attempt is claimed (`FOR UPDATE SKIP LOCKED`: one process per row) and written — counted, `in_doubt`, leased
  — in a transaction that commits **before** the provider is called;
- the answer is recorded in a second transaction, only if the row is still in that attempt (a receipt may have
  settled it meanwhile);
- a row still `in_doubt` after its lease (the process died, or the call timed out, between the two) is taken
  again as "recovered": the vendor is asked first (`Provider.find_sent`, by our notification id: Aliyun's OutId,
  Tencent's SessionContext, WeChat's client_msg_id, the email's Message-ID) and the message is sent again only if
  the vendor has no record of it. A vendor that cannot say (`NotImplementedError`) gets no resend: the delivery is
  taken as `sent` and left to its receipt. What remains possible: a vendor that took the message but does not yet
  show it when asked (its records lag) — then it is sent twice, and the vendor's own idempotency key, where it
  has one, is the last guard.

Transient errors retry on the same channel with exponential backoff and full jitter; permanent ones (or the
attempts used up) move on to the next channel; with none left the delivery fails and `notification.failed`
asks for a person to phone. The loop claims when woken (a request arrived, a call finished) and otherwise every
poll interval; it never spins.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg

from services.notify import events, metrics
from services.notify.model import Delivery, Rules, accepted, backoff_seconds, next_channel, retry_later
from services.notify.providers.base import Outgoing, PermanentError, Provider, Sent, TransientError
from services.notify.repository import Claimed, NotifyRepository
from shared.db import Transactions
from shared.logging import get_logger

log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def outgoing(delivery: Delivery) -> Outgoing:
    d, current = delivery, delivery.current
    assert current is not None, "only deliveries with a channel are sent"
    return Outgoing(
        notification_id=d.notification_id,
        channel=current.channel,
        address=current.address,
        template_id=d.template_id,
        params=dict(d.params),
        text=d.text,
        locale=d.locale,
        reference_no=d.reference_no,
        complaint_id=d.complaint_id,
    )


class SendingWorker:
    def __init__(
        self,
        work: Transactions[NotifyRepository],
        providers: Mapping[str, Provider],
        rules: Rules,
        *,
        name: str,
        clock: Callable[[], datetime] = utc_now,
        concurrency: int = 32,
        poll_interval: float = 0.2,
        send_timeout: float = 20.0,
        lease_s: float = 60.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.work = work
        self.providers = providers
        self.rules = rules
        self.name = name
        self.clock = clock
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.send_timeout = send_timeout
        self.lease_s = lease_s
        self.draw = draw
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Something is due now (a request arrived, a receipt moved a message on): claim without waiting."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        try:
            while not stop.is_set():
                self._wake.clear()
                free = self.concurrency - len(self._in_flight)
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                        backoff = 0.5
                    except _DB_ERRORS as exc:
                        log.warning("sending worker cannot reach the database, retrying", error=repr(exc))
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=backoff)
                        backoff = min(backoff * 2, 5)
                        continue
                    for item in claimed:
                        task = asyncio.create_task(
                            self.attempt(item), name=f"notify-send:{item.delivery.notification_id}"
                        )
                        self._in_flight.add(task)
                        task.add_done_callback(self._done)
                waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
                await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            # Calls in flight finish (each bounded by the send timeout); a row whose answer is lost stays in
            # doubt and is checked with the vendor after its lease.
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery attempt crashed", error=repr(task.exception()))
        self._wake.set()

    async def claim(self, limit: int) -> list[Claimed]:
        async with self.work() as work:
            claimed = await work.repo.claim_due(self.clock(), limit=limit, lease_s=self.lease_s, worker=self.name)
            work.commit()
        return claimed

    async def attempt(self, claimed: Claimed) -> None:
        """One claimed delivery: check a recovered attempt with the vendor, send, record the answer."""
        delivery = claimed.delivery
        provider = self.providers.get(delivery.provider or "")
        if provider is None:
            await self.record(
                delivery,
                next_channel(delivery, self.rules, reason="provider_not_configured", at=self.clock()),
                "not_configured",
            )
            return
        try:
            if claimed.recovered and not await self._send_again(provider, delivery):
                return
            if claimed.recovered:
                delivery = await self._begin_attempt(delivery)
            await self._send(provider, delivery)
        except _DB_ERRORS as exc:
            # The row stays in doubt and is checked with the vendor after its lease: nothing is sent twice.
            log.warning("delivery answer not recorded, left in doubt", error=repr(exc), provider=provider.name)

    async def _send_again(self, provider: Provider, delivery: Delivery) -> bool:
        """Whether a recovered delivery may be sent again: only when its vendor has no record of it."""
        since = (delivery.attempt_started_at or delivery.requested_at) - timedelta(minutes=1)
        try:
            found = await asyncio.wait_for(provider.find_sent(outgoing(delivery), since), self.send_timeout)
        except NotImplementedError:
            metrics.provider_call(provider.name, "unknown")
            log.warning("vendor cannot say whether it took a message: not resending", provider=provider.name)
            changed = replace(accepted(delivery, None, delivered=False, at=self.clock()), reason="unverified")
            await self.record(delivery, changed, "unverified")
            return False
        except (TransientError, TimeoutError) as exc:
            metrics.provider_call(provider.name, "find_failed")
            await self.record(delivery, self._check_later(delivery), "find_failed", detail=type(exc).__name__)
            return False
        if found is not None:
            metrics.provider_call(provider.name, "found")
            await self.record(delivery, accepted(delivery, found, delivered=False, at=self.clock()), "found")
            return False
        metrics.provider_call(provider.name, "not_found")
        await self._finish(delivery, "not_found")
        return True

    async def _begin_attempt(self, delivery: Delivery) -> Delivery:
        async with self.work() as work:
            begun = await work.repo.begin_attempt(delivery, self.clock(), lease_s=self.lease_s, worker=self.name)
            work.commit()
        return begun

    async def _finish(self, delivery: Delivery, outcome: str) -> None:
        async with self.work() as work:
            await work.repo.finish_attempt(delivery, outcome=outcome, at=self.clock())
            work.commit()

    async def _send(self, provider: Provider, delivery: Delivery) -> None:
        try:
            sent: Sent = await asyncio.wait_for(provider.send(outgoing(delivery)), self.send_timeout)
        except TransientError as exc:
            metrics.provider_call(provider.name, "transient")
            reason = getattr(exc, "code", None) or "transient_error"
            changed = retry_later(delivery, self.rules, reason=reason, draw=self.draw(), at=self.clock())
            await self.record(delivery, changed, "transient", detail=type(exc).__name__)
        except PermanentError as exc:
            metrics.provider_call(provider.name, "permanent")
            changed = next_channel(delivery, self.rules, reason=exc.code or "permanent_error", at=self.clock())
            await self.record(delivery, changed, "permanent", detail=exc.code)
        except TimeoutError:
            # The vendor may have taken it: ask before sending again.
            metrics.provider_call(provider.name, "timeout")
            await self.record(delivery, self._check_later(delivery), "timeout")
        except Exception as exc:
            metrics.provider_call(provider.name, "error")
            log.error("provider failed unexpectedly", provider=provider.name, error=type(exc).__name__)
            await self.record(delivery, self._check_later(delivery), "error", detail=type(exc).__name__)
        else:
            metrics.provider_call(provider.name, "accepted")
            changed = accepted(delivery, sent.provider_message_id, delivered=sent.delivered, at=self.clock())
            await self.record(delivery, changed, "accepted")

    def _check_later(self, delivery: Delivery) -> Delivery:
        """Still in doubt, taken again after a backoff: then the vendor is asked before any resend."""
        wait = backoff_seconds(
            max(1, delivery.channel_attempts),
            base=self.rules.retry_base_s,
            cap=self.rules.retry_max_s,
            draw=self.draw(),
        )
        now = self.clock()
        return replace(delivery, in_doubt=True, due_at=now + timedelta(seconds=max(wait, 0.05)), updated_at=now)

    async def record(self, claimed: Delivery, changed: Delivery, outcome: str, *, detail: str | None = None) -> None:
        """The attempt's answer, if the row is still in that attempt (a receipt may have settled it meanwhile);
        a status or channel change publishes `notification.delivery` (and `notification.failed`)."""
        now = self.clock()
        async with self.work() as work:
            current = await work.repo.for_update(claimed.notification_id)
            if current is None or not current.in_doubt or current.attempts != claimed.attempts:
                return
            await work.repo.save(changed)
            await work.repo.finish_attempt(changed_attempt(claimed, changed), outcome=outcome, at=now, detail=detail)
            if changed.status != claimed.status or changed.step != claimed.step:
                await work.repo.add_to_outbox(events.on_change(changed, now))
            work.commit()
        if changed.status == "queued" and changed.due_at is not None and changed.due_at <= now:
            self.wake()


def changed_attempt(claimed: Delivery, changed: Delivery) -> Delivery:
    """The attempt row to close is the claimed one; it keeps the vendor's message id the answer carried."""
    return replace(claimed, provider_message_id=changed.provider_message_id)
