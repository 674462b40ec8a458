"""The whole platform as `make run` starts it (`python -m embedded`), once per test module that asks for it — or once
for a package of modules that can share one (`drills/`, `supervision/`) — and the browser the screens' tests drive:
a Chromium, a console (people signed in at the identity provider) and the screens' photographs per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.platform_settings import platform_env
from tests.support.browser import chromium
from tests.support.client import PlatformClient
from tests.support.console_browser import Console, Screens
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while the browser lives, and
    a platform's start or stop (`asyncio.run` inside) cannot run then — the next module's would fail."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def screens() -> Screens:
    return Screens()


@pytest.fixture(scope="module")
def console(browser: Browser, platform: Platform, identity_provider: IdentityProvider) -> Iterator[Console]:
    opened = Console(browser, platform, identity_provider)
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def _keep_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """On a failed step, photograph every open page: a person sees at once what the browser saw."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before and "console" in request.fixturenames:
        request.getfixturevalue("console").keep_failure()
