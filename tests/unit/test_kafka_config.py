"""One Kafka, configured in one place: the embedded node, docker compose and the topic settings agree; what a
subscription row asks of its consumer reaches aiokafka."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from embedded.broker import DEFAULT_PERFORMANCE_OPTS, NODE_SETTINGS, node_config, performance_opts
from embedded.kafka_dist import kafka_version
from shared import topics
from shared.kafka.broker import build_broker
from shared.kafka.subscription import DEFAULT_LINGER_MS, Subscription, fetch_linger, subscribe
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def _compose_kafka() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["kafka"]


def test_compose_runs_the_kafka_version_the_embedded_node_runs() -> None:
    assert _compose_kafka()["image"] == f"apache/kafka:{kafka_version()}"


def test_compose_node_settings_are_the_embedded_node_settings() -> None:
    """Compose's broker sets nothing itself: it runs the server.properties its `kafka-certs` job writes with the
    embedded node's `node_config` (tests/observability/test_kafka_security_deploy.py runs that job and compares)."""
    kafka = _compose_kafka()
    assert not [key for key in kafka["environment"] if key.startswith("KAFKA_")]
    assert kafka["entrypoint"][-1].endswith("/start.sh")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert "operations.kafka_certificates" in compose["services"]["kafka-certs"]["command"]
    assert set(NODE_SETTINGS) <= set(node_config(**dict.fromkeys(_NODE_CONFIG_ARGS, "x")))


_NODE_CONFIG_ARGS = ("listener", "advertised", "controller", "log_dirs", "keystore", "truststore", "admin_password")


def test_no_partition_or_topic_setting_outside_shared_topics() -> None:
    """Partitions and topic settings come from shared.topics through the create-topics tool, nowhere else."""
    env = _compose_kafka()["environment"]
    assert not {"KAFKA_NUM_PARTITIONS", "KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_LOG_RETENTION_HOURS"} & set(env)
    jobs = (ROOT / "deploy/k8s/jobs.yaml").read_text(encoding="utf-8")
    assert "embedded.create_topics" in jobs
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert "embedded.create_topics" in compose["services"]["kafka-init"]["command"]


def test_topic_settings_keep_events_and_expire_notification_requests() -> None:
    assert topics.topic_config(topics.COMPLAINT_RECEIVED, 1)["retention.ms"] == "-1"
    assert topics.topic_config(topics.dead_letter_topic(topics.COMPLAINT_RECEIVED), 3)["retention.ms"] == "-1"
    assert topics.topic_config(topics.NOTIFICATION_REQUESTED, 3)["retention.ms"] == str(7 * 24 * 3600 * 1000)


def test_min_insync_replicas_leaves_room_for_one_broker_down() -> None:
    assert [topics.topic_config(topics.COMPLAINT_ROUTED, rf)["min.insync.replicas"] for rf in (1, 2, 3, 5)] == [
        "1",
        "1",
        "2",
        "2",
    ]


class _Tick(BaseModel):
    n: int


def _subscribed(**row: Any) -> dict[str, Any]:
    """The aiokafka consumer options `subscribe` gives the subscriber of one row (nothing is started)."""
    broker = build_broker("127.0.0.1:1", client_id="config-test", metrics=False)

    async def handle(batch: list[_Tick]) -> None:
        return None

    subscription = Subscription(group="config-test", topics=("t",), model=_Tick, title="t", description="d", **row)
    subscribe(broker, ServiceSettings(), subscription, handle)
    (subscriber,) = broker.subscribers
    return dict(subscriber._connection_args)  # type: ignore[attr-defined]


def test_a_batch_subscription_lingers_so_batches_form() -> None:
    """The broker holds a batch subscriber's fetch up to the linger unless about a full batch is there; aiokafka's
    getmany timeout cannot do this (it returns whatever is buffered at once). The consumer starts on the long poll
    and lingers once records flow (`shared.kafka.fetch_pacing`)."""
    options = _subscribed(batch_size=500)
    assert (options["fetch_max_wait_ms"], options["fetch_min_bytes"]) == (500, 1), "quiet: the long poll"
    assert fetch_linger(None, 500) == {"fetch_max_wait_ms": DEFAULT_LINGER_MS, "fetch_min_bytes": 500 * 1024}
    assert fetch_linger(50, 1000)["fetch_max_wait_ms"] == 50
    assert fetch_linger(None, 5000)["fetch_min_bytes"] == 1024 * 1024, "at most 1 MiB"


def test_a_single_message_subscription_keeps_the_long_poll() -> None:
    options = _subscribed()
    assert (options["fetch_max_wait_ms"], options["fetch_min_bytes"]) == (500, 1)
    assert fetch_linger(None, 1) == {}
    assert fetch_linger(20, 1) == {"fetch_max_wait_ms": 20, "fetch_min_bytes": 1024}


def test_the_jvm_performance_options_are_kafkas_unless_the_variable_replaces_them() -> None:
    """Kafka's own scripts read `KAFKA_JVM_PERFORMANCE_OPTS` the same way: it replaces the defaults, it does not add."""
    assert performance_opts({}) == list(DEFAULT_PERFORMANCE_OPTS) == ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
    assert performance_opts({"KAFKA_JVM_PERFORMANCE_OPTS": "  "}) == list(DEFAULT_PERFORMANCE_OPTS)
    given = {"KAFKA_JVM_PERFORMANCE_OPTS": "-XX:TieredStopAtLevel=1  -XX:+UseSerialGC"}
    assert performance_opts(given) == ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
