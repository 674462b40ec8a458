"""Consumer groups seen from outside their consumers (issue 26): for each group, its state and members, and per
partition of every topic it reads what it committed and where the partition ends.

Why from outside: lag reported by a consumer from its own assignment vanishes with the consumer — a group whose
member died, or whose consumer loop stopped while the process lives (a followup group stopped for good after a broker
kill once, unnoticed), published no series at all, so `ConsumerLagGrowing` could not fire. Read through the admin
API (DescribeGroups in `shared.kafka.group_states`, OffsetFetch) and a group-less consumer's end offsets, the numbers
exist whether or not anyone consumes: an empty group shows `kafka_group_members 0` and a lag that grows, a stalled
one a committed offset that does not move (`ConsumerGroupStalled`, `ConsumerGroupEmpty` in deploy/observability).
A coordinator still loading the group's offsets (after a broker kill) is waited out, not read as "nothing committed"
(`shared.kafka.offsets.committed_offsets`): a committed offset that dropped to 0 for a scrape was a lag spike.
Every replica of a service reports the same figures for its groups: alert on `max by`, not `sum by`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka.admin import topic_partitions
from shared.kafka.group_states import group_states
from shared.kafka.offsets import committed_offsets
from shared.kafka.security import KafkaSecuritySettings, client_options
from shared.observability.metrics import GROUP_COMMITTED, GROUP_LAG, GROUP_MEMBERS


@dataclass(frozen=True)
class GroupReading:
    """One group at one moment: `state` as the coordinator says it (Stable, Empty, PreparingRebalance, Dead…)."""

    group: str
    state: str
    members: int
    #: Per partition: (committed offset, or 0 when the group never committed there; end offset).
    offsets: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)

    def lag(self, tp: TopicPartition) -> int:
        committed, end = self.offsets[tp]
        return max(0, end - committed)


class GroupProbe:
    """Reads `groups` (group id → the topics it consumes) on demand; a client per reading (a scrape every few
    seconds at most), so nothing is held open between them."""

    def __init__(
        self, bootstrap_servers: str, groups: Mapping[str, Sequence[str]], security: KafkaSecuritySettings | None
    ) -> None:
        self.bootstrap_servers, self.groups, self.security = bootstrap_servers, dict(groups), security

    async def read(self) -> list[GroupReading]:
        names = sorted({t for ts in self.groups.values() for t in ts})
        partitions = await topic_partitions(self.bootstrap_servers, names, self.security)
        ends = await self._ends(partitions)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **client_options(self.security))
        await admin.start()
        try:
            states = await group_states(admin, sorted(self.groups))
            readings = []
            for group, topics in sorted(self.groups.items()):
                mine = [tp for tp in partitions if tp.topic in topics]
                found = await committed_offsets(admin, group, mine)
                offsets = {tp: (max(found[tp], 0), ends[tp]) for tp in mine}
                state, members = states.get(group, ("Dead", 0))
                readings.append(GroupReading(group, state, members, offsets))
            return readings
        finally:
            await admin.close()

    async def _ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, group_id=None, **client_options(self.security)
        )
        await consumer.start()
        try:
            return dict(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()


def group_probe_sampler(probe: GroupProbe) -> Callable[[], Awaitable[dict[str, GroupReading]]]:
    """A reading of `probe` published as `kafka_group_lag` and `kafka_group_committed_offset` per partition and
    `kafka_group_members` per group (its state a label); returns the reading, by group."""
    members_seen: set[tuple[str, str]] = set()

    async def sample_groups() -> dict[str, GroupReading]:
        readings = {r.group: r for r in await probe.read()}
        current: set[tuple[str, str]] = set()
        for reading in readings.values():
            for tp, (committed, _end) in reading.offsets.items():
                labels = (reading.group, tp.topic, str(tp.partition))
                GROUP_LAG.labels(*labels).set(reading.lag(tp))
                GROUP_COMMITTED.labels(*labels).set(committed)
            GROUP_MEMBERS.labels(reading.group, reading.state).set(reading.members)
            current.add((reading.group, reading.state))
        for gone in members_seen - current:  # the state changed: the old state's series goes
            GROUP_MEMBERS.remove(*gone)
        members_seen.clear()
        members_seen.update(current)
        return readings

    return sample_groups
