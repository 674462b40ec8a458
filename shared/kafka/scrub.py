"""Taking one person's records out of the topics that carry contact data in clear (issue 25, erasure).

Why: crypto-shredding reaches every copy sealed with the customer's key, but what a partner hotline or the channels
service hands intake (`ingress.partner-tickets`, `ingress.channel-messages`) is in clear, as the sender wrote it, and
so are its dead letters. Their finite retention erases those copies within 30 days; an erasure must not wait that
long. Kafka cannot delete one record, only everything before an offset (DeleteRecords), so:

- on a topic a service consumes, records before the consumer group's committed offset have been taken and nothing
  reads them again (no rebuild reads an ingress topic): the partition is cut just past the person's last record,
  once the group has committed past it — until then the partition waits, and the caller tries again later;
- on a dead-letter topic every record is kept for an operator's replay, so the partition is rewritten: everyone
  else's records from its start to its end are published again, to the same partition with their key, headers and
  timestamp, and then everything before the old end is deleted. A crash between the two leaves the others' dead
  letters twice, never lost (a replay is deduplicated by event id); running the scrub again finishes the job.

The caller decides what is "the person's" (`matches`); nothing here knows a phone number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.errors import GroupCoordinatorNotAvailableError

from shared.kafka.admin import topic_partitions
from shared.kafka.replay import read_to_end
from shared.kafka.security import KafkaSecuritySettings, client_options


@dataclass
class ScrubReport:
    """What one scrub did: the person's records found, partitions cut or rewritten, others' records kept."""

    matched: int = 0
    cut: dict[TopicPartition, int] = field(default_factory=dict)
    rewritten: dict[TopicPartition, int] = field(default_factory=dict)
    #: Partitions holding a matching record their group has not committed past yet: scrub again later.
    waiting: list[TopicPartition] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.waiting


@dataclass
class _Partition:
    end: int
    last_match: int = -1
    matched: int = 0
    others: list[ConsumerRecord] = field(default_factory=list)


async def scrub(
    bootstrap_servers: str,
    *,
    consumed: Mapping[str, str],
    dead_letters: Sequence[str],
    matches: Callable[[ConsumerRecord], bool],
    security: KafkaSecuritySettings | None = None,
) -> ScrubReport:
    """Remove every record `matches` accepts from `consumed` (topic → the group that consumes it) and from
    `dead_letters`, as far as both are written when it starts."""
    scanned = await _scan(bootstrap_servers, [*consumed, *dead_letters], set(dead_letters), matches, security)
    report = ScrubReport(matched=sum(p.matched for p in scanned.values()))
    hit = {tp: p for tp, p in scanned.items() if p.matched}
    if not hit:
        return report
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options(security))
    await admin.start()
    try:
        cuts = await _cuts(admin, {tp: p for tp, p in hit.items() if tp.topic in consumed}, consumed, report)
        rewrites = {tp: p for tp, p in hit.items() if tp.topic not in consumed}
        if rewrites:
            await _republish(bootstrap_servers, rewrites, security)
            cuts.update({tp: p.end for tp, p in rewrites.items()})
            report.rewritten = {tp: len(p.others) for tp, p in rewrites.items()}
        if cuts:
            await admin.delete_records({tp: RecordsToDelete(before_offset=o) for tp, o in cuts.items()})
        report.cut = {tp: o for tp, o in cuts.items() if tp.topic in consumed}
    finally:
        await admin.close()
    return report


async def _scan(
    bootstrap_servers: str,
    names: list[str],
    keep_others: set[str],
    matches: Callable[[ConsumerRecord], bool],
    security: KafkaSecuritySettings | None,
) -> dict[TopicPartition, _Partition]:
    """Every partition read from its start to its end now; on `keep_others` topics the non-matching records kept."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False, **client_options(security)
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(bootstrap_servers, names, security)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        scanned = {tp: _Partition(ends[tp]) for tp in partitions}
        async for batch in read_to_end(consumer, partitions):
            for record in batch:
                state = scanned[TopicPartition(record.topic, record.partition)]
                if matches(record):
                    state.matched += 1
                    state.last_match = max(state.last_match, record.offset)
                elif record.topic in keep_others:
                    state.others.append(record)
        return scanned
    finally:
        await consumer.stop()


async def _cuts(
    admin: AIOKafkaAdminClient,
    hit: dict[TopicPartition, _Partition],
    consumed: Mapping[str, str],
    report: ScrubReport,
) -> dict[TopicPartition, int]:
    """Where each consumed partition may be cut: past its last match, once its group committed past that."""
    cuts: dict[TopicPartition, int] = {}
    for group in sorted({consumed[tp.topic] for tp in hit}):
        mine = [tp for tp in hit if consumed[tp.topic] == group]
        try:
            committed = await admin.list_consumer_group_offsets(group, partitions=mine)
        except GroupCoordinatorNotAvailableError:  # the group's coordinator is still being elected: ask later
            committed = {}
        for tp in mine:
            offset = committed.get(tp)
            if offset is not None and offset.offset > hit[tp].last_match:
                cuts[tp] = hit[tp].last_match + 1
            else:
                report.waiting.append(tp)
    return cuts


async def _republish(
    bootstrap_servers: str, rewrites: dict[TopicPartition, _Partition], security: KafkaSecuritySettings | None
) -> None:
    """Everyone else's records again, at the end of their own partition, in their order; all acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True, **client_options(security)
    )
    await producer.start()
    try:
        sent = [
            await producer.send(
                tp.topic,
                value=r.value,
                key=r.key,
                partition=tp.partition,
                timestamp_ms=r.timestamp,
                headers=list(r.headers or ()),
            )
            for tp, p in rewrites.items()
            for r in p.others
        ]
        for future in sent:
            await future
    finally:
        await producer.stop()
