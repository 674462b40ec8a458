"""The identity provider: the realm generated from our staff directory, and a real Keycloak serving it.

What the services and the console rely on: an access token names the person (`staff_id`, `name`), their
`roles`, `department` and `crew`, and is meant for `utility-services`; the console client is confidential with
PKCE and takes no passwords; a wrong password gets no token.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import jwt
import pytest

from embedded.demo_realm import (
    ACCESS_TOKEN_LIFESPAN_S,
    AUDIENCE,
    CONSOLE_CLIENT_ID,
    DEMO_STAFF,
    ROLES,
    TEST_CLIENT_ID,
    StaffDirectoryError,
    generate_realm,
    load_staff,
)
from embedded.keycloak_dist import KeycloakDistError, java_for_keycloak
from embedded.platform import _console_secret
from shared.http.person import STAFF_ROLES, PersonTokens
from shared.http.problems import Problem
from tests.support.browser import chromium
from tests.support.identity import IdentityProvider

DEMO_ROTA = DEMO_STAFF.with_name("rota.csv")
DEMO_IDS = {
    "agent.li",
    "agent.wang",
    "repair.zhao",
    "billing.sun",
    "cs.zhou",
    "crew1.chen",
    "crew1.liu",
    "crew2.yang",
    "supervisor.wu",
    "duty.zheng",
    "manager.qian",
    "leader.he",
    "hr.lin",
    "pm.feng",
    "tech.gao",
    "cs.ma",
}


def _claims(token: str) -> dict[str, object]:
    """Claims without checking the signature: what the provider put in (verification is PersonTokens' job)."""
    return jwt.decode(token, options={"verify_signature": False})


def _client(realm: dict, client_id: str) -> dict:
    return next(c for c in realm["clients"] if c["clientId"] == client_id)


# -- the realm generated from staff.csv (no Keycloak) ------------------------------------------------------------


def test_demo_directory_has_the_demo_staff_with_known_roles_and_departments() -> None:
    staff = {m.staff_id: m for m in load_staff()}
    assert set(staff) == DEMO_IDS
    assert set(ROLES) == STAFF_ROLES  # the realm's roles are the ones the services understand
    assert staff["crew1.chen"].crew == "repair-crew-1" and staff["crew1.chen"].department == "repair"
    assert staff["billing.sun"].roles == ("dispatcher",) and staff["billing.sun"].department == "billing"
    assert staff["agent.li"].department is None and staff["agent.li"].email == "agent.li@demo-utility.example"


def test_realm_has_every_person_with_roles_and_attributes() -> None:
    staff = load_staff()
    realm = generate_realm(staff, console_secret="s3cret", password="pw-1")
    assert realm["realm"] == "utility" and realm["accessTokenLifespan"] == ACCESS_TOKEN_LIFESPAN_S
    assert {r["name"] for r in realm["roles"]["realm"]} == set(ROLES)
    users = {u["username"]: u for u in realm["users"]}
    assert set(users) == {m.staff_id for m in staff}
    for member in staff:
        user = users[member.staff_id]
        assert user["firstName"] == member.display_name
        assert user["realmRoles"] == list(member.roles)
        assert user["attributes"]["staff_id"] == [member.staff_id]
        assert user["attributes"].get("department") == ([member.department] if member.department else None)
        assert user["attributes"].get("crew") == ([member.crew] if member.crew else None)
        assert user["credentials"] == [{"type": "password", "value": "pw-1", "temporary": False}]
        assert user["email"] == member.contact and user["requiredActions"] == []


def test_console_client_is_confidential_with_pkce_and_no_password_grant() -> None:
    realm = generate_realm(load_staff(), console_secret="s3cret")
    console = _client(realm, CONSOLE_CLIENT_ID)
    assert console["publicClient"] is False and console["secret"] == "s3cret"
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert console["standardFlowEnabled"] is True
    assert console["directAccessGrantsEnabled"] is False and console["implicitFlowEnabled"] is False
    assert console["serviceAccountsEnabled"] is False
    # The demo and production realms have no password-grant client; only the test suite's realm does.
    assert [c["clientId"] for c in realm["clients"]] == [CONSOLE_CLIENT_ID]
    tests_realm = generate_realm(load_staff(), console_secret="s3cret", for_tests=True)
    assert _client(tests_realm, TEST_CLIENT_ID)["directAccessGrantsEnabled"] is True


def test_every_client_maps_our_claims_into_access_tokens() -> None:
    realm = generate_realm(load_staff(), console_secret="s3cret", for_tests=True)
    for client in realm["clients"]:
        mappers = {m["name"]: m for m in client["protocolMappers"]}
        assert mappers["audience utility-services"]["config"]["included.custom.audience"] == AUDIENCE
        for claim in ("staff_id", "name", "roles", "department", "crew"):
            config = mappers[claim]["config"]
            assert config.get("claim.name", claim) == claim
            assert config["access.token.claim"] == config["id.token.claim"] == config["userinfo.token.claim"] == "true"
        assert mappers["roles"]["config"]["multivalued"] == "true"


def test_directory_rows_are_checked(tmp_path: Path) -> None:
    header = "staff_id,display_name,display_name_en,roles,department,crew,contact\n"
    bad_rows = {
        "role": "x.y,某人,Someone,janitor,,,\n",
        "department": "x.y,某人,Someone,dispatcher,gas,,\n",
        "upper case id": "X.Y,某人,Someone,agent,,,\n",
        "duplicate": "x.y,某人,Someone,agent,,,\nx.y,某人,Someone,agent,,,\n",
    }
    for what, rows in bad_rows.items():
        path = tmp_path / f"{what}.csv"
        path.write_text(header + rows, encoding="utf-8")
        with pytest.raises(StaffDirectoryError):
            load_staff(path)


def test_demo_rota_names_directory_people_and_covers_now() -> None:
    staff = {m.staff_id: m for m in load_staff()}
    with DEMO_ROTA.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    now = datetime.now(UTC)
    on_duty = set()
    for row in rows:
        assert row["duty"] in {"duty_manager", "department_manager", "on_call"}
        assert row["staff_id"] in staff
        starts = datetime.fromisoformat(row["starts_at"])
        ends = datetime.fromisoformat(row["ends_at"]) if row["ends_at"] else None
        if starts <= now and (ends is None or now < ends):
            on_duty.add((row["duty"], row["department"] or None))
    assert ("duty_manager", None) in on_duty
    assert ("department_manager", "repair") in on_duty
    assert {d for duty, d in on_duty if duty == "on_call"} >= {"repair", "billing", "customer_service"}


def test_without_java_21_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java17 = tmp_path / "jdk-17" / "bin" / "java"  # answers `-version` as the machines' default Java does
    java17.parent.mkdir(parents=True)
    java17.write_text("#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n", encoding="utf-8")
    java17.chmod(0o755)
    monkeypatch.delenv("KEYCLOAK_JAVA_HOME", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(java17.parent.parent))
    monkeypatch.setenv("PATH", str(java17.parent))
    monkeypatch.setattr("embedded.keycloak_dist.glob.glob", lambda pattern: [str(java17)])
    java_for_keycloak.cache_clear()
    try:
        with pytest.raises(KeycloakDistError, match=r"Java 21\+.*KEYCLOAK_JAVA_HOME"):
            java_for_keycloak()
    finally:
        java_for_keycloak.cache_clear()


def test_make_runs_console_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "keycloak" / "console-client-secret"
    secret = _console_secret(path)
    assert len(secret) >= 32 and _console_secret(path) == secret
    assert path.stat().st_mode & 0o777 == 0o600


# -- a real Keycloak ---------------------------------------------------------------------------------------------


def test_discovery_document(identity_provider: IdentityProvider) -> None:
    response = httpx.get(f"{identity_provider.issuer}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == identity_provider.issuer
    assert document["issuer"].startswith("http://127.0.0.1:") and document["issuer"].endswith("/realms/utility")
    assert "S256" in document["code_challenge_methods_supported"]
    assert "authorization_code" in document["grant_types_supported"]
    assert document["jwks_uri"] == f"{identity_provider.issuer}/protocol/openid-connect/certs"


def test_agent_access_token_names_the_person(identity_provider: IdentityProvider) -> None:
    claims = _claims(identity_provider.token("agent.li"))
    assert claims["iss"] == identity_provider.issuer
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert AUDIENCE in audience
    assert claims["staff_id"] == "agent.li"
    assert claims["name"] == "李娜"
    assert claims["roles"] == ["agent"]
    assert "department" not in claims and "crew" not in claims  # empty attributes are left out
    assert int(claims["exp"]) - int(claims["iat"]) == ACCESS_TOKEN_LIFESPAN_S


def test_crew_and_department_claims(identity_provider: IdentityProvider) -> None:
    crew = _claims(identity_provider.token("crew1.chen"))
    assert (crew["staff_id"], crew["roles"], crew["department"], crew["crew"]) == (
        "crew1.chen",
        ["crew"],
        "repair",
        "repair-crew-1",
    )
    dispatcher = _claims(identity_provider.token("billing.sun"))
    assert dispatcher["department"] == "billing" and dispatcher["roles"] == ["dispatcher"]
    assert "crew" not in dispatcher


def test_id_token_and_userinfo_carry_the_same_claims(identity_provider: IdentityProvider) -> None:
    body = identity_provider.password_grant("crew2.yang").json()
    id_claims = _claims(body["id_token"])
    assert (id_claims["staff_id"], id_claims["name"], id_claims["roles"], id_claims["crew"]) == (
        "crew2.yang",
        "杨帆",
        ["crew"],
        "repair-crew-2",
    )
    userinfo = httpx.get(
        f"{identity_provider.issuer}/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200
    info = userinfo.json()
    assert (info["staff_id"], info["roles"], info["department"], info["crew"]) == (
        "crew2.yang",
        ["crew"],
        "repair",
        "repair-crew-2",
    )


def test_wrong_password_is_refused(identity_provider: IdentityProvider) -> None:
    response = identity_provider.password_grant("agent.li", password="not-the-password")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


def test_console_client_takes_no_passwords(identity_provider: IdentityProvider) -> None:
    response = httpx.post(
        f"{identity_provider.issuer}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": identity_provider.console_client_id,
            "client_secret": identity_provider.console_client_secret,
            "username": "agent.li",
            "password": identity_provider.password,
        },
        timeout=10,
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


async def test_services_verify_the_token_as_a_person(identity_provider: IdentityProvider) -> None:
    tokens = PersonTokens(issuer=identity_provider.issuer, audience=identity_provider.audience)
    person = await tokens.verify(identity_provider.token("crew1.liu"))
    assert person.staff_id == "crew1.liu" and person.name == "刘洋"
    assert person.roles == frozenset({"crew"})
    assert (person.department, person.crew) == ("repair", "repair-crew-1")
    manager = await tokens.verify(identity_provider.token("manager.qian"))
    assert manager.has("department_manager") and manager.department == "repair"
    # The same token checked for another audience names nobody.
    with pytest.raises(Problem) as wrong_audience:
        await PersonTokens(issuer=identity_provider.issuer, audience="another-api").verify(
            identity_provider.token("crew1.liu")
        )
    assert wrong_audience.value.status == 401


@contextmanager
def _callback_server() -> Iterator[tuple[str, list[str]]]:
    """A local page the provider sends the browser back to (the console's callback), noting each URL it got."""
    landed: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/auth/callback"):  # not the browser's /favicon.ico
                landed.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"signed in")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/auth/callback", landed
    finally:
        server.shutdown()
        server.server_close()


def _authorize_url(provider: IdentityProvider, redirect_uri: str, challenge: str | None) -> str:
    query = {
        "client_id": provider.console_client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect_uri,
        "state": secrets.token_urlsafe(8),
    }
    if challenge is not None:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{provider.issuer}/protocol/openid-connect/auth?{urllib.parse.urlencode(query)}"


def _query(path: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)


def test_console_signs_a_person_in_with_code_and_pkce_in_a_browser(identity_provider: IdentityProvider) -> None:
    """The console's flow at the real provider: its sign-in page in Chromium, the code sent back to a local
    address and exchanged with the client secret and the PKCE verifier. Without a challenge there is no code;
    with a wrong verifier the code buys no token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    with _callback_server() as (redirect_uri, landed), chromium() as browser:
        page = browser.new_page()
        page.goto(_authorize_url(identity_provider, redirect_uri, None))
        page.wait_for_url(f"{redirect_uri}**")
        assert _query(landed[-1])["error"] == ["invalid_request"]

        page.goto(_authorize_url(identity_provider, redirect_uri, challenge))
        page.fill("#username", "repair.zhao")
        page.fill("#password", identity_provider.password)
        page.click("#kc-login")
        page.wait_for_url(f"{redirect_uri}**")
        first_code = _query(landed[-1])["code"][0]
        # Signed in at the provider: the next authorization needs no password (the console's next sign-in).
        page.goto(_authorize_url(identity_provider, redirect_uri, challenge))
        page.wait_for_url(f"{redirect_uri}**")
        second_code = _query(landed[-1])["code"][0]

    token_url = f"{identity_provider.issuer}/protocol/openid-connect/token"
    exchange = {
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri,
        "client_id": identity_provider.console_client_id,
        "client_secret": identity_provider.console_client_secret,
    }
    wrong = httpx.post(token_url, data={**exchange, "code": first_code, "code_verifier": "x" * 43}, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant", wrong.text
    response = httpx.post(token_url, data={**exchange, "code": second_code, "code_verifier": verifier}, timeout=10)
    assert response.status_code == 200, response.text
    claims = _claims(response.json()["access_token"])
    assert (claims["staff_id"], claims["name"], claims["roles"], claims["department"]) == (
        "repair.zhao",
        "赵磊",
        ["dispatcher"],
        "repair",
    )
    assert claims["azp"] == identity_provider.console_client_id
