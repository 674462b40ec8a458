"""Issue 26, must-show 5, on the session's Kafka and Postgres with intake in-process: a `channel.complaint` of
`schema_version` 99 (its producer upgraded first, in a rolling deploy) is not dead-lettered — intake, which reads up
to version 1, nacks it again and again (counted in `kafka_consumer_newer_versions_total`) and takes no complaint from
it — and once an intake that knows version 99 takes the partition, it is handled: the complaint exists, once, and
the dead letters never held it (`shared.kafka.versions`)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Annotated, Literal

import asyncpg
import pytest
from pydantic import Field

from services.intake import consumers
from shared import topics
from shared.contracts import EVENT_TYPES
from shared.contracts.channels import ChannelComplaint, ChannelReply
from shared.observability.metrics import CONSUMER_NEWER_VERSIONS
from tests.support.channel_messages import channel_complaint
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import produce, read_topic, start_groups_at_end, wait_until

CONSUMER = consumers.CHANNEL_MESSAGES.consumer


class ChannelComplaintV99(ChannelComplaint):
    """The upgraded consumer's contract: it reads version 99 too."""

    schema_version: Literal[1, 99] = 99  # type: ignore[assignment]


# Defining an event registers it as its type's contract (`shared.contracts.envelope.EVENT_TYPES`): the test's stand-in
# for a future release must not replace the published contract for the rest of the session.
EVENT_TYPES["channel.complaint"] = ChannelComplaint


async def test_a_newer_version_waits_for_a_consumer_that_knows_it(
    migrated: Infrastructure, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka, prefix = migrated.kafka_bootstrap_servers, f"newer-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(kafka, consumers.SUBSCRIPTIONS, prefix)
    event = channel_complaint(channel="email", provider="mailbox", text="楼道里有煤气味。")
    body = json.loads(event.model_dump_json()) | {"schema_version": 99}
    await produce(kafka, topics.CHANNEL_MESSAGES, [(event.key, json.dumps(body).encode())])
    known = "SELECT count(*) FROM intake.complaints WHERE complaint_id = $1"
    counted = CONSUMER_NEWER_VERSIONS.labels(CONSUMER, topics.CHANNEL_MESSAGES)._value.get

    before = counted()
    async with running_intake(migrated.database_url, kafka, intake_consumer_group=prefix):
        await wait_until(lambda: counted() >= before + 2, timeout=30)  # nacked, redelivered, nacked again
    assert await db.fetchval(known, event.complaint_id) == 0, "the old intake took no complaint from it"

    upgraded = dataclasses.replace(
        consumers.CHANNEL_MESSAGES,
        model=Annotated[ChannelComplaintV99 | ChannelReply, Field(discriminator="event_type")],
    )
    subscriptions = tuple(upgraded if s is consumers.CHANNEL_MESSAGES else s for s in consumers.SUBSCRIPTIONS)
    monkeypatch.setattr(consumers, "SUBSCRIPTIONS", subscriptions)
    async with running_intake(migrated.database_url, kafka, intake_consumer_group=prefix):
        await wait_until(lambda: _count(db, known, event.complaint_id), timeout=30)
    letters = await read_topic(kafka, topics.dead_letter_topic(topics.CHANNEL_MESSAGES), until=lambda rs: True)
    assert not [r for r in letters if r.key == event.key], "never dead-lettered"


async def _count(db: asyncpg.Pool, query: str, complaint_id: uuid.UUID) -> bool:
    return await db.fetchval(query, complaint_id) == 1
