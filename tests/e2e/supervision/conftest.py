"""One platform for every supervision drill (the console of supervisors, duty managers and leadership), started
once for the package: each start costs half a minute on 2 cores, and these modules need the same settings.

The drill clock: SLA_TIME_SCALE=0.05 with `sla_policy.toml` beside this file (one minute lasts 3 s). Modules
share the platform, so each uses its own customers (phones, addresses) and finds its cases by reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.platform_settings import platform_env
from tests.support.browser import chromium
from tests.support.console_browser import UI_TIMEOUT_MS
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, crashed_after

SUPERVISION_ENV = {
    "SLA_POLICY_PATH": str(Path(__file__).with_name("sla_policy.toml")),
    "SLA_TIME_SCALE": "0.05",
    "TIMER_POLL_MS": "100",
    "NOTIFY_QUIET_HOURS": "",
    "PLATFORM_DEMO_SIGN_INS": "1",
    # Leadership approves serious cases' analyses before their lead work orders resolve (test_serious_browser.py).
    "DISPATCH_SERIOUS_APPROVAL": "true",
}
expect.set_options(timeout=UI_TIMEOUT_MS)


@pytest.fixture(scope="package")
def platform(identity_provider: IdentityProvider) -> Iterator[Platform]:
    """The platform with the supervision drill's settings, on the session's Keycloak; SIGKILLed afterwards."""
    with crashed_after(platform_env(SUPERVISION_ENV, identity_provider)) as running:
        yield running


@pytest.fixture(scope="package")
def browser(platform: Platform) -> Iterator[Browser]:
    """One Chromium for the package's drills, on their one platform: started after it and stopped before it, for
    Playwright's running event loop would stop the platform's start (see tests/e2e/conftest.py)."""
    with chromium() as launched:
        yield launched
