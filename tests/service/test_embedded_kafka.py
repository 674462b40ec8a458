"""The embedded Apache Kafka node: durable across a clean stop and across SIGKILL (and back from a kill within its
short broker session), and the producers the services publish with are idempotent on the wire (each batch carries a
producer id, read back from the partition's log with Kafka's own DumpLogSegments tool)."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from embedded.broker import NODE_SETTINGS, EmbeddedBroker
from embedded.kafka_dist import class_archive, ensure_kafka, java_binary, record_class_archive
from shared.kafka.broker import build_broker
from shared.kafka.replay import assign_from_start, read_to_end
from shared.kafka.security import client_options
from shared.outbox import build_producer
from tests.support.infrastructure import session_broker
from tests.support.kafka import wait_until

#: The node's broker session (`NODE_SETTINGS`): how long a restart after a crash waits for the dead incarnation.
NODE_SESSION_S = int(NODE_SETTINGS["broker.session.timeout.ms"]) / 1000
TOPIC = "complaint.received"
WIRE_TOPIC = "complaint.routed"
GROUP = "test.embedded-kafka"
Offsets = dict[TopicPartition, int]


@pytest.fixture(scope="module")
async def kafka(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedBroker]:
    """One node for the module (a start is 10–40 s here): the durability test stops and restarts it and leaves it
    running; the idempotence test writes a topic of its own."""
    broker = session_broker(tmp_path_factory.mktemp("kafka"))
    await asyncio.to_thread(broker.start)
    try:
        await broker.acreate_topics([TOPIC, WIRE_TOPIC], 3)
        yield broker
    finally:
        await asyncio.to_thread(broker.stop)


async def test_the_node_maps_the_recorded_class_archive(kafka: EmbeddedBroker) -> None:
    """`make test` and `make run` record the server's class archive (`python -m embedded.kafka_dist`); a node maps
    it rather than loading its classes from the jars. A JVM that rejects an archive (another Java, other jars)
    starts without it, silently: the node's memory map is what tells."""
    libs = ensure_kafka()
    archive = await asyncio.to_thread(record_class_archive, libs)  # at once when already recorded
    assert archive == class_archive(libs) and archive.stat().st_size > 10_000_000
    assert kafka.pid is not None
    maps = Path(f"/proc/{kafka.pid}/maps").read_text()
    assert str(archive) in maps, f"the node does not map {archive}"


async def _publish_with_the_relay_producer(bootstrap: str, n: int, prefix: str, topic: str = TOPIC) -> None:
    producer = build_producer(bootstrap)
    await producer.start()
    try:
        await asyncio.gather(
            *[await producer.send(topic, f"{prefix}{i}".encode(), key=f"k{i}".encode()) for i in range(n)]
        )
    finally:
        await producer.stop()


