"""Session-wide infrastructure: one Postgres and one broker (see support/infrastructure.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from operations.migrations import apply_all
from shared.db import create_pool
from tests.support.infrastructure import Infrastructure, kafka_session_environment, provide
from tests.support.workers import PlatformApart, give_parametrized_items_their_ids, unnamed_identity_users

_SHARED_IDENTITY = pytest.StashKey[tuple[Any, Path]]()


def pytest_configure(config: pytest.Config) -> None:
    """The whole suite on several workers (`make test`): the controller launches one Keycloak for all of them
    while they start and collect (tests/support/identity.launch_shared), and stops it at the end."""
    workers = getattr(config.option, "numprocesses", None)
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    if workers and whole_suite and not hasattr(config, "workerinput"):
        from tests.support.identity import launch_shared

        workdir = Path(tempfile.mkdtemp(prefix="uc-test-identity-"))
        config.stash[_SHARED_IDENTITY] = (launch_shared(workdir), workdir)


def pytest_unconfigure(config: pytest.Config) -> None:
    if launched := config.stash.get(_SHARED_IDENTITY, None):
        keycloak, workdir = launched
        keycloak.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: a run with `-p no:xdist` does not know it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> PlatformApart:
    """`make test`'s two workers: the platform tests on one, one after another, from the start; the rest on the
    other, and on both at the end (tests/support/workers.py)."""
    return PlatformApart(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shared := give_parametrized_items_their_ids(items):
        raise pytest.UsageError(f"tests sharing a node id would run once under xdist: {shared[:3]}")
    if unnamed := unnamed_identity_users(items):
        raise pytest.UsageError(f"name their modules in tests/support/workers.IDENTITY_MODULES: {unnamed[:3]}")


# Every service requires APP_ENV (no default): the suite runs as `test`, and the processes it starts inherit it.
os.environ.setdefault("APP_ENV", "test")
# The suite's Kafka nodes (the session's, every platform's, the fault tests' restarts: dozens of short-lived JVMs)
# compile with the client compiler only and collect with the serial collector: measured on the broker fault module,
# the node's CPU 66 -> 39 s, a start 7.3 -> 4.4 CPU-s. The broker behaves the same; `make run` keeps Kafka's defaults.
os.environ.setdefault("KAFKA_JVM_PERFORMANCE_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


@pytest.fixture(scope="session", autouse=True)
def kafka_clients() -> Iterator[None]:
    """Every Kafka client of the session authenticates (SASL_SSL) as the super user of the session's brokers."""
    folder = Path(tempfile.mkdtemp(prefix="uc-test-kafka-secrets-"))
    try:
        with kafka_session_environment(folder):
            yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    # Not under pytest's basetemp: that folder is private (0700) to us, and as root the embedded Postgres
    # runs as another user who must reach its data folder, even when another pytest run resets the modes.
    workdir = Path(tempfile.mkdtemp(prefix="uc-test-infra-"))
    try:
        with provide(workdir) as infrastructure:
            yield infrastructure
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
async def migrated(infra: Infrastructure) -> Infrastructure:
    await apply_all(infra.database_url)
    return infra


@pytest.fixture(scope="session")
async def db(migrated: Infrastructure) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated.database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


# The identity provider: one real Keycloak for the session (see support/identity.py).
from tests.support.identity import IdentityProvider, provide_identity, shared_provider  # noqa: E402


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    """Keycloak with the demo staff: the run's shared one under `make test`'s workers, else the worker's own;
    without a Java 21+ the tests that need it fail saying what to install."""
    from embedded.identity import EmbeddedKeycloakError

    shared = shared_provider()
    if shared is not None:
        yield shared
        return
    workdir = Path(tempfile.mkdtemp(prefix="uc-test-identity-"))
    try:
        try:
            with provide_identity(workdir) as provider:
                yield provider
        except EmbeddedKeycloakError as exc:
            pytest.fail(f"the identity provider (Keycloak) did not start: {exc}", pytrace=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
