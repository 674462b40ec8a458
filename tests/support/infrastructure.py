"""Where tests find Postgres and Kafka: environment → testcontainers (if Docker answers) → embedded.

One Postgres and one Apache Kafka node serve the whole session: a Kafka node takes seconds to start.
Tests that need isolation from the others' events use their own database (`fresh_database`), consumer
group names or keys; only tests that stop the broker or need topics no one else wrote to start their own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from embedded.broker import EmbeddedBroker
from embedded.kafka_dist import kafka_version
from embedded.postgres import EmbeddedPostgres
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS


@dataclass
class Infrastructure:
    database_url: str
    kafka_bootstrap_servers: str
    source: str


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def provide(workdir: Path) -> Iterator[Infrastructure]:
    env_db, env_kafka = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env_db and env_kafka:
        yield Infrastructure(env_db, env_kafka, "environment")
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with (
            PostgresContainer("postgres:17", driver=None) as pg,
            KafkaContainer(f"apache/kafka:{kafka_version()}").with_kraft() as kafka,
        ):
            yield Infrastructure(pg.get_connection_url(), kafka.get_bootstrap_server(), "testcontainers")
        return
    postgres = EmbeddedPostgres(workdir / "postgres", durable=False, die_with_parent=True)
    broker = EmbeddedBroker(workdir / "kafka", die_with_parent=True)
    postgres.start()
    try:
        broker.start()
        try:
            broker.create_topics(ALL_TOPICS, DEFAULT_PARTITIONS)
            yield Infrastructure(postgres.dsn, broker.bootstrap_servers, "embedded")
        finally:
            broker.stop()
    finally:
        postgres.stop()