async def _all_values(bootstrap: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        **client_options(), bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await assign_from_start(consumer, bootstrap, [TOPIC])
        return [r.value or b"" async for batch in read_to_end(consumer, partitions) for r in batch]
    finally:
        await consumer.stop()


async def _commit(bootstrap: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        **client_options(), bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def _committed(bootstrap: str, expected: Offsets) -> dict[TopicPartition, int | None]:
    """The group's committed offsets once they equal `expected`, or what was last read after 30 s.

    Polled: right after a start the node is still loading `__consumer_offsets`, and aiokafka (which
    ignores OffsetFetch's top-level COORDINATOR_LOAD_IN_PROGRESS) reads that as "nothing committed".
    A consumer in a group never sees this: its JoinGroup waits for the load.
    """
    consumer = AIOKafkaConsumer(
        **client_options(), bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(expected))
        return await wait_until(lambda: _read_committed(consumer, expected), timeout=30)
    except TimeoutError:
        return {tp: await consumer.committed(tp) for tp in expected}
    finally:
        await consumer.stop()


async def _read_committed(consumer: AIOKafkaConsumer, expected: Offsets) -> dict[TopicPartition, int | None] | None:
    found = {tp: await consumer.committed(tp) for tp in expected}
    return found if found == expected else None


def _refused_registration_for(log: Path, offset: int) -> float:
    """Seconds from the restarted node's first refused registration (the dead incarnation still registered) to the
    controller fencing that incarnation, which lets the node in: the session's length, 9 s at Kafka's default."""
    with log.open("rb") as fh:
        fh.seek(offset)
        text = fh.read().decode(errors="replace")
    stamp = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]"
    refused = re.search(stamp + r"[^\n]*DUPLICATE_BROKER_REGISTRATION", text)
    fenced = re.search(stamp + r"[^\n]*Fencing broker 1 at epoch \d+ because its session has timed out", text)
    if refused is None:  # the session had expired before the node asked: nothing to wait for
        return 0.0
    assert fenced is not None, "the restarted node was refused, and the dead incarnation was never fenced"
    at = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f") for m in (refused, fenced)]
    return (at[1] - at[0]).total_seconds()


async def test_records_and_committed_offsets_survive_a_clean_stop_and_a_kill(kafka: EmbeddedBroker) -> None:
    await _publish_with_the_relay_producer(kafka.bootstrap_servers, 300, "a")
    partitions = [TopicPartition(TOPIC, p) for p in range(3)]
    committed = {tp: 7 + tp.partition for tp in partitions}
    await _commit(kafka.bootstrap_servers, committed)
    port = kafka.port

    proc = kafka._proc
    assert proc is not None
    await asyncio.to_thread(kafka.stop)
    assert proc.returncode == 143, "SIGTERM ran the shutdown hooks (exit 128 + 15), no SIGKILL was needed"
    assert "shut down completed" in kafka.log_path.read_text().split("Transition from STARTING to STARTED")[-1]
    await asyncio.to_thread(kafka.start)
    assert kafka.port == port
    assert sorted(await _all_values(kafka.bootstrap_servers)) == sorted(f"a{i}".encode() for i in range(300))
    assert await _committed(kafka.bootstrap_servers, committed) == committed

    await _publish_with_the_relay_producer(kafka.bootstrap_servers, 200, "b")
    logged_before_kill = kafka.log_path.stat().st_size
    await asyncio.to_thread(kafka.kill)  # no flush, no clean-shutdown marker: the next start recovers the logs
    await asyncio.to_thread(kafka.start)
    assert _refused_registration_for(kafka.log_path, logged_before_kill) < NODE_SESSION_S + 2.0
    values = await _all_values(kafka.bootstrap_servers)
    assert len(values) == 500 and set(values) == {f"a{i}".encode() for i in range(300)} | {
        f"b{i}".encode() for i in range(200)
    }
    assert await _committed(kafka.bootstrap_servers, committed) == committed


async def test_service_publishes_are_idempotent_on_the_wire(kafka: EmbeddedBroker) -> None:
    """Both ways a service publishes (the outbox relay's producer, the FastStream broker's) write batches with
    a producer id; a non-idempotent producer writes producerId -1."""
    await _publish_with_the_relay_producer(kafka.bootstrap_servers, 30, "relay", WIRE_TOPIC)
    broker = build_broker(kafka.bootstrap_servers, client_id="test-idempotence")
    await broker.start()
    try:
        for i in range(30):
            await broker.publish(f"faststream{i}".encode(), WIRE_TOPIC, key=f"k{i}".encode())
    finally:
        await broker.stop()

    # The node stays up: an acknowledged batch is in its segment file (written, if not yet flushed to disk), which
    # DumpLogSegments reads as any reader of the file does.
    segments = sorted(str(p) for p in kafka.log_dirs.glob(f"{WIRE_TOPIC}-*/*.log"))
    dump = subprocess.run(
        [
            str(java_binary()),
            "-cp",
            f"{ensure_kafka()}/*",
            "kafka.tools.DumpLogSegments",
            "--files",
            ",".join(segments),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    producer_ids = [int(pid) for pid in re.findall(r"producerId: (-?\d+)", dump)]
    record_counts = [int(n) for n in re.findall(r"count: (\d+)", dump)]
    assert sum(record_counts) == 60, dump[-2000:]
    assert producer_ids and all(pid >= 0 for pid in producer_ids), f"batches without a producer id: {producer_ids}"
    assert len(set(producer_ids)) == 2, "one producer id for the relay's producer, one for the FastStream broker's"
