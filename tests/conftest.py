"""Session-wide infrastructure: one Postgres and one broker (see support/infrastructure.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shared.db import create_pool
from shared.migrations import apply_all
from tests.support.infrastructure import Infrastructure, provide


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    with provide(Path(tmp_path_factory.mktemp("infra"))) as infrastructure:
        yield infrastructure


@pytest.fixture(scope="session")
async def migrated(infra: Infrastructure) -> Infrastructure:
    await apply_all(infra.database_url)
    return infra


@pytest.fixture(scope="session")
async def db(migrated: Infrastructure) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated.database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()
