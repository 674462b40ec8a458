"""The sending worker: takes due deliveries and hands each to its provider, at most `concurrency` at once. A
background task of the app (`bootstrap.py`), beside the consumer and the routes; its units of work are the use
cases of `handlers/sending.py`, each through the door.

Why no message goes out twice, even when a process dies mid-call:
- the attempt is claimed (`FOR UPDATE SKIP LOCKED`: one process per row) and written — counted, `in_doubt`, leased
  — in a unit of work that commits **before** the provider is called (`claim_due`);
- the answer is recorded in a second unit, only if the row is still in that attempt (`record_answer`: a receipt
  may have settled it meanwhile);
- a row still `in_doubt` after its lease (the process died, or the call timed out, between the two) is taken
  again as "recovered": the vendor is asked first (`Provider.find_sent`, by our notification id: Aliyun's OutId,
  Tencent's SessionContext, WeChat's client_msg_id, the email's Message-ID) and the message is sent again, as a
  new attempt committed before the call (`begin_again`), only if the vendor has no record of it. A vendor that
  cannot say (`NotImplementedError`) gets no resend: the delivery is taken as `sent` and left to its receipt.
  What remains possible: a vendor that took the message but does not yet show it when asked (its records lag) —
  then it is sent twice, and the vendor's own idempotency key, where it has one, is the last guard.

Transient errors retry on the same channel with exponential backoff and full jitter; permanent ones (or the
attempts used up) move on to the next channel; with none left the delivery fails and `notification.failed`
asks for a person to phone (`outcomes.py`). The loop claims when woken (a request arrived, a call finished) and
otherwise every poll interval; it never spins.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg

from services.notify import metrics
from services.notify.door import NotifyDoor
from services.notify.handlers.sending import BeginAgain, ClaimDue, RecordAnswer, begin_again, claim_due, record_answer
from services.notify.model import Delivery
from services.notify.outcomes import Answer
from services.notify.providers.base import Outgoing, PermanentError, Provider, TransientError
from services.notify.repository import Claimed
from shared.logging import get_logger

log = get_logger(__name__)

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
        door: NotifyDoor,
        due: asyncio.Event,
        *,
        name: str,
        concurrency: int = 32,
        poll_interval: float = 0.2,
        send_timeout: float = 20.0,
    ) -> None:
        """`due`: set when something may be due now (the door sets it after a request batch, a receipt that moved
        a message on); `name`: this worker on the rows it claims (host:pid:instance)."""
        self.door = door
        self.providers = door.context.catalog.providers
        self.name = name
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.send_timeout = send_timeout
        self._due = due
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        try:
            while not stop.is_set():
                self._due.clear()
                free = self.concurrency - len(self._in_flight)
                if free > 0:
                    try:
                        claimed = await self.door.run(claim_due, ClaimDue(free, self.name))
                        backoff = 0.5
                    except _DB_ERRORS as exc:
                        log.warning("sending worker cannot reach the database, retrying", error=repr(exc))
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=backoff)
                        backoff = min(backoff * 2, 5)
                        continue
                    self._start(claimed)
                await self._wait(stop)
        finally:
            # Calls in flight finish (each bounded by the send timeout); a row whose answer is lost stays in
            # doubt and is checked with the vendor after its lease.
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _start(self, claimed: list[Claimed]) -> None:
        for item in claimed:
            task = asyncio.create_task(self.attempt(item), name=f"notify-send:{item.delivery.notification_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    async def _wait(self, stop: asyncio.Event) -> None:
        """Until stopped, woken, or the poll interval is up."""
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._due.wait())}
        await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery attempt crashed", error=repr(task.exception()))
        self._due.set()

    async def attempt(self, claimed: Claimed) -> None:
        """One claimed delivery: check a recovered attempt with the vendor, send, record the answer."""
        delivery = claimed.delivery
        provider = self.providers.get(delivery.provider or "")
        try:
            if provider is None:
                await self._record(delivery, Answer("not_configured"))
                return
            if claimed.recovered:
                known = await self._ask_vendor(provider, delivery)
                if known is not None:
                    await self._record(delivery, known)
                    return
                delivery = await self.door.run(begin_again, BeginAgain(delivery, self.name))
            await self._record(delivery, await self._send(provider, delivery))
        except _DB_ERRORS as exc:
            # The row stays in doubt and is checked with the vendor after its lease: nothing is sent twice.
            name = provider.name if provider else delivery.provider
            log.warning("delivery answer not recorded, left in doubt", error=repr(exc), provider=name)

    async def _ask_vendor(self, provider: Provider, delivery: Delivery) -> Answer | None:
        """What the vendor knows of a recovered attempt; None when it has no record of it (then it is sent)."""
        since = (delivery.attempt_started_at or delivery.requested_at) - timedelta(minutes=1)
        try:
            found = await asyncio.wait_for(provider.find_sent(outgoing(delivery), since), self.send_timeout)
        except NotImplementedError:
            metrics.provider_call(provider.name, "unknown")
            log.warning("vendor cannot say whether it took a message: not resending", provider=provider.name)
            return Answer("unverified")
        except (TransientError, TimeoutError) as exc:
            metrics.provider_call(provider.name, "find_failed")
            return Answer("find_failed", detail=type(exc).__name__)
        if found is not None:
            metrics.provider_call(provider.name, "found")
            return Answer("found", provider_message_id=found)
        metrics.provider_call(provider.name, "not_found")
        return None

    async def _send(self, provider: Provider, delivery: Delivery) -> Answer:
        """The vendor's answer to one send, counted by outcome."""
        try:
            sent = await asyncio.wait_for(provider.send(outgoing(delivery)), self.send_timeout)
        except TransientError as exc:
            answer = Answer("transient", code=getattr(exc, "code", None), detail=type(exc).__name__)
        except PermanentError as exc:
            answer = Answer("permanent", code=exc.code, detail=exc.code)
        except TimeoutError:
            answer = Answer("timeout")  # the vendor may have taken it: asked before sending again
        except Exception as exc:
            log.error("provider failed unexpectedly", provider=provider.name, error=type(exc).__name__)
            answer = Answer("error", detail=type(exc).__name__)
        else:
            answer = Answer("accepted", provider_message_id=sent.provider_message_id, delivered=sent.delivered)
        metrics.provider_call(provider.name, answer.outcome)
        return answer

    async def _record(self, claimed: Delivery, answer: Answer) -> None:
        await self.door.run(record_answer, RecordAnswer(claimed, answer))
