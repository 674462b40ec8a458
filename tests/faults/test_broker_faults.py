"""Fault suite, the broker: Tansu frozen for 30 s while complaints keep coming, then a poison message on
every consumed topic in the middle of traffic, then reporting rebuilt from offset 0 against its live read
models. One platform (`python -m embedded`) for the module; exact checks after each stream as described in
test_process_faults.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from shared import topics
from shared.contracts import ComplaintReopened, ComplaintReopenedPayload, Severity, new_event
from tests.faults.support import (
    GROUP_TOPICS,
    Ledger,
    Platform,
    Poster,
    assert_no_personal_data,
    assert_rebuild_equals_live,
    committed_offsets,
    make_submissions,
    produce_to,
    producer,
    read_topics,
    record_accepted,
    settle_and_check,
)
from tests.support.kafka import wait_until

pytestmark = pytest.mark.faults

#: The broker outage of the issue, in full.
BROKER_OUTAGE_S = 30.0

#: Who dead-letters an undecodable message on each consumed topic (consumer names of the guarded handlers).
POISON_CONSUMERS: dict[str, set[str]] = {
    topics.COMPLAINT_RECEIVED: {"dispatch.complaint-received", "reporting.read-models"},
    topics.COMPLAINT_CONTACT: {"followup.complaint-contact", "reporting.read-models"},
    topics.COMPLAINT_ROUTED: {"reporting.read-models"},
    topics.COMPLAINT_REOPENED: {"dispatch.complaint-reopened", "reporting.read-models"},
    topics.WORKORDERS_REPAIR: {"followup.work-orders", "reporting.read-models"},
    topics.WORKORDERS_BILLING: {"followup.work-orders", "reporting.read-models"},
    topics.WORKORDERS_CUSTOMER_SERVICE: {"followup.work-orders", "reporting.read-models"},
    topics.COMPLAINT_ESCALATED: {"reporting.read-models"},
    topics.CALLBACK_EVENTS: {"reporting.read-models"},
    topics.COMPLAINT_CLOSED: {"reporting.read-models"},
    topics.PARTNER_TICKETS: {"intake.partner-tickets"},
    topics.DEPARTMENT_UPDATES: {"dispatch.department-updates"},
}
#: Topics that carry the streams' own traffic: records behind the poison must have been processed.
BUSY_TOPICS = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_CONTACT,
    topics.COMPLAINT_ROUTED,
    topics.WORKORDERS_REPAIR,
    topics.WORKORDERS_BILLING,
    topics.WORKORDERS_CUSTOMER_SERVICE,
)


async def test_broker_frozen_30_s_intake_keeps_accepting_and_all_is_routed_once(
    platform: Platform, ledger: Ledger
) -> None:
    """SIGSTOP freezes Tansu without losing its in-memory topics (stopping it would: the runner would
    restart it empty). Clients see a dead broker: timeouts, no answers, for the whole 30 s."""
    began = time.monotonic()
    subs = make_submissions("broker", 1500)
    poster = Poster(platform.url("intake"), subs, concurrency=8, rate=40).start()
    tansu = platform.broker()
    try:
        await poster.wait_accepted(150)
        conn = await asyncpg.connect(platform.dsn)
        try:
            tansu.send_signal(signal.SIGSTOP)
            frozen_at = time.monotonic()
            try:
                await asyncio.sleep(BROKER_OUTAGE_S)  # the outage itself: nothing to poll for
                backlog = await conn.fetchval("SELECT count(*) FROM intake.outbox")
            finally:
                tansu.send_signal(signal.SIGCONT)
                resumed_at, at_resume = time.monotonic(), poster.accepted
        finally:
            await conn.close()
        assert at_resume < len(subs), "the broker came back mid-stream"
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    during = poster.outcomes_between(frozen_at, resumed_at)
    print(f"\n[broker] during the outage: {dict(during)}, intake outbox backlog {backlog}; {poster.summary()}")
    assert set(during) == {202}, f"intake answered other than 202 while the broker was down: {dict(during)}"
    assert during[202] >= 0.8 * BROKER_OUTAGE_S * 40, "intake kept accepting at the posting rate"
    assert backlog >= 2 * during[202], "nothing published while the broker was down: two events per complaint wait"
    assert platform.broker().pid == tansu.pid, "the same broker (its topics intact), not a restarted empty one"
    assert "kafka restarted" not in platform.runner_output()
    await settle_and_check(platform, ledger, "broker", began)


async def test_poison_on_every_consumed_topic_is_dead_lettered_and_nothing_behind_it_is_stuck(
    platform: Platform, ledger: Ledger
) -> None:
    """At 600 of 2,000 accepted, an undecodable record on every topic a consumer of ours reads, each on
    its own partition; right behind three of them valid messages that must still be handled. Each poison
    lands in `<topic>.dlq` once per consumer group that reads the topic, with its reason and origin; the
    partitions move on (every group commits to the end) and every complaint is handled exactly once."""
    began = time.monotonic()
    bootstrap = platform.bootstrap
    subs = make_submissions("poison", 2000)
    poster = Poster(platform.url("intake"), subs, concurrency=16).start()
    poisons: dict[str, tuple[bytes, int, int]] = {}
    try:
        async with producer(bootstrap) as sender:
            await poster.wait_accepted(600)
            at_poison = poster.accepted
            for i, topic in enumerate(POISON_CONSUMERS):
                key = f"poison-{uuid.uuid4().hex}".encode()
                ledger.poison_keys.add(key)
                partition = i % 12
                offset = await produce_to(
                    sender, topic, b'{"event_type": "complaint.received", ', key=key, partition=partition
                )
                poisons[topic] = (key, partition, offset)
                ledger.undecodable[topic] += 1
            # Right behind three of the poisons, on the same partitions: valid messages that must be handled.
            followers = await _produce_followers(sender, poisons, ledger)
            after_poison = poster.accepted
        assert after_poison < len(subs) - 200, "poison in the middle of the traffic"
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)

    ticket_id = followers["ticket_id"]
    conn = await asyncpg.connect(platform.dsn)
    try:
        ticket = await wait_until(
            lambda: conn.fetchrow(
                "SELECT complaint_id, reference_no FROM intake.complaints WHERE channel_ticket_id = $1", ticket_id
            ),
            timeout=60,
        )
    finally:
        await conn.close()
    ledger.add_complaint(str(ticket["complaint_id"]), "partner_12345", ticket["reference_no"])
    print(f"\n[poison] produced while {at_poison}..{after_poison} of {len(subs)} complaints were accepted")
    await settle_and_check(platform, ledger, "poison", began)

    letters = await read_topics(bootstrap, [topics.dead_letter_topic(t) for t in POISON_CONSUMERS])
    for topic, (key, partition, offset) in poisons.items():
        mine = [r for r in letters if r.key == key]
        by_consumer = Counter(dict(r.headers)["dlq.consumer"].decode() for r in mine)
        assert by_consumer == dict.fromkeys(POISON_CONSUMERS[topic], 1), (topic, by_consumer)
        for r in mine:
            h = {k: v.decode() for k, v in r.headers}
            assert r.topic == topics.dead_letter_topic(topic)
            assert h["dlq.reason"].startswith("invalid message"), h["dlq.reason"]
            assert (h["dlq.original_topic"], h["dlq.original_partition"], h["dlq.original_offset"]) == (
                topic,
                str(partition),
                str(offset),
            )
            assert (h["dlq.error_type"], h["dlq.attempts"]) == ("ValidationError", "1")
    reopened = [r for r in letters if r.key == followers["reopened_key"]]
    assert [{k: v.decode() for k, v in r.headers}["dlq.consumer"] for r in reopened] == ["dispatch.complaint-reopened"]
    h = {k: v.decode() for k, v in reopened[0].headers}
    assert (h["dlq.error_type"], h["dlq.attempts"]) == ("LookupError", "3"), "retried a bounded number of times"
    assert "never routed" in h["dlq.reason"]
    update = [r for r in letters if r.key == followers["update_key"]]
    assert len(update) == 1
    h = {k: v.decode() for k, v in update[0].headers}
    assert (h["dlq.consumer"], h["dlq.error_type"], h["dlq.attempts"]) == (
        "dispatch.department-updates",
        "PoisonMessage",
        "1",
    )
    assert "NotFound" in h["dlq.reason"]

    # Traffic behind each poison flowed: on busy topics, later records of the same partition were processed
    # (the exact checks above cover every accepted complaint); on every topic, each group that reads it
    # committed past the poison (wait_quiet: every group is at the true end of every partition).
    records = await read_topics(bootstrap, BUSY_TOPICS)
    for topic in BUSY_TOPICS:
        _, partition, offset = poisons[topic]
        behind = [
            r
            for r in records
            if r.topic == topic and r.partition == partition and r.offset > offset and r.key.decode() in ledger.channels
        ]
        assert behind, f"{topic}: no accepted complaint's record behind the poison on partition {partition}"
    for topic, (_, partition, offset) in poisons.items():
        for group in _groups_reading(topic):
            tp = TopicPartition(topic, partition)
            committed = (await committed_offsets(bootstrap, group, [tp]))[tp]
            assert committed > offset, f"{group} did not move past the poison on {topic}/{partition}"


async def _produce_followers(
    sender: AIOKafkaProducer, poisons: dict[str, tuple[bytes, int, int]], ledger: Ledger
) -> dict[str, Any]:
    """Valid messages right behind the poisons on three otherwise quiet topics:
    - a partner ticket, which must become a complaint like any other;
    - a department update for a work order that does not exist, dead-lettered at once (a business rule);
    - a reopening of a complaint dispatch never routed: its handler fails every time, so dispatch retries
      a bounded number of times and dead-letters it; reporting, which reads everything, records it."""
    ticket_id = f"poison-follower-{uuid.uuid4().hex[:8]}"
    ticket = {
        "source": "12345",
        "ticket_id": ticket_id,
        "received_at": datetime.now(UTC).isoformat(),
        "caller_name": "钱七",
        "caller_phone": "13700137000",
        "account_no": f"FLT-ticket-{uuid.uuid4().hex[:8]}",
        "address": "沈河区北站路1号",
        "district": "shenhe",
        "content": "这个月的电费账单比平时高了一倍，用电量没有变化，要求核实。",
    }
    _, partition, _ = poisons[topics.PARTNER_TICKETS]
    await produce_to(sender, topics.PARTNER_TICKETS, json.dumps(ticket).encode(), key=b"t", partition=partition)

    update_key = f"update-{uuid.uuid4().hex}".encode()
    update = {
        "update_id": str(uuid.uuid4()),
        "work_order_id": str(uuid.uuid4()),
        "department": "repair",
        "actor": "fault-suite",
        "action": "acknowledge",
    }
    _, partition, _ = poisons[topics.DEPARTMENT_UPDATES]
    await produce_to(
        sender, topics.DEPARTMENT_UPDATES, json.dumps(update).encode(), key=update_key, partition=partition
    )

    orphan = uuid.uuid4()
    event = new_event(
        ComplaintReopened,
        complaint_id=orphan,
        producer="fault-suite",
        correlation_id=f"fault-{orphan}",
        payload=ComplaintReopenedPayload(
            complaint_id=orphan,
            reference_no="TS-20000101-000001",
            reason="fault suite: a complaint nobody routed",
            previous_work_order_id=None,
            severity=Severity.SERIOUS,
            reopen_count=1,
            reopened_at=datetime.now(UTC),
        ),
    )
    _, partition, _ = poisons[topics.COMPLAINT_REOPENED]
    reopened_key = str(orphan).encode()
    await produce_to(
        sender, topics.COMPLAINT_REOPENED, event.model_dump_json().encode(), key=reopened_key, partition=partition
    )
    ledger.orphans.add(str(orphan))
    ledger.poison_keys.update({update_key, reopened_key})
    return {"ticket_id": ticket_id, "update_key": update_key, "reopened_key": reopened_key}


def _groups_reading(topic: str) -> list[str]:
    return [group for group, names in GROUP_TOPICS.items() if topic in names]


async def test_reporting_rebuilt_from_offset_zero_equals_the_live_read_models(
    platform: Platform, ledger: Ledger
) -> None:
    assert len(ledger) > 0, "runs after the module's scenarios"
    await assert_rebuild_equals_live(platform, ledger)


async def test_no_phone_or_name_in_any_log_dead_letter_or_shared_topic(platform: Platform, ledger: Ledger) -> None:
    """Runs last: after every fault of the module (crash tracebacks, outage retries, dead letters)."""
    print(f"\n[privacy] {await assert_no_personal_data(platform, ledger)}")
