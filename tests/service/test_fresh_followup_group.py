"""Issue 26, must-show 6: a fresh followup consumer group over topics holding 30-day-old events sends no customer
message — on the real topics, the real Kafka and Postgres, followup's real consumers and timer worker.

The old events carry a record timestamp and an `occurred_at` 30 days back, and are of every kind that makes followup
write to a customer when fresh: a complaint and its contact (the receipt), a work order resolved (the resolution's
message), a work order promising a phone caller an interim reply (a timer, due 30 days ago). Fresh events of the
same kinds are the control, in the same run: they are told. The group has never consumed and followup holds no mark
of it; it starts where the topics ended before the test's events (as `operations.consumer_groups reset` would place a
new group), so it reads the test's records and not the whole session's. The work-order events go out once the
contacts are known (each topic has a consumer of its own): a message is then missing for its age alone, not for an
address not yet there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.followup import consumers
from services.followup.metrics import MESSAGES_PAST_HORIZON
from shared import topics
from shared.contracts import Event, WorkOrderAssigned
from shared.kafka.security import client_options
from tests.support.dispatch import contact_for
from tests.support.followup import running_followup
from tests.support.followup_events import Order, assigned, new_order, received, resolved
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import read_topic, start_groups_at_end, wait_until

AGO = timedelta(days=30)


async def _publish_as_of(bootstrap: str, at: datetime, events: Iterable[Event]) -> None:
    """Each event on its topic, keyed by its complaint, with the record timestamp and `occurred_at` of `at`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, **client_options())
    await producer.start()
    try:
        for event in events:
            dated = event.model_copy(update={"occurred_at": at})
            value = dated.model_dump_json().encode()
            await producer.send_and_wait(
                event.topic, value=value, key=event.key, timestamp_ms=int(at.timestamp() * 1000)
            )
    finally:
        await producer.stop()


def _complaint(order: Order, at: datetime) -> list[Event]:
    """A web complaint and its contact: the receipt."""
    complaint = received(order, channel="web", at=at)
    return [contact_for(complaint), complaint]


def _resolved(order: Order, at: datetime) -> list[Event]:
    """Its work order assigned and resolved: the resolution's message, and a callback."""
    return [assigned(order, at=at), resolved(order, at=at + timedelta(hours=3))]


def _interim_promised(order: Order, at: datetime) -> WorkOrderAssigned:
    """A work order promising its phone caller an interim reply within 300 ms (left open)."""
    return assigned(order, at=at, interim_in=timedelta(milliseconds=300))


def _skipped() -> float:
    """Customer messages not sent for their age (the receipt is not among them: a complaint accepted over an hour
    ago gets none at all, `receipts.RECEIPT_WINDOW`)."""
    return float(sum(MESSAGES_PAST_HORIZON.labels(t)._value.get() for t in ("case_resolved", "interim_reply")))


async def _placed_at_end(bootstrap: str, group: str) -> bool:
    """The group's offsets committed at the topics' ends; False while a partition has no leader yet (a broker just
    started on a loaded machine answers NotLeaderForPartition for a while)."""
    try:
        await start_groups_at_end(bootstrap, consumers.SUBSCRIPTIONS, group)
    except KafkaError:
        return False
    return True


async def _customer_messages(db: asyncpg.Pool, order: Order) -> list[str]:
    rows = await db.fetch(
        "SELECT template_id FROM followup.notifications WHERE complaint_id = $1 AND recipient_kind = 'customer' "
        "ORDER BY at",
        order.complaint_id,
    )
    return [r["template_id"] for r in rows]


async def test_a_fresh_group_over_30_day_old_events_tells_no_customer_and_fresh_ones_are_told(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    group = f"followup-fresh-{uuid.uuid4().hex[:8]}"
    await wait_until(lambda: _placed_at_end(bootstrap, group), timeout=180)
    now = datetime.now(UTC)
    old_resolved, old_interim, new_resolved, new_interim = orders = [new_order() for _ in range(4)]
    # The contacts first, waited for: the resolution and the interim reply need the address (the contact travels on
    # its own topic, which a consumer of its own reads), so a message not sent is not sent for its age alone.
    await _publish_as_of(
        bootstrap, now - AGO, [*_complaint(old_resolved, now - AGO), *_complaint(old_interim, now - AGO)]
    )
    await _publish_as_of(bootstrap, now, [*_complaint(new_resolved, now), *_complaint(new_interim, now)])
    skipped_before = _skipped()

    async with running_followup(migrated.database_url, bootstrap, followup_consumer_group=group) as (app, _):

        async def contacts_known() -> bool:
            known = await db.fetchval(
                "SELECT count(*) FROM followup.contacts WHERE complaint_id = ANY($1::uuid[])",
                [o.complaint_id for o in orders],
            )
            return bool(known == 4)

        await wait_until(contacts_known, timeout=60)
        await _publish_as_of(
            bootstrap, now - AGO, [*_resolved(old_resolved, now - AGO), _interim_promised(old_interim, now - AGO)]
        )
        await _publish_as_of(bootstrap, now, [*_resolved(new_resolved, now), _interim_promised(new_interim, now)])

        async def all_handled() -> bool:
            callbacks = await db.fetchval(
                "SELECT count(*) FROM followup.callbacks WHERE complaint_id = ANY($1::uuid[])",
                [old_resolved.complaint_id, new_resolved.complaint_id],
            )
            old_interim_fired = await db.fetchval(
                "SELECT count(*) FROM followup.timers WHERE complaint_id = $1 AND stage = 'interim_reply' "
                "AND fired_at IS NOT NULL",
                old_interim.complaint_id,
            )
            new_told = await _customer_messages(db, new_interim) == ["complaint_received", "interim_reply"]
            return callbacks == 2 and old_interim_fired > 0 and new_told

        await wait_until(all_handled, timeout=60)
        # Every group started (the first ones consume while the last still join: CI70 looked before the last had).
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60, interval=0.2)

    assert await _customer_messages(db, new_resolved) == ["complaint_received", "case_resolved"], "control: told"
    assert await _customer_messages(db, new_interim) == ["complaint_received", "interim_reply"], "control: timer's"
    assert await _customer_messages(db, old_resolved) == [], "30 days old: no receipt, no resolution message"
    assert await _customer_messages(db, old_interim) == [], "nor an interim reply due 30 days ago"
    assert _skipped() - skipped_before == 2, "each message not sent is counted"

    keys = {str(o.complaint_id).encode() for o in (new_resolved, new_interim)}
    requested = await read_topic(
        bootstrap, topics.NOTIFICATION_REQUESTED, until=lambda rs: {r.key for r in rs} >= keys, timeout=60
    )
    old_keys = {str(o.complaint_id).encode() for o in (old_resolved, old_interim)}
    customer = [r for r in requested if r.key in old_keys and r.json()["payload"]["recipient"]["kind"] == "customer"]
    assert customer == [], "nothing for the old complaints on notify's topic either"
