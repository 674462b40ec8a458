"""One platform process tree per fault module (scenarios of a module share it and its ledger)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.support.platform import Platform, start_platform, stop_platform
from tests.faults.support.posting import Ledger


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    running = start_platform()
    try:
        yield running
    finally:
        stop_platform(running)


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()
