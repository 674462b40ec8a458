"""One platform process tree per fault module (scenarios of a module share it and its ledger)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.support.ledger import Ledger
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, start_platform, stop_platform

#: These modules prove the pipeline exact under faults; delivery under faults is proven in e2e/test_delivery.py. So
#: routine customer messages are held all day (quiet hours 00:00-23:59): the same work whatever the hour the suite
#: runs, and no vendor traffic beside the streams. Urgent messages (an incident's callers, staff) still go.
FAULT_ENV = {"NOTIFY_QUIET_HOURS": "00:00-23:59"}


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, identity_provider: IdentityProvider) -> Iterator[Platform]:
    """The module's `PLATFORM_ENV` (if any) on top; the session's Keycloak, not one of its own."""
    extra = {**identity_provider.platform_env(), **FAULT_ENV, **getattr(request.module, "PLATFORM_ENV", {})}
    running = start_platform(extra_env=extra)
    try:
        yield running
    finally:
        stop_platform(running)


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()
