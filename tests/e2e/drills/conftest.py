"""One platform for the drills of the handling rules and of a storm: the same settings (the SLA drill's, no module
of its own), each module with its own customers, so they share one start (half a minute on 2 cores)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.platform_settings import platform_env
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, crashed_after


@pytest.fixture(scope="package")
def platform(identity_provider: IdentityProvider) -> Iterator[Platform]:
    with crashed_after(platform_env({}, identity_provider)) as running:
        yield running
