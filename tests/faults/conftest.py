"""The fault modules' platform settings, and one platform process tree per module (scenarios of a module share it
and its ledger); the modules of `one_platform/` share one for the package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support.ledger import Ledger
from tests.faults.support.platform import DUTY_LIMIT, SHIPPED_POLICY, fault_platform
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform


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
def platform(identity_provider: IdentityProvider, fault_policy: Path) -> Iterator[Platform]:
    with fault_platform(identity_provider, fault_policy) as running:
        yield running


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()
