"""Erasure's reach into the ingress topics (issue 25): an erased customer's records taken out of
`ingress.partner-tickets`, `ingress.channel-messages` and their dead letters.

Why here: what a partner hotline or the channels service hands intake is in clear, as the sender wrote it — no key
of ours seals it, so crypto-shredding cannot reach it, and the topics' 30-day retention would leave it readable for a
month after the erasure. Intake consumes those topics and owns the customer, so it scrubs them (`shared.kafka.scrub`:
a consumed partition is cut past the person's last record once intake's group has taken it; a dead letter partition
is rewritten without it).

Which records are the person's: those naming a phone number whose keyed hash is one the customer was found by, or
their account number, anywhere in the record (any field, free text included: "请打 139…"). The erasure kept those
keys (`intake.ingress_scrubs`), never the number; the row goes once the scrub has done. A record naming the
person only by name is not found (no key of ours is a name).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError

from services.intake import consumers
from services.intake.customers import phone_hash
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.ingress_scrubs import PendingScrubs, SettleScrubs, pending_scrubs, settle_scrubs
from services.intake.privacy import PendingScrub
from services.intake.repository import IntakeRepository
from services.intake.settings import IntakeSettings
from shared import topics
from shared.handling import Door
from shared.kafka.scrub import scrub
from shared.logging import get_logger

log = get_logger(__name__)

#: A run of digits, perhaps with a leading + and spaces or dashes inside: where a phone number may be.
_PHONE_LIKE = re.compile(r"\+?\d[\d \-]{5,}\d")


def phone_candidates(text: str) -> set[str]:
    """The digit strings in `text` that may be a phone number, as intake hashes one (digits only); a number
    written with China's country code also without it."""
    found: set[str] = set()
    for match in _PHONE_LIKE.finditer(text):
        digits = "".join(ch for ch in match.group() if ch.isdigit())
        found.add(digits)
        if digits.startswith("86") and len(digits) == 13:
            found.add(digits[2:])
    return found


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield str(value)


@dataclass(frozen=True)
class ErasedSubjects:
    """The customers a scan looks for: a record is theirs if it names one of their phones or accounts."""

    phone_keys: frozenset[str]
    accounts: frozenset[str]
    secret: str

    @classmethod
    def of(cls, pending: list[PendingScrub], secret: str) -> ErasedSubjects:
        phones = frozenset(k for p in pending for k in p.phone_keys)
        return cls(phones, frozenset(a for p in pending for a in p.accounts), secret)

    def matches(self, record: ConsumerRecord) -> bool:
        raw: bytes = record.value or b""
        try:
            document: Any = json.loads(raw)
        except ValueError:  # not JSON (a poison record): its text as it is
            document = raw.decode("utf-8", "replace")
        for text in _texts(document):
            if text.strip().upper() in self.accounts:
                return True
            if any(phone_hash(c, self.secret) in self.phone_keys for c in phone_candidates(text)):
                return True
        return False


IntakeDoor = Door[IntakeRepository, IntakeContext]


def ingress_scrubber(
    settings: IntakeSettings, door: Callable[[], IntakeDoor]
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The background worker: every `INTAKE_INGRESS_SCRUB_SECONDS`, if erasures wait, one scan for all of them."""
    prefix = settings.intake_consumer_group
    consumed = {
        topics.PARTNER_TICKETS: consumers.PARTNER_TICKETS.group_id(prefix),
        topics.CHANNEL_MESSAGES: consumers.CHANNEL_MESSAGES.group_id(prefix),
    }
    dead_letters = tuple(topics.dead_letter_topic(t) for t in consumed)

    async def once() -> None:
        pending = await door().run(pending_scrubs, PendingScrubs())
        if not pending:
            return
        subjects = ErasedSubjects.of(pending, settings.intake_customer_hash_key)
        ids = tuple(p.customer_id for p in pending)
        try:
            report = await scrub(
                settings.kafka_bootstrap_servers,
                consumed=consumed,
                dead_letters=dead_letters,
                matches=subjects.matches,
                security=settings,
            )
        except (KafkaError, OSError, LookupError) as error:
            log.warning("ingress scrub failed; retrying", customers=len(ids), error=repr(error))
            await door().run(settle_scrubs, SettleScrubs(ids, f"failed: {type(error).__name__}"))
            return
        outcome = None if report.done else "waiting for intake to consume " + ", ".join(map(str, report.waiting))
        await door().run(settle_scrubs, SettleScrubs(ids, outcome))
        log.info(
            "ingress scrubbed" if report.done else "ingress scrub waits",
            customers=len(ids),
            records=report.matched,
            rewritten=sum(report.rewritten.values()),
            waiting=len(report.waiting),
        )

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.intake_ingress_scrub_seconds)

    run.__qualname__ = "ingress_scrubber"
    return run
