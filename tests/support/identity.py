"""The test session's identity provider: one real Keycloak (embedded.identity) serving the demo city's staff.

Tests sign people in through a real provider process, never a stubbed function. The realm is the demo one
generated from `deploy/demo-city/staff.csv`, plus the `utility-tests` client whose password grant lets a test
fetch a person's access token directly (`IdentityProvider.token`). Browser tests sign in at Keycloak's own page
with the `console` client and `password`, as a person would.
"""

from __future__ import annotations

import contextlib
import json
import os
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


#: Set by the run's controller when it launched one Keycloak for all its workers (JSON: issuer, console secret).
SHARED_ENV = "UC_TEST_SHARED_IDENTITY"


def launch_shared(workdir: Path) -> EmbeddedKeycloak:
    """Launch one Keycloak, without waiting, for every worker of a `pytest -n` run (`make test`), and advertise it
    in the environment the workers are started with. Each worker would otherwise start its own: half a minute of
    both cores, twice. Launched from the controller's main thread, which lives until the run ends (the provider
    dies with that thread); the workers wait for it to answer (`shared_provider`)."""
    secret = secrets.token_urlsafe(24)
    keycloak = EmbeddedKeycloak(
        workdir / "keycloak",
        generate_realm(load_staff(), console_secret=secret, for_tests=True),
        log_path=workdir / "keycloak.log",
        die_with_parent=True,
    )
    keycloak.launch()
    os.environ[SHARED_ENV] = json.dumps({"issuer": keycloak.issuer, "secret": secret, "log": str(keycloak.log_path)})
    return keycloak


def shared_provider(timeout: float = 180.0) -> IdentityProvider | None:
    """The run's shared Keycloak once its realm answers, or None when there is none (a worker then starts its own).
    Fails naming the provider's log when it does not answer in `timeout` s."""
    advertised = os.environ.get(SHARED_ENV)
    if not advertised:
        return None
    shared = json.loads(advertised)
    discovery = f"{shared['issuer']}/.well-known/openid-configuration"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(discovery, timeout=2.0).status_code == 200:
                return IdentityProvider(issuer=shared["issuer"], console_client_secret=shared["secret"])
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the run's shared Keycloak did not answer {discovery} in {timeout:.0f} s; log {shared['log']}"
            )
        time.sleep(0.5)
