"""One platform process tree per fault module (scenarios of a module share it and its ledger)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support.ledger import Ledger
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, start_platform, stop_platform

#: These modules prove the pipeline exact under faults; delivery under faults is proven in e2e/test_delivery.py. So
#: routine customer messages are held all day (quiet hours 00:00-23:59): the same work whatever the hour the suite
#: runs, and no vendor traffic beside the streams. Urgent messages (an incident's callers, staff) still go.
FAULT_ENV = {"NOTIFY_QUIET_HOURS": "00:00-23:59"}
SHIPPED_POLICY = Path(__file__).resolve().parents[2] / "shared" / "sla" / "policy.toml"
#: The duty manager's limit in the fault modules' policy: longer than any module runs.
DUTY_LIMIT = "2h"


@pytest.fixture(scope="session")
def fault_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped SLA policy with the duty manager's clock longer than a module. A sixth of the streams come in at
    the counter and call the duty manager; the shipped 3 minutes would run out in the middle of a module's checks
    (a warning, a breach, then a rung each interval), so the platform would never be quiet to compare. The fault
    modules prove the pipeline exact under faults; the duty clock is proven in tests/e2e/supervision."""
    shipped = SHIPPED_POLICY.read_text(encoding="utf-8")
    policy, found = re.subn(r'(\[duty_manager\][^\[]*?\nacknowledge = )"[^"]*"', rf'\g<1>"{DUTY_LIMIT}"', shipped)
    assert found == 1, f"no [duty_manager] acknowledge in {SHIPPED_POLICY}"
    path = tmp_path_factory.mktemp("fault-policy") / "policy.toml"
    path.write_text(policy, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def platform(
    request: pytest.FixtureRequest, identity_provider: IdentityProvider, fault_policy: Path
) -> Iterator[Platform]:
    """The module's `PLATFORM_ENV` (if any) on top; the session's Keycloak, not one of its own."""
    extra = {
        **identity_provider.platform_env(),
        **FAULT_ENV,
        "SLA_POLICY_PATH": str(fault_policy),
        **getattr(request.module, "PLATFORM_ENV", {}),
    }
    running = start_platform(extra_env=extra)
    try:
        yield running
    finally:
        stop_platform(running)


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()
