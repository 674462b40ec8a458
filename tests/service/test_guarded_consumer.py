"""The guarded consumer on the real broker: bounded retries then a dead letter; outages are not poison."""

from __future__ import annotations

import json
import uuid

from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel

from shared.kafka.broker import build_broker
from shared.kafka.consumer import GuardedHandler, raw_decoder
from shared.topics import DEPARTMENT_UPDATES, dead_letter_topic
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until


class Note(BaseModel):
    run: str
    n: int
    behaviour: str = "ok"


async def test_failing_message_is_retried_then_dead_lettered_and_the_rest_flows(migrated: Infrastructure) -> None:
    run = uuid.uuid4().hex
    attempts: dict[int, int] = {}
    handled: list[int] = []
    outage = {"left": 2}

    async def handle(batch: list[Note]) -> None:
        (note,) = batch
        if note.run != run:
            return
        attempts[note.n] = attempts.get(note.n, 0) + 1
        if note.behaviour == "bug":
            raise ValueError("cannot handle this note")
        if note.behaviour == "outage" and outage["left"] > 0:
            outage["left"] -= 1
            raise ConnectionRefusedError("database down")
        handled.append(note.n)

    broker = build_broker(migrated.kafka_bootstrap_servers, client_id="guard-test")
    guard = GuardedHandler(
        broker=broker,
        consumer="guard-test",
        model=Note,
        handle=handle,
        max_attempts=3,
        retry_backoff_s=0.01,
        transient_pause_s=0.05,
    )

    @broker.subscriber(DEPARTMENT_UPDATES, group_id=f"guard-{run}", auto_offset_reset="earliest", decoder=raw_decoder)
    async def on_note(body: bytes, message: KafkaMessage) -> None:
        await guard(message)

    key = run.encode()  # one key: one partition, so order is observable
    notes = [
        Note(run=run, n=0),
        Note(run=run, n=1, behaviour="bug"),
        Note(run=run, n=2, behaviour="outage"),
        Note(run=run, n=3),
    ]
    async with broker:
        await broker.start()
        await produce(
            migrated.kafka_bootstrap_servers, DEPARTMENT_UPDATES, [(key, n.model_dump_json().encode()) for n in notes]
        )
        await wait_until(lambda: 3 in handled, timeout=30)

    assert handled == [0, 2, 3], "the bad note was skipped, the others handled in order"
    assert attempts[1] == 3, "bounded retries"
    assert attempts[2] == 3, "an outage is retried by redelivery until it passes, never dead-lettered"
    letters = await read_topic(
        migrated.kafka_bootstrap_servers,
        dead_letter_topic(DEPARTMENT_UPDATES),
        until=lambda rs: any(r.key == key for r in rs),
        settle=0.5,
    )
    mine = [r for r in letters if r.key == key]
    assert len(mine) == 1
    assert json.loads(mine[0].value)["n"] == 1
    assert mine[0].headers["dlq.attempts"] == "3"
    assert "cannot handle this note" in mine[0].headers["dlq.reason"]
    assert mine[0].headers["dlq.error_type"] == "ValueError"
