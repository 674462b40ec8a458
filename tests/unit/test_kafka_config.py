"""One Kafka, configured in one place: the embedded node, docker compose and the topic settings agree."""

from __future__ import annotations

from pathlib import Path

import yaml

from embedded.broker import NODE_SETTINGS
from embedded.kafka_dist import kafka_version
from shared import topics

ROOT = Path(__file__).resolve().parents[2]


def _compose_kafka() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["kafka"]


def test_compose_runs_the_kafka_version_the_embedded_node_runs() -> None:
    assert _compose_kafka()["image"] == f"apache/kafka:{kafka_version()}"


def test_compose_node_settings_equal_the_embedded_node_settings() -> None:
    per_host = {"KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_LOG_DIRS", "KAFKA_CONTROLLER_QUORUM_VOTERS"}
    compose = {
        key.removeprefix("KAFKA_").lower().replace("_", "."): str(value).lower()
        for key, value in _compose_kafka()["environment"].items()
        if key.startswith("KAFKA_") and key not in per_host
    }
    embedded = {key: value.lower() for key, value in NODE_SETTINGS.items()}
    assert compose == embedded


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
