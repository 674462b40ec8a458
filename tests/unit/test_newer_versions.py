"""Issue 26, upgrades (`shared.kafka.versions`): an event of a newer schema version than the consumer reads is not
dead-lettered — what came before it in the batch is handled, it is nacked for redelivery (counted), and a consumer
that knows the version handles it. Older, malformed and unknown-type records are judged as before."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from aiokafka import ConsumerRecord
from pydantic import BaseModel, Field

from shared.contracts import ComplaintReceived, WorkOrderAssigned
from shared.kafka.consumer import GuardedHandler
from shared.kafka.versions import NewerVersion, known_versions, newer_than_known
from shared.observability.metrics import CONSUMER_NEWER_VERSIONS


class NoteV1(BaseModel):
    event_id: str
    event_type: Literal["note.added"]
    schema_version: Literal[1] = 1


class NoteV2(NoteV1):
    schema_version: Literal[1, 2] = 2  # type: ignore[assignment]


class Broker:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, value: bytes, *, topic: str, key: object, headers: object) -> None:
        self.published.append(topic)


def _record(offset: int, **body: Any) -> ConsumerRecord[bytes, bytes]:
    value = json.dumps(body).encode()
    return ConsumerRecord("notes", 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


def test_the_highest_version_read_is_known_per_event_type() -> None:
    assert known_versions(ComplaintReceived) == {"complaint.received": 5}
    either = Annotated[ComplaintReceived | WorkOrderAssigned, Field(discriminator="event_type")]
    assert known_versions(either) == {"complaint.received": 5, "workorder.assigned": 4}


def test_only_a_known_type_with_a_higher_version_is_newer() -> None:
    known = {"note.added": 1}
    assert isinstance(newer_than_known(b'{"event_type": "note.added", "schema_version": 99}', known), NewerVersion)
    assert newer_than_known(b'{"event_type": "note.added", "schema_version": 1}', known) is None
    assert newer_than_known(b'{"event_type": "other.thing", "schema_version": 99}', known) is None
    assert newer_than_known(b'{"event_type": "note.added", "schema_version": "99"}', known) is None
    assert newer_than_known(b"not json", known) is None


async def test_a_newer_event_is_redelivered_until_a_consumer_knows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr("shared.kafka.consumer.asyncio.sleep", no_wait)
    broker, handled = Broker(), []

    async def handle(batch: list[NoteV1]) -> None:
        handled.extend((n.event_id, n.schema_version) for n in batch)

    batch = [
        _record(0, event_id="a", event_type="note.added", schema_version=1),
        _record(1, event_id="b", event_type="note.added", schema_version=2),
        _record(2, event_id="c", event_type="note.added", schema_version=1),
    ]
    old = GuardedHandler(broker=broker, consumer="old", model=NoteV1, handle=handle, transient_pause_s=0)
    counted = CONSUMER_NEWER_VERSIONS.labels("old", "notes")._value.get()
    for _ in range(3):  # Kafka redelivers the batch from the newer event's partition position each time
        with pytest.raises(NewerVersion):
            await old._handle_records(batch)
    assert handled == [("a", 1)] * 3, "what came before it is handled (and deduplicated downstream by event id)"
    assert broker.published == [] and old.dead_lettered == 0, "never dead-lettered"
    assert CONSUMER_NEWER_VERSIONS.labels("old", "notes")._value.get() == counted + 3
    new = GuardedHandler(broker=broker, consumer="new", model=NoteV2, handle=handle, transient_pause_s=0)
    handled.clear()
    await new._handle_records(batch)
    assert handled == [("a", 1), ("b", 2), ("c", 1)], "the upgraded consumer handles it, in order"


async def test_an_invalid_record_of_a_known_version_is_still_a_dead_letter() -> None:
    broker = Broker()

    async def handle(batch: list[NoteV1]) -> None:
        return None

    guard = GuardedHandler(broker=broker, consumer="old", model=NoteV1, handle=handle, transient_pause_s=0)
    await guard._handle_records([_record(0, event_type="note.added", schema_version=1)])  # no event_id
    assert broker.published == ["notes.dlq"]
