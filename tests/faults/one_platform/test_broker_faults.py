"""Fault suite, the broker: the Kafka node frozen for 30 s while complaints keep coming, then killed with
SIGKILL mid-stream (the runner restarts it on its data), then a poison message on every consumed topic in
the middle of traffic. On the package's platform (`python -m embedded`, see conftest.py); exact checks after
each stream as described in test_process_faults.py.
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

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared import topics
from shared.contracts import ComplaintReopened, ComplaintReopenedPayload, Severity, new_event
from tests.faults.support.checks import settle_and_check
from tests.faults.support.kafka import (
    GROUP_TOPICS,
    committed_offsets,
    consumers_reading,
    produce_to,
    producer,
    read_topics,
)
from tests.faults.support.ledger import Ledger, record_accepted
from tests.faults.support.probes import PROCESSED, outbox_backlog, partner_ticket_complaint, unprocessed_event_ids
from tests.support.complaint_streams import Poster, make_submissions
from tests.support.platform import ROOT, Platform, kill_kafka_and_await_restart

pytestmark = pytest.mark.faults

#: The broker outage of the issue, in full.
BROKER_OUTAGE_S = 30.0
#: The posting rate while the node is frozen (150 before, 750 during the 30 s, the rest after): 1,100 in all.
FREEZE_RATE = 25
#: The broker-kill stream's most complaints (120 s at 25 a second): it ends 200 after the node is back.
KILL_STREAM_MAX = 3000
#: Where the broker-kill scenario leaves its per-topic figures (git-ignored).
ARTIFACTS = ROOT / "test-artifacts"

#: Who dead-letters an undecodable message on each consumed topic (consumer names of the guarded handlers), from
#: the services' subscription tables, so a new consumer (channels' read model, its hotline pushes) is expected too.
POISON_CONSUMERS: dict[str, set[str]] = {
    topic: consumers_reading(topic)
    for topic in (
        topics.COMPLAINT_RECEIVED,
        topics.COMPLAINT_CONTACT,
        topics.COMPLAINT_ROUTED,
        topics.COMPLAINT_REOPENED,
        topics.WORKORDERS_REPAIR,
        topics.WORKORDERS_BILLING,
        topics.WORKORDERS_CUSTOMER_SERVICE,
        topics.COMPLAINT_ESCALATED,
        topics.CALLBACK_EVENTS,
        topics.COMPLAINT_CLOSED,
        topics.PARTNER_TICKETS,
        topics.DEPARTMENT_UPDATES,
        topics.INCIDENT_EVENTS,
        topics.OUTAGE_EVENTS,
        topics.OUTAGE_NOTICES,
        topics.CORRECTIVE_ACTIONS,
        topics.NOTIFICATION_REQUESTED,
        topics.NOTIFICATION_DELIVERY,
        topics.NOTIFICATION_FAILED,
    )
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
    """SIGSTOP freezes the Kafka node (the JVM) in place: connections stay open but nothing answers, so
    clients see a hung broker whose requests time out, for the whole 30 s (a dead process would refuse
    connections at once: see the next scenario). The runner restarts only a node that exited, so after
    SIGCONT the very same node carries on with everything it held."""
    began = time.monotonic()
    subs = make_submissions("broker", 1100)
    poster = Poster(platform.url("intake"), subs, concurrency=8, rate=FREEZE_RATE).start()
    node = platform.broker()
    try:
        await poster.wait_accepted(150)
        node.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            await asyncio.sleep(BROKER_OUTAGE_S)  # the outage itself: nothing to poll for
            # Every 202 received before this count was committed before it: its two events must be waiting.
            counted_at = time.monotonic()
            backlog = await outbox_backlog(platform, "intake")
        finally:
            node.send_signal(signal.SIGCONT)
            resumed_at, at_resume = time.monotonic(), poster.accepted
        assert at_resume < len(subs), "the broker came back mid-stream"
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    during = poster.outcomes_between(frozen_at, resumed_at)
    print(f"\n[broker] during the outage: {dict(during)}, intake outbox backlog {backlog}; {poster.summary()}")
    assert set(during) == {202}, f"intake answered other than 202 while the broker was down: {dict(during)}"
    assert during[202] >= 0.8 * BROKER_OUTAGE_S * FREEZE_RATE, "intake kept accepting at the posting rate"
    # A 202 is timed when it arrives: the requests in flight at the freeze (at most `concurrency`) may have committed,
    # and their events gone out, just before it (CI55: 751 answered after the freeze, 750 complaints' events waiting).
    waiting = poster.outcomes_between(frozen_at, counted_at)[202] - poster.concurrency
    assert backlog >= 2 * waiting, "nothing published while the broker was down: two events per complaint wait"
    assert platform.broker().pid == node.pid, "the same node carried on: a frozen one is not restarted"
    assert "kafka restarted" not in platform.runner_output()
    await settle_and_check(platform, ledger, "broker", began)


async def test_broker_killed_mid_stream_restarts_on_its_data_nothing_lost_or_doubled(
    platform: Platform, ledger: Ledger
) -> None:
    """At 100 complaints of a stream at 25 a second, the Kafka node gets SIGKILL: a crash, no flush, no
    clean-shutdown marker. The runner starts it again on the same ports and data folder, where Kafka recovers its
    logs (events, committed offsets, producers' sequence state); the services' clients reconnect. The stream goes
    on until 200 more were taken after the node answers again, however long its recovery takes (from under 20 s
    to over 40 s here, with the machine's load). Intake keeps accepting meanwhile (its outbox holds the events; a
    503 would be retried with the same Idempotency-Key). Afterwards each event is on its topic under one event
    id: a second copy may only be a relay's re-send of the same event (same id), which consumers skip."""
    began = time.monotonic()
    subs = make_submissions("kafka-kill", KILL_STREAM_MAX)
    poster = Poster(platform.url("intake"), subs, concurrency=8, rate=25).start()
    deaths = platform.runner_output().count("exited unexpectedly")
    try:
        await poster.wait_accepted(100)
        at_kill, killed_at = poster.accepted, time.monotonic()
        old_pid, new_pid, took = await kill_kafka_and_await_restart(platform)
        back_at, at_back = time.monotonic(), poster.accepted
        assert at_back < len(subs), "Kafka was back before the stream ended: traffic after the restart too"
        poster.stop_after(200)
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    during = poster.outcomes_between(killed_at, back_at)
    print(
        f"\n[kafka-kill] node {old_pid} -> {new_pid} at {at_kill}/{poster.limit} accepted, answering again after "
        f"{took:.1f}s (at {at_back} accepted); during the outage: {dict(during)}; {_recovery(platform)}; "
        f"{poster.summary()}"
    )
    output = platform.runner_output()
    assert "embedded kafka stopped unexpectedly" in output and "kafka restarted on its data" in output
    assert output.count("exited unexpectedly") == deaths, "no service died with the broker: their clients reconnected"
    await settle_and_check(platform, ledger, "kafka-kill", began)

    scenario = {s.complaint_id for s in subs if s.complaint_id}
    table, records = await _topic_table(platform, scenario)
    print("\n[kafka-kill] per topic after the restart (whole module so far; 'scenario' = this stream's complaints)")
    print(f"  {'topic':<44}{'records':>9}{'event ids':>11}{'copies':>8}{'scenario rec':>14}{'scenario ids':>14}")
    for name, row in table.items():
        print(
            f"  {name:<44}{row['records']:>9}{row['event_ids']:>11}{row['copies']:>8}"
            f"{row['scenario_records']:>14}{row['scenario_event_ids']:>14}"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "broker_kill_topics.json").write_text(
        json.dumps(
            {
                "scenario": "kafka-kill",
                "complaints_posted": poster.limit,
                "killed_at_accepted": at_kill,
                "back_at_accepted": at_back,
                "kafka_back_after_s": round(took, 1),
                "module_complaints": len(ledger),
                "topics": table,
            },
            indent=2,
        )
        + "\n"
    )
    for name, row in table.items():
        assert row["undecodable"] == 0, f"{name}: records without an event id: {row}"
        assert row["event_ids"] == row["records"] - row["copies"]
    # Nothing missing: the stream's four events per complaint are each on their topic (settle_and_check's
    # topic check counted one event id per event), and every one of those event ids reached every consumer
    # that reads its topic.
    assert sum(table[t]["scenario_event_ids"] for t in EVENT_TOPICS) == 4 * len(scenario)
    unprocessed = await _unprocessed(platform, records, scenario)
    assert not unprocessed, f"event ids on the topics that a consumer never processed: {unprocessed}"
    # Last, as in the database scenario: a broker outage may cost a 503 (retried), never a 500.
    others = {k: v for k, v in poster.statuses.items() if k not in (202, 503)}
    assert not others, f"intake answered other than 202 or 503 while Kafka restarted: {others}"


async def test_poison_on_every_consumed_topic_is_dead_lettered_and_nothing_behind_it_is_stuck(
    platform: Platform, ledger: Ledger
) -> None:
    """At 300 of 1,000 accepted, an undecodable record on every topic a consumer of ours reads, each on
    its own partition; right behind three of them valid messages that must still be handled. Each poison
    lands in `<topic>.dlq` once per consumer group that reads the topic, with its reason and origin; the
    partitions move on (every group commits to the end) and every complaint is handled exactly once."""
    began = time.monotonic()
    bootstrap = platform.bootstrap
    subs = make_submissions("poison", 1000)
    poster = Poster(platform.url("intake"), subs, concurrency=16).start()
    poisons: dict[str, tuple[bytes, int, int]] = {}
    try:
        async with producer(bootstrap) as sender:
            await poster.wait_accepted(300)
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

    complaint_id, reference_no = await partner_ticket_complaint(platform, followers["ticket_id"])
    ledger.add_complaint(complaint_id, "partner_12345", reference_no)
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


EVENT_TOPICS = tuple(PROCESSED)


async def _topic_table(
    platform: Platform, scenario: set[str]
) -> tuple[dict[str, dict[str, int]], list[ConsumerRecord]]:
    """Per topic of the platform: records, distinct event ids, copies (records beyond the first of an event
    id: relay re-sends), undecodable records (none expected here), and the same for this stream's
    complaints (records keyed by their complaint id)."""
    records = await read_topics(platform.bootstrap, topics.ALL_TOPICS)
    table: dict[str, dict[str, int]] = {}
    for name in topics.ALL_TOPICS:
        ids = [_event_id(r) for r in records if r.topic == name]
        theirs = [_event_id(r) for r in records if r.topic == name and _key(r) in scenario]
        known = [i for i in ids if i is not None]
        table[name] = {
            "records": len(ids),
            "event_ids": len(set(known)),
            "copies": len(known) - len(set(known)),
            "undecodable": len(ids) - len(known),
            "scenario_records": len(theirs),
            "scenario_event_ids": len({i for i in theirs if i is not None}),
        }
    return table, records


def _event_id(record: ConsumerRecord) -> str | None:
    """The `event_id` of the record's JSON event (None when it has none)."""
    try:
        return str(json.loads(record.value)["event_id"])
    except (ValueError, TypeError, KeyError):
        return None


def _key(record: ConsumerRecord) -> str:
    return (record.key or b"").decode(errors="replace")


async def _unprocessed(platform: Platform, records: list[ConsumerRecord], scenario: set[str]) -> dict[str, int]:
    """Per (topic, consumer): how many of this stream's event ids on the topic it never processed."""
    on_topics = {
        topic: {uuid.UUID(str(_event_id(r))) for r in records if r.topic == topic and _key(r) in scenario}
        for topic in EVENT_TOPICS
    }
    return await unprocessed_event_ids(platform, on_topics)


def _recovery(platform: Platform) -> str:
    """What the restarted node's log says about recovering its logs (the last such line), for the report."""
    path = platform.data_dir / "kafka.log"
    lines = [line for line in path.read_text(errors="replace").splitlines() if "Loaded" in line and " logs in " in line]
    return lines[-1].split("] ", 1)[-1][:160] if lines else "no log-loading line in kafka.log"


def _groups_reading(topic: str) -> list[str]:
    return [group for group, names in GROUP_TOPICS.items() if topic in names]
