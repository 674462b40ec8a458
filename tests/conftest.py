"""Session-wide infrastructure: one Postgres and one broker (see support/infrastructure.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from operations.migrations import apply_all
from shared.db import create_pool
from tests.support.infrastructure import Infrastructure, kafka_session_environment, provide

#: What runs on one worker, one test after another, when `make test` spreads the suite over two (pytest-xdist,
#: `--dist loadgroup`): the tests that start the whole platform (e2e, faults) or the identity provider. Two platforms
#: at once would starve each other on two cores, and Keycloak is started once. Every other module is a unit of its
#: own: its module fixtures (an in-process service, a private broker) are set up once, on one worker, and its tests
#: keep their order.
PLATFORM_GROUP = "platform"
PLATFORM_TIERS = ("e2e", "faults")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the group marker into the node id's suffix
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(Path(__file__).parent).parts[0]
        fixtures = getattr(item, "fixturenames", ())
        platform = tier in PLATFORM_TIERS or "identity_provider" in fixtures
        item.add_marker(pytest.mark.xdist_group(PLATFORM_GROUP if platform else item.nodeid.split("::")[0]))


# Every service requires APP_ENV (no default): the suite runs as `test`, and the processes it starts inherit it.
os.environ.setdefault("APP_ENV", "test")


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
from tests.support.identity import IdentityProvider, provide_identity  # noqa: E402


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    """Keycloak with the demo staff; without a Java 21+ the tests that need it fail saying what to install."""
    from embedded.identity import EmbeddedKeycloakError

    workdir = Path(tempfile.mkdtemp(prefix="uc-test-identity-"))
    try:
        try:
            with provide_identity(workdir) as provider:
                yield provider
        except EmbeddedKeycloakError as exc:
            pytest.fail(f"the identity provider (Keycloak) did not start: {exc}", pytrace=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
