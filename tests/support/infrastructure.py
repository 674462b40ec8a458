"""Where tests find Postgres and Kafka: environment → testcontainers (if Docker answers) → embedded.

One Postgres and one Apache Kafka node serve the whole session: a Kafka node takes seconds to start.
Tests that need isolation from the others' events use their own database (`fresh_database`), consumer
group names or keys; only tests that stop the broker or need topics no one else wrote to start their own.

Kafka is always the embedded node, authenticated and encrypted as everywhere the platform runs (SASL_SSL,
SCRAM-SHA-512, ACLs): the session makes one secrets folder (`kafka_session_environment`) and every broker it
starts, its own and the `make run` runner's of the platform tests, uses it; the session's clients are its admin.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from embedded.broker import EmbeddedBroker
from embedded.kafka_security import ensure_secrets
from embedded.postgres import EmbeddedPostgres
from shared.kafka.principals import ADMIN
from shared.kafka.security import environment
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


#: What `kafka_session_environment` sets, and restores afterwards.
SESSION_KAFKA_VARIABLES = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CAFILE",
    "PLATFORM_KAFKA_SECRETS_DIR",
)


@contextlib.contextmanager
def kafka_session_environment(secrets_dir: Path) -> Iterator[None]:
    """Make `secrets_dir` the session's broker secrets: this process's Kafka clients authenticate as the super
    user with them (`shared.kafka.security` reads the environment), and a runner started by a test reuses them
    (PLATFORM_KAFKA_SECRETS_DIR). Left alone when the environment names a broker of its own."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield
        return
    saved = {name: os.environ.get(name) for name in SESSION_KAFKA_VARIABLES}
    secrets = ensure_secrets(secrets_dir)
    os.environ.update({**environment(secrets.client(ADMIN)), "PLATFORM_KAFKA_SECRETS_DIR": str(secrets.folder)})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def session_broker(data_dir: Path) -> EmbeddedBroker:
    """A Kafka node of a test's own, on the session's secrets (its CA and passwords), so the session's clients
    reach it as they reach every other; not started."""
    secrets = os.environ.get("PLATFORM_KAFKA_SECRETS_DIR")
    return EmbeddedBroker(data_dir, die_with_parent=True, secrets_dir=Path(secrets) if secrets else None)


@contextlib.contextmanager
def _postgres(workdir: Path) -> Iterator[tuple[str, str]]:
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as pg:
            yield pg.get_connection_url(), "testcontainers"
        return
    postgres = EmbeddedPostgres(workdir / "postgres", durable=False, die_with_parent=True)
    postgres.start()
    try:
        yield postgres.dsn, "embedded"
    finally:
        postgres.stop()


@contextlib.contextmanager
def provide(workdir: Path) -> Iterator[Infrastructure]:
    env_db, env_kafka = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env_db and env_kafka:
        yield Infrastructure(env_db, env_kafka, "environment")
        return
    # Kafka is the embedded node even beside a Postgres container: a container's broker would be plaintext.
    broker = session_broker(workdir / "kafka")
    with _postgres(workdir) as (dsn, source):
        broker.start()
        try:
            broker.create_topics(ALL_TOPICS, DEFAULT_PARTITIONS)
            yield Infrastructure(dsn, broker.bootstrap_servers, source)
        finally:
            broker.stop()
