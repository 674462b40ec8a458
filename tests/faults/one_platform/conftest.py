"""One platform and one ledger for the package's fault modules: the broker's, the database's and the processes'
faults run one after another on the same `python -m embedded`, each stream's complaints added to the same ledger,
and every exact check after a stream covers everything posted so far in the package. Sharing saves two platform
starts, and the slow checks over all of it — reporting rebuilt from offset 0, the sweep for personal data — run
once, after every fault, in `test_rebuild_and_privacy.py` (modules run in file-name order; that one sorts last).

The price: a fault the platform does not recover from fails the modules after it too. The incident storm and the
durable restart keep platforms of their own (their checks count everything on the platform)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support.ledger import Ledger
from tests.faults.support.platform import fault_platform
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform


@pytest.fixture(scope="package")
def platform(identity_provider: IdentityProvider, fault_policy: Path) -> Iterator[Platform]:
    with fault_platform(identity_provider, fault_policy) as running:
        yield running


@pytest.fixture(scope="package")
def ledger() -> Ledger:
    return Ledger()
