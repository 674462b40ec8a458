"""How `make test` spreads the suite over two pytest-xdist workers (`-n 2`, the hook in tests/conftest.py).

One unit runs on one worker, its tests one after another in file order: every test that starts the whole platform
(e2e, faults) or the identity provider is in the single "platform" unit — two platforms at once would starve each
other on two cores, and Keycloak is started once. Every other module is a unit of its own, so its module fixtures
(an in-process service, a private broker) are set up once and its tests keep their order.

The units are decided from node ids alone (xdist's `--dist loadgroup` cannot be used: with pytest 9 it no longer
changes the node ids it groups by), so the modules that use the identity provider outside e2e and faults are named
here; `unnamed_identity_users` finds one that is not, and the suite refuses to start then.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xdist.scheduler import LoadScopeScheduling

PLATFORM = "platform"
PLATFORM_FOLDERS = ("tests/e2e/", "tests/faults/")
IDENTITY_MODULES = frozenset(
    {
        "tests/service/test_console_signin.py",
        "tests/service/test_identity_provider.py",
        "tests/service/test_staff_access_table.py",
    }
)


def work_unit(nodeid: str) -> str:
    """The unit a test runs in: "platform", or its module's path."""
    module = nodeid.split("::", 1)[0]
    return PLATFORM if module.startswith(PLATFORM_FOLDERS) or module in IDENTITY_MODULES else module


def unnamed_identity_users(items: Iterable[Any]) -> list[str]:
    """Tests that use the identity provider but would not run in the platform unit."""
    return [
        item.nodeid
        for item in items
        if "identity_provider" in getattr(item, "fixturenames", ()) and work_unit(item.nodeid) != PLATFORM
    ]


class PlatformApart(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """xdist's load-by-scope scheduling, the scope being `work_unit` (largest units first: the platform's)."""

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)
