"""The settings every end-to-end platform starts with (a module's `PLATFORM_ENV` goes on top)."""

from __future__ import annotations

from pathlib import Path

from tests.support.identity import IdentityProvider

#: The SLA drill: round limits, one minute lasting 60 ms, timers polled every 50 ms.
SLA_DRILL = {
    "SLA_POLICY_PATH": str(Path(__file__).with_name("sla_drill_policy.toml")),
    "SLA_TIME_SCALE": "0.001",
    "TIMER_POLL_MS": "50",
}


def platform_env(module_env: dict[str, str], identity_provider: IdentityProvider) -> dict[str, str]:
    """The SLA drill's settings, the session's Keycloak (OIDC_ISSUER) rather than one per platform (same realm,
    seconds saved), quiet hours off (every message goes at once, whatever the hour the suite runs), and a module's
    own `PLATFORM_ENV` on top."""
    return {**SLA_DRILL, "NOTIFY_QUIET_HOURS": "", **identity_provider.platform_env(), **module_env}
