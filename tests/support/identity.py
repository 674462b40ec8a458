"""The test session's identity provider: one real Keycloak (embedded.identity) serving the demo city's staff.

Tests sign people in through a real provider process, never a stubbed function. The realm is the demo one
generated from `deploy/demo-city/staff.csv`, plus the `utility-tests` client whose password grant lets a test
fetch a person's access token directly (`IdentityProvider.token`). Browser tests sign in at Keycloak's own page
with the `console` client and `password`, as a person would.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from embedded.demo_realm import (
    AUDIENCE,
    CONSOLE_CLIENT_ID,
    DEMO_PASSWORD,
    TEST_CLIENT_ID,
    generate_realm,
    load_staff,
)
from embedded.identity import EmbeddedKeycloak

#: A cached token is handed out only while it has this much life left (a test may run for a while with it).
MIN_TOKEN_LIFE_S = 60.0


@dataclass
class IdentityProvider:
    """A running provider and what tests need from it: issuer, audience, the console client, demo password."""

    issuer: str
    audience: str = AUDIENCE
    console_client_id: str = CONSOLE_CLIENT_ID
    console_client_secret: str = ""
    password: str = DEMO_PASSWORD
    test_client_id: str = TEST_CLIENT_ID
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    def password_grant(self, staff_id: str, password: str | None = None) -> httpx.Response:
        """The provider's raw answer to a password grant on the test client (to see a refusal, too)."""
        return httpx.post(
            self.token_url,
            data={
                "grant_type": "password",
                "client_id": self.test_client_id,
                "username": staff_id,
                "password": self.password if password is None else password,
                "scope": "openid",
            },
            timeout=30.0,
        )

    def token(self, staff_id: str) -> str:
        """`staff_id`'s access token, reused until it nears expiry (each grant costs a password hash)."""
        with self._lock:
            cached = self._tokens.get(staff_id)
            if cached is not None and cached[1] - time.monotonic() > MIN_TOKEN_LIFE_S:
                return cached[0]
            response = self.password_grant(staff_id)
            if response.status_code != 200:
                raise AssertionError(f"no token for {staff_id!r}: HTTP {response.status_code} {response.text}")
            body = response.json()
            self._tokens[staff_id] = (body["access_token"], time.monotonic() + float(body["expires_in"]))
            return str(body["access_token"])

    def platform_env(self) -> dict[str, str]:
        """What `python -m embedded` needs to use this provider instead of starting its own (OIDC_ISSUER)."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_AUDIENCE": self.audience,
            "CONSOLE_OIDC_CLIENT_ID": self.console_client_id,
            "CONSOLE_OIDC_CLIENT_SECRET": self.console_client_secret,
        }


@contextlib.contextmanager
def provide_identity(workdir: Path) -> Iterator[IdentityProvider]:
    """Start Keycloak with the demo staff (and the test client) in `workdir` on a free port; stop it after."""
    secret = secrets.token_urlsafe(24)
    keycloak = EmbeddedKeycloak(
        workdir / "keycloak",
        generate_realm(load_staff(), console_secret=secret, for_tests=True),
        log_path=workdir / "keycloak.log",
        die_with_parent=True,
    )
    try:
        keycloak.start()
        yield IdentityProvider(issuer=keycloak.issuer, console_client_secret=secret)
    finally:
        keycloak.stop()
