"""The whole platform as `make run` starts it (`python -m embedded`), once per test module that asks for it — or once
for a package of modules that can share one (`drills/`, `supervision/`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.e2e.platform_settings import platform_env
from tests.support.client import PlatformClient
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, crashed_after


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, identity_provider: IdentityProvider) -> Iterator[Platform]:
    """The platform for one test module, with its `PLATFORM_ENV` (if any); SIGKILLed afterwards like a crash."""
    with crashed_after(platform_env(getattr(request.module, "PLATFORM_ENV", {}), identity_provider)) as running:
        yield running


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[PlatformClient]:
    """The platform's public HTTP API as the utility's people and systems call it (see tests/support/client.py)."""
    async with PlatformClient(platform) as client:
        yield client
