"""How `make test` spreads the suite over two pytest-xdist workers (`-n 2`, the hook in tests/conftest.py).

A unit runs on one worker, its tests one after another in file order:
- "platform": every test that starts the whole platform (e2e, faults) — two platforms at once would starve each
  other on two cores — and the few modules of `ON_PLATFORM`, which even out the two workers' ends. It is collected
  first and handed out first, so it starts at once on one worker and sets the suite's length (about 16 minutes);
- "identity": the service modules that sign in at the identity provider, together, so the other worker starts its
  Keycloak once;
- every other module is a unit of its own, so its module fixtures (an in-process service, a private broker) are
  set up once and its tests keep their order. Units go in collection order, so the small unit-test modules come
  last and even out the two workers' ends.

The units are decided from node ids alone (xdist's `--dist loadgroup` cannot be used: with pytest 9 it no longer
changes the node ids it groups by), so the modules that use the identity provider outside e2e and faults are named
here; `unnamed_identity_users` finds one that is not, and the suite refuses to start then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

PLATFORM = "platform"
IDENTITY = "identity"
PLATFORM_FOLDERS = ("tests/e2e/", "tests/faults/")
IDENTITY_MODULES = frozenset(
    {
        "tests/service/test_console_signin.py",
        "tests/service/test_identity_provider.py",
        "tests/service/test_staff_access_table.py",
        "tests/e2e/test_console_inbox_browser.py",
        "tests/faults/test_durable_restart.py",
        "tests/faults/test_restore_drill.py",
    }
)
#: End-to-end and fault modules the other worker takes, so the platform worker — the suite's critical path —
#: carries less: those that start no platform (services in-process, or a few processes of their own), and the
#: durable restart and the restore drill, whose short platform starts of their own run beside the platform worker's.
OFF_PLATFORM = frozenset(
    {
        "tests/faults/test_durable_restart.py",
        "tests/faults/test_restore_drill.py",
        "tests/e2e/test_console_inbox_browser.py",
        "tests/e2e/test_dashboard_page.py",
        "tests/e2e/test_reporting_day.py",
        "tests/e2e/test_wechat_form_browser.py",
    }
)


#: Modules outside e2e and faults that join the platform worker's unit, to even out the two workers' ends: the other
#: worker carried about 110 s more (CI62: 1,090 s against 978). Ten thousand timers fired by followup processes of
#: their own, on the session's Postgres and Kafka: no platform of the worker's is up between its modules.
ON_PLATFORM = frozenset({"tests/service/test_followup_timers.py"})


def work_unit(nodeid: str) -> str:
    """The unit a test runs in: "platform", "identity", or its module's path."""
    module = nodeid.split("::", 1)[0]
    if (module.startswith(PLATFORM_FOLDERS) and module not in OFF_PLATFORM) or module in ON_PLATFORM:
        return PLATFORM
    return IDENTITY if module in IDENTITY_MODULES else module


def give_parametrized_items_their_ids(items: list[Any]) -> list[str]:
    """Schemathesis' per-operation items (`test_intake[POST /v1/complaints]`) all carry their function's node id
    under pytest 9 (it sets an attribute pytest 9 no longer reads). xdist hands tests out by node id, so it would run
    one operation per service and drop the rest without a word: each such item gets its name's parameters into its
    id. Returns the node ids still shared by several items (the suite refuses to start with any)."""
    for item in items:
        name_params = item.name.partition("[")[2].removesuffix("]")
        node_id = getattr(item, "_id", None)  # pytest 9's structured node id; no public setter
        if name_params and node_id is not None and node_id.params is None:
            item._id = node_id.with_params(name_params)
    counts = Counter(item.nodeid for item in items)
    return sorted(node_id for node_id, n in counts.items() if n > 1)


def unnamed_identity_users(items: Iterable[Any]) -> list[str]:
    """Tests that use the identity provider but would run in neither the platform nor the identity unit."""
    return [
        item.nodeid
        for item in items
        if "identity_provider" in getattr(item, "fixturenames", ())
        and work_unit(item.nodeid) not in (PLATFORM, IDENTITY)
    ]


class PlatformApart(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """xdist's load-by-scope scheduling, the scope being `work_unit`, the units in collection order (not largest
    first: the platform's, the longest, must start at once)."""

    def __init__(self, config: pytest.Config, log: Any) -> None:
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)
