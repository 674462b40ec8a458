"""The platform the fault modules run on: the shipped settings, but messages held and the duty clock long."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.identity import IdentityProvider
from tests.support.platform import Platform, start_platform, stop_platform

#: These modules prove the pipeline exact under faults; delivery under faults is proven in e2e/test_delivery.py. So
#: routine customer messages are held all day (quiet hours 00:00-23:59): the same work whatever the hour the suite
#: runs, and no vendor traffic beside the streams. Urgent messages (an incident's callers, staff) still go.
FAULT_ENV = {"NOTIFY_QUIET_HOURS": "00:00-23:59"}
SHIPPED_POLICY = Path(__file__).resolve().parents[3] / "shared" / "sla" / "policy.toml"
#: The duty manager's limit in the fault modules' policy: longer than any module runs.
DUTY_LIMIT = "2h"


@contextmanager
def fault_platform(
    identity_provider: IdentityProvider, fault_policy: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[Platform]:
    """A platform with the fault modules' settings (and `extra_env`) and the session's Keycloak, not one of its
    own."""
    extra = {**identity_provider.platform_env(), **FAULT_ENV, "SLA_POLICY_PATH": str(fault_policy), **(extra_env or {})}
    running = start_platform(extra_env=extra)
    try:
        yield running
    finally:
        stop_platform(running)
