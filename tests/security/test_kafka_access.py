"""Issue 25, must-show 1: the embedded Kafka refuses strangers and holds every principal to its ACLs.

On the session's broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer, `shared.kafka.principals` applied by the
topic tool): a plaintext client and a wrong password get nowhere; reporting cannot write a work order; a department
reads public topics but not `complaint.contact` or its dead letters; the outage system writes its ingress topic
and nothing else; only intake may take records out of a topic, and only of the ingress it scrubs on an erasure.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from embedded.kafka_security import ensure_secrets
from shared import topics
from shared.kafka.admin import topic_partitions
from shared.kafka.security import KafkaSecuritySettings, client_options
from tests.support.infrastructure import Infrastructure

#: A refused client gives up after this (the default would retry for 40 s).
FAIL_FAST_MS = 3000


def _as(principal: str, password: str | None = None) -> KafkaSecuritySettings:
    folder = os.environ.get("PLATFORM_KAFKA_SECRETS_DIR")
    if not folder:
        pytest.skip("the session's broker is not the embedded one (KAFKA_BOOTSTRAP_SERVERS given)")
    secrets = ensure_secrets(Path(folder))
    client = secrets.client(principal)
    return client if password is None else client.model_copy(update={"kafka_sasl_password": password})


async def _write(bootstrap: str, security: KafkaSecuritySettings, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(security))
    await producer.start()  # a refused connection fails here, an unauthorized topic at the first send
    try:
        await producer.send_and_wait(topic, value=b'{"probe": true}', key=uuid.uuid4().hex.encode())
    finally:
        await producer.stop()


async def _readable(bootstrap: str, security: KafkaSecuritySettings, topic: str) -> bool:
    """Whether `security`'s principal may fetch `topic` from offset 0 (no group). A topic the broker hides from its
    metadata (no DESCRIBE) is not readable; otherwise the fetches answer within two seconds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, request_timeout_ms=FAIL_FAST_MS, **client_options(security)
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return False
        partitions = await topic_partitions(bootstrap, [topic])  # as the admin: the layout is no secret
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, 0)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                await consumer.getmany(timeout_ms=200)
            except TopicAuthorizationFailedError:
                return False
        return True
    finally:
        await consumer.stop()


async def test_a_plaintext_client_and_a_wrong_password_are_refused(infra: Infrastructure) -> None:
    plaintext = KafkaSecuritySettings(kafka_security_protocol="PLAINTEXT")
    with pytest.raises(KafkaConnectionError):
        await _write(infra.kafka_bootstrap_servers, plaintext, topics.COMPLAINT_RECEIVED)
    with pytest.raises(KafkaError):
        await _write(
            infra.kafka_bootstrap_servers, _as("intake", password="not-the-password"), topics.COMPLAINT_RECEIVED
        )


async def test_reporting_cannot_write_a_work_order(infra: Infrastructure) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(infra.kafka_bootstrap_servers, _as("reporting"), topics.WORKORDERS_REPAIR)


async def test_a_department_reads_public_topics_but_not_contact_data_or_its_dead_letters(infra: Infrastructure) -> None:
    department, bootstrap = _as("department"), infra.kafka_bootstrap_servers
    assert await _readable(bootstrap, department, topics.WORKORDERS_REPAIR)
    assert not await _readable(bootstrap, department, topics.COMPLAINT_CONTACT)
    assert not await _readable(bootstrap, department, topics.dead_letter_topic(topics.COMPLAINT_CONTACT))


async def test_the_outage_system_writes_only_its_ingress_topic(infra: Infrastructure) -> None:
    outage_system = _as("outage-system")
    # Allowed: the probe is no outage notice, dispatch dead-letters it under its own random key (no one's case).
    await _write(infra.kafka_bootstrap_servers, outage_system, topics.OUTAGE_NOTICES)
    for other in (topics.OUTAGE_EVENTS, topics.WORKORDERS_REPAIR, topics.dead_letter_topic(topics.OUTAGE_NOTICES)):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(infra.kafka_bootstrap_servers, outage_system, other)
    assert not await _readable(infra.kafka_bootstrap_servers, outage_system, topics.OUTAGE_NOTICES)


async def test_the_console_reads_its_live_topics_but_no_contact_data_and_writes_nothing(infra: Infrastructure) -> None:
    """Issue 24: the console's live pages read public topics only (every partition, no group)."""
    console, bootstrap = _as("console"), infra.kafka_bootstrap_servers
    assert await _readable(bootstrap, console, topics.COMPLAINT_ESCALATED)
    assert not await _readable(bootstrap, console, topics.COMPLAINT_CONTACT)
    # The inbox hears a staff notice's delivery status, never the request with its text and addresses.
    assert await _readable(bootstrap, console, topics.NOTIFICATION_DELIVERY)
    assert not await _readable(bootstrap, console, topics.NOTIFICATION_REQUESTED)
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(bootstrap, console, topics.COMPLAINT_RECEIVED)


async def _delete_nothing(bootstrap: str, security: KafkaSecuritySettings, topic: str) -> None:
    """A DeleteRecords up to each partition's first offset: authorized or not, it removes nothing."""
    partitions = await topic_partitions(bootstrap, [topic])
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **client_options())
    await reader.start()
    try:
        firsts = await reader.beginning_offsets(partitions)
    finally:
        await reader.stop()
    options = client_options(security)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=FAIL_FAST_MS, **options)
    await admin.start()
    try:
        await admin.delete_records({tp: RecordsToDelete(before_offset=o) for tp, o in firsts.items()})
    finally:
        await admin.close()


async def test_only_intake_takes_records_out_and_only_of_the_ingress_it_scrubs(infra: Infrastructure) -> None:
    """An erasure's scrub (`services/intake/ingress_scrub.py`) deletes records of the ingress in clear; nobody may
    delete from a topic anything is rebuilt from."""
    bootstrap = infra.kafka_bootstrap_servers
    await _delete_nothing(bootstrap, _as("intake"), topics.dead_letter_topic(topics.PARTNER_TICKETS))
    for who, topic in (
        ("intake", topics.COMPLAINT_RECEIVED),
        ("reporting", topics.dead_letter_topic(topics.PARTNER_TICKETS)),
        ("partner-12345", topics.PARTNER_TICKETS),
    ):
        # Refused; a principal that may not even describe the topic is not told its leader (the metadata hides it).
        with pytest.raises((TopicAuthorizationFailedError, NotLeaderForPartitionError)):
            await _delete_nothing(bootstrap, _as(who), topic)
