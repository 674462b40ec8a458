"""Bring a Kafka cluster's topics to what `shared.topics` declares: names, partitions and settings.

One function, `apply_topics`, used by the embedded runner, docker compose's `kafka-init` job and the
Kubernetes `create-topics` job, so every environment has the same topics with the same settings, and the same
ACLs (`shared.kafka.principals`: who may read and write which topic; skipped by a broker without an authorizer).
It is idempotent and safe to run on every start: missing topics are created, settings that drifted
are set back, a topic with fewer partitions than declared grows; nothing is ever deleted or shrunk
(Kafka cannot take partitions away), and such a topic is reported instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.kafka.acls import bindings, create_acls, wait_enforced
from shared.kafka.principals import PRINCIPALS, Principal
from shared.kafka.security import KafkaSecuritySettings, client_options
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS, topic_config

#: Kafka error code for "topic already exists" (another replica of the job created it first).
_TOPIC_ALREADY_EXISTS = 36


class KafkaAdminError(RuntimeError):
    """The cluster could not be reached in time, or refused to create or change a topic."""


@dataclass
class TopicsReport:
    """What `apply_topics` did, for the operator running it."""

    created: list[str] = field(default_factory=list)
    reconfigured: dict[str, dict[str, str]] = field(default_factory=dict)
    grown: dict[str, int] = field(default_factory=dict)
    #: Topics with more partitions than declared: left alone, Kafka cannot shrink a topic.
    oversized: dict[str, int] = field(default_factory=dict)
    #: ACLs of `shared.kafka.principals` sent to the broker (0: it has no authorizer).
    acls: int = 0


async def wait_for_kafka(
    bootstrap_servers: str, deadline: float, security: KafkaSecuritySettings | None = None
) -> None:
    """Poll until a metadata request lists at least one live broker, or `deadline` (monotonic) passes."""
    last_error: BaseException | str | None = None
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, request_timeout_ms=5000, **client_options(security)
        )
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if cluster.get("brokers"):
                return
            last_error = "no broker registered yet"
        except Exception as exc:  # aiokafka raises a zoo of types while a broker boots
            last_error = exc
        finally:
            await admin.close()
        if time.monotonic() > deadline:
            raise KafkaAdminError(f"Kafka at {bootstrap_servers} not reachable in time: {last_error!r}")
        await asyncio.sleep(0.2)


async def apply_topics(
    bootstrap_servers: str,
    names: Iterable[str] = ALL_TOPICS,
    partitions: int = DEFAULT_PARTITIONS,
    *,
    replication_factor: int = 1,
    wait_seconds: float = 60.0,
    security: KafkaSecuritySettings | None = None,
    principals: tuple[Principal, ...] = PRINCIPALS,
) -> TopicsReport:
    """Create, reconfigure or grow `names` to `partitions` and `shared.topics.topic_config`, and grant the ACLs
    of `principals` (run as the super user: `security`, else the environment's).

    Waits for the cluster first and, at the end, until every topic has a leader for every partition,
    so that producers started right after do not race the controller.
    """
    wanted = list(dict.fromkeys(names))
    deadline = time.monotonic() + wait_seconds
    await wait_for_kafka(bootstrap_servers, deadline, security)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000, **client_options(security)
    )
    report = TopicsReport()
    try:
        await admin.start()
        # ACLs first: the broker applies them while the topics are being made (`wait_enforced` below).
        granted = bindings(principals)
        report.acls = await create_acls(admin, granted)
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            await _create(admin, missing, partitions, replication_factor, report)
        present = [name for name in wanted if name not in report.created]
        if present:
            await _grow(admin, present, partitions, report)
            await _reconfigure(admin, present, replication_factor, report)
        await _wait_leaders(admin, wanted, deadline)
        if report.acls:
            await wait_enforced(admin, granted, deadline)
        return report
    finally:
        await admin.close()


async def _create(
    admin: AIOKafkaAdminClient, names: list[str], partitions: int, replication_factor: int, report: TopicsReport
) -> None:
    response = await admin.create_topics(
        [
            NewTopic(name, partitions, replication_factor, topic_configs=topic_config(name, replication_factor))
            for name in names
        ]
    )
    failures = []
    for entry in response.topic_errors:  # (topic, error_code[, error_message]) by version
        topic, code = entry[0], entry[1]
        if code == 0:
            report.created.append(topic)
        elif code != _TOPIC_ALREADY_EXISTS:
            failures.append(f"{topic}: error {code} {entry[2] if len(entry) > 2 else ''}".strip())
    if failures:
        raise KafkaAdminError("could not create topics: " + "; ".join(failures))


async def _grow(admin: AIOKafkaAdminClient, names: list[str], partitions: int, report: TopicsReport) -> None:
    counts = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names) if t["error_code"] == 0}
    smaller = {name: count for name, count in counts.items() if count < partitions}
    report.oversized.update({name: count for name, count in counts.items() if count > partitions})
    if smaller:
        await admin.create_partitions({name: NewPartitions(partitions) for name in smaller})
        report.grown.update(smaller)


async def _reconfigure(
    admin: AIOKafkaAdminClient, names: list[str], replication_factor: int, report: TopicsReport
) -> None:
    """Set back every declared setting whose value on the cluster differs (other settings are kept)."""
    described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    changes: list[ConfigResource] = []
    for response in described:
        for resource in response.resources:
            error_code, error_message, _type, name, entries = resource[:5]
            if error_code:
                raise KafkaAdminError(f"could not read the settings of {name}: error {error_code} {error_message}")
            current = {entry[0]: entry[1] for entry in entries}
            overrides = {entry[0]: entry[1] for entry in entries if _is_topic_override(entry)}
            declared = topic_config(name, replication_factor)
            drift = {key: value for key, value in declared.items() if current.get(key) != value}
            if drift:
                # AlterConfigs replaces a topic's overrides as a whole: send the ones kept plus ours.
                changes.append(ConfigResource(ConfigResourceType.TOPIC, name, configs={**overrides, **declared}))
                report.reconfigured[name] = drift
    if changes:
        for response in await admin.alter_configs(changes):
            failed = [r for r in response.resources if r[0]]
            if failed:
                raise KafkaAdminError(f"could not change topic settings: {failed}")


def _is_topic_override(entry: Any) -> bool:
    """A config entry set on the topic itself (source DYNAMIC_TOPIC_CONFIG = 1), not inherited."""
    return len(entry) > 3 and entry[3] == 1


async def topic_partitions(
    bootstrap_servers: str, names: Iterable[str], security: KafkaSecuritySettings | None = None
) -> list[TopicPartition]:
    """Every partition of `names`, in order; LookupError naming the topics the cluster does not have.

    Asked of the cluster, because a consumer only learns the metadata of topics it subscribed to.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000, **client_options(security)
    )
    try:
        await admin.start()
        return await described_partitions(admin, names)
    finally:
        await admin.close()


async def described_partitions(admin: AIOKafkaAdminClient, names: Iterable[str]) -> list[TopicPartition]:
    """`topic_partitions` over an admin client already started (one kept between readings)."""
    wanted = list(dict.fromkeys(names))
    described = {t["topic"]: t for t in await admin.describe_topics(wanted)}
    missing = [n for n in wanted if n not in described or described[n]["error_code"] or not described[n]["partitions"]]
    if missing:
        raise LookupError(f"topics missing on the broker: {missing}")
    return [
        TopicPartition(n, p["partition"])
        for n in wanted
        for p in sorted(described[n]["partitions"], key=lambda p: p["partition"])
    ]


async def _wait_leaders(admin: AIOKafkaAdminClient, names: list[str], deadline: float) -> None:
    """Poll metadata until each topic exists and each partition has a leader."""
    while True:
        described = await admin.describe_topics(names)
        ready = {
            t["topic"]
            for t in described
            if t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
        }
        missing = [n for n in names if n not in ready]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise KafkaAdminError(f"topics without a leader in time: {missing}")
        await asyncio.sleep(0.2)
