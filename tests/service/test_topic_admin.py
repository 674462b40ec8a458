"""`apply_topics` on the session's Kafka: creates with the declared settings, sets drifted settings back,
grows a topic with too few partitions, never shrinks one, and is idempotent."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared import topics
from shared.kafka.admin import apply_topics, topic_partitions
from shared.kafka.security import client_options
from tests.support.infrastructure import Infrastructure


async def _settings(bootstrap: str, name: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        return {entry[0]: entry[1] for entry in response.resources[0][4]}
    finally:
        await admin.close()


async def test_creates_with_declared_settings_and_is_idempotent(infra: Infrastructure) -> None:
    name = f"test.apply.{uuid.uuid4().hex[:8]}"
    first = await apply_topics(infra.kafka_bootstrap_servers, [name], 3)
    assert first.created == [name]
    assert len(await topic_partitions(infra.kafka_bootstrap_servers, [name])) == 3
    settings = await _settings(infra.kafka_bootstrap_servers, name)
    for key, value in topics.topic_config(name, 1).items():
        assert settings[key] == value, key

    again = await apply_topics(infra.kafka_bootstrap_servers, [name], 3)
    assert (again.created, again.reconfigured, again.grown) == ([], {}, {})


async def test_drift_is_set_back_other_overrides_kept_and_partitions_grow(infra: Infrastructure) -> None:
    name = f"test.apply.{uuid.uuid4().hex[:8]}"
    big = f"test.apply.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:  # made by hand, as an operator might: 2 partitions, a week's retention, a custom segment size
        await admin.create_topics(
            [
                NewTopic(name, 2, 1, topic_configs={"retention.ms": "604800000", "segment.bytes": "10485760"}),
                NewTopic(big, 5, 1),
            ]
        )
    finally:
        await admin.close()

    report = await apply_topics(infra.kafka_bootstrap_servers, [name, big], 4)

    assert report.created == []
    assert report.reconfigured[name]["retention.ms"] == "-1"
    assert report.grown == {name: 2}
    assert report.oversized == {big: 5}
    assert len(await topic_partitions(infra.kafka_bootstrap_servers, [name])) == 4
    assert len(await topic_partitions(infra.kafka_bootstrap_servers, [big])) == 5
    settings = await _settings(infra.kafka_bootstrap_servers, name)
    assert settings["retention.ms"] == "-1"
    assert settings["segment.bytes"] == "10485760", "an override we do not declare is left as the operator set it"


async def test_missing_topic_is_named(infra: Infrastructure) -> None:
    name = f"test.absent.{uuid.uuid4().hex[:8]}"
    with pytest.raises(LookupError) as raised:
        await topic_partitions(infra.kafka_bootstrap_servers, [topics.COMPLAINT_RECEIVED, name])
    assert name in str(raised.value) and topics.COMPLAINT_RECEIVED not in str(raised.value)
