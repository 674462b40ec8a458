"""Issue 26's leftover: an OffsetFetch answer whose top-level error says the coordinator cannot answer yet (v2 and
later: COORDINATOR_LOAD_IN_PROGRESS after a broker restart, NOT_COORDINATOR after a move) is not "nothing committed".

aiokafka's own code runs against a stand-in for its network client that answers as a broker would: each request's
version negotiated as with Kafka 3.9 (OffsetFetch v0–v8, so aiokafka's highest, v3) and the answer in that version's
response class, encoded and decoded as on the wire. Unpatched, both the consumer's coordinator and the admin client
return no offsets for the "loading" answer — the consumer then resets the partition to earliest and replays it."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.errors import GroupLoadInProgressError, NotCoordinatorForGroupError
from aiokafka.structs import OffsetAndMetadata

from shared.kafka.offsets import committed_offsets

LOADING, NOT_COORDINATOR = GroupLoadInProgressError.errno, NotCoordinatorForGroupError.errno
TP = TopicPartition("complaint.routed", 3)
#: A healthy answer: the group committed 42 on the partition.
COMMITTED: tuple[int, list[Any]] = (0, [(TP.topic, [(TP.partition, 42, "", 0)])])
#: The coordinator's "not yet": the error at the top, no partitions (what Kafka sends from v2 on).
NOT_YET: tuple[int, list[Any]] = (LOADING, [])


class StandInBroker:
    """aiokafka's client, answering OffsetFetch with `answers` (top-level error code, topics) in turn."""

    #: API key → the versions the broker supports: OffsetFetch, FindCoordinator (Kafka 3.9).
    VERSIONS: ClassVar[dict[int, tuple[int, int]]] = {9: (0, 8), 10: (0, 4)}

    def __init__(self, *answers: tuple[int, list[Any]]) -> None:
        self.answers = list(answers)
        self.versions_asked: list[int] = []

    def get_random_node(self) -> int:
        return 0

    async def send(self, node_id: int, request: Any, **_: Any) -> Any:
        struct = request.prepare(self.VERSIONS)
        if struct.API_KEY == 9:
            self.versions_asked.append(struct.API_VERSION)
            error_code, topics = self.answers.pop(0)
            fields = {"throttle_time_ms": 0, "topics": topics, "error_code": error_code}
        else:
            fields = {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "coordinator_id": 0}
            fields |= {"host": "localhost", "port": 9092}
        response_type = struct.RESPONSE_TYPE
        answer = response_type(**{name: fields[name] for name in response_type.SCHEMA.names})
        return response_type.decode(answer.encode())


def coordinator(broker: StandInBroker) -> GroupCoordinator:
    """The consumer's real coordinator, its group's coordinator known (node 0), without its background tasks."""
    found = GroupCoordinator.__new__(GroupCoordinator)
    found._client, found.group_id, found.coordinator_id = broker, "followup.timers", 0
    found._retry_backoff_ms = 1
    found._coordinator_dead_fut = asyncio.get_running_loop().create_future()
    return found


async def test_the_consumer_retries_a_loading_answer_instead_of_reading_nothing_committed() -> None:
    broker = StandInBroker(NOT_YET, NOT_YET, COMMITTED)
    group = coordinator(broker)
    with pytest.raises(GroupLoadInProgressError):
        # What the coordinator runs when it is given partitions: a retriable error is asked again after a back-off,
        # where an empty answer set every partition to "no committed offset" (→ auto_offset_reset).
        await group._do_fetch_commit_offsets([TP])
    assert await group.fetch_committed_offsets([TP]) == {TP: OffsetAndMetadata(42, "")}
    assert broker.versions_asked == [3, 3, 3], "the version whose answer carries a top-level error"


async def test_a_not_coordinator_answer_sends_the_consumer_to_find_its_coordinator_again() -> None:
    group = coordinator(StandInBroker((NOT_COORDINATOR, [])))
    with pytest.raises(NotCoordinatorForGroupError):
        await group._do_fetch_commit_offsets([TP])
    assert group.coordinator_id is None and group._coordinator_dead_fut.done(), "marked dead: found again"


async def test_an_admin_reading_waits_out_a_loading_coordinator() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers="localhost:9092")
    admin._client = StandInBroker(NOT_YET, COMMITTED)
    assert await committed_offsets(admin, "followup.timers", [TP]) == {TP: 42}


async def test_an_admin_reading_fails_past_its_deadline_rather_than_say_nothing_committed() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers="localhost:9092")
    admin._client = StandInBroker(*[NOT_YET] * 3)
    with pytest.raises(GroupLoadInProgressError):
        await committed_offsets(admin, "followup.timers", [TP], timeout_s=0.25)


async def test_a_group_that_never_committed_reads_minus_one() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers="localhost:9092")
    admin._client = StandInBroker((0, [(TP.topic, [(TP.partition, -1, "", 0)])]))
    assert await committed_offsets(admin, "followup.timers", [TP]) == {TP: -1}
