"""The whole platform as `make run` starts it (`python -m embedded`), once per test module that asks for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.client import PlatformClient
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, kill_platform, start_platform

#: The SLA drill: round limits, one minute lasting 60 ms, timers polled every 50 ms.
SLA_DRILL = {
    "SLA_POLICY_PATH": str(Path(__file__).with_name("sla_drill_policy.toml")),
    "SLA_TIME_SCALE": "0.001",
    "TIMER_POLL_MS": "50",
}


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, identity_provider: IdentityProvider) -> Iterator[Platform]:
    """The platform, with the test module's `PLATFORM_ENV` (if any) on top of the SLA drill's settings.

    It uses the session's Keycloak (OIDC_ISSUER) rather than starting one per module: same realm, seconds saved.
    Quiet hours are off: every message goes at once, whatever the hour the suite runs (same work by day and night).
    Afterwards the runner is SIGKILLed like a crash: everything it started (services, stand-ins, Postgres, Kafka)
    must go with it.
    """
    env = {
        **SLA_DRILL,
        "NOTIFY_QUIET_HOURS": "",
        **identity_provider.platform_env(),
        **getattr(request.module, "PLATFORM_ENV", {}),
    }
    running = start_platform(extra_env=env)
    try:
        yield running
    finally:
        left = kill_platform(running)
    assert not left, f"processes of the platform left running after the runner was killed: {left}"


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[PlatformClient]:
    """The platform's public HTTP API as the utility's people and systems call it (see tests/support/client.py)."""
    async with PlatformClient(platform) as client:
        yield client
