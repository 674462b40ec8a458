"""Signing in to the console through the real identity provider (Keycloak, the `identity_provider` fixture), as a
browser does: the console sends it to the provider (authorization code + PKCE, state, nonce), the person fills in
the provider's own login form, the provider sends the browser back with a code, and the console trades it for
tokens as a confidential client. Then: the session cookie's flags, the person's name on the agent screen, the
access token refreshed with the refresh token, and sign-out ending the provider's session too.

The browser is httpx here (a client with its own cookie jar for the provider's pages); the console runs
in-process at the public URL the provider's client allows (http://127.0.0.1:...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from services.console.handlers import id_hash
from tests.support.console import console_database, running_console
from tests.support.identity import IdentityProvider
from tests.support.infrastructure import Infrastructure
from tests.support.provider_sign_in import ProviderBrowser, login_form_action, sign_in_at_provider

PUBLIC_URL = "http://127.0.0.1:8904"


def _browser() -> ProviderBrowser:
    return ProviderBrowser()


@pytest.fixture(scope="module")
async def console(
    migrated: Infrastructure, identity_provider: IdentityProvider
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with (
        console_database(migrated.database_url) as database_url,
        running_console(
            database_url,
            oidc_issuer=identity_provider.issuer,
            oidc_audience=identity_provider.audience,
            console_oidc_client_id=identity_provider.console_client_id,
            console_oidc_client_secret=identity_provider.console_client_secret,
            console_public_url=PUBLIC_URL,
        ) as running,
    ):
        yield running


async def _sign_in(
    console: httpx.AsyncClient, provider: ProviderBrowser, staff_id: str, password: str, next_path: str = "/"
) -> httpx.Response:
    """What a browser does from `/login` to the console's answer to the provider's redirect."""
    return await sign_in_at_provider(console, provider, staff_id, password, public_url=PUBLIC_URL, next_path=next_path)


async def test_an_agent_signs_in_through_the_provider_and_lands_on_their_screen(
    console: tuple[FastAPI, httpx.AsyncClient], identity_provider: IdentityProvider
) -> None:
    app, client = console
    async with _browser() as provider:
        start = await client.get("/login")
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [
            identity_provider.console_client_id
        ]

        signed = await _sign_in(client, provider, "agent.li", identity_provider.password)
        assert signed.status_code == 303, signed.text[:500]
        assert signed.headers["location"] == "/agent/complaints/new"
        cookies = signed.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith("console_session="))
        attributes = [part.strip().lower() for part in session_cookie.split(";")]
        assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
        assert "secure" not in attributes  # http://127.0.0.1: Secure only when the public URL is https
        session_id = session_cookie.split(";")[0].removeprefix("console_session=")
        assert len(session_id) >= 40

        stored = await app.state.pool.fetchrow(
            "SELECT staff_id, person, access_token, refresh_token FROM console.sessions WHERE session_hash = $1",
            id_hash(session_id),
        )
        assert stored["staff_id"] == "agent.li" and "agent" in stored["person"]["roles"]
        assert session_id not in (stored["access_token"], stored["refresh_token"])
        assert (
            await app.state.pool.fetchval("SELECT count(*) FROM console.sessions WHERE session_hash = $1", session_id)
            == 0
        )

        client.cookies.clear()
        client.cookies.set("console_session", session_id)
        page = await client.get("/agent/complaints/new")
        assert page.status_code == 200
        assert 'data-testid="person-name">李娜<' in page.text
        assert "客服坐席" in page.text
        member = await app.state.pool.fetchrow(
            "SELECT display_name, roles, last_sign_in_at FROM console.staff WHERE staff_id = 'agent.li'"
        )
        assert (
            member["display_name"] == "李娜" and member["roles"] == ["agent"] and member["last_sign_in_at"] is not None
        )


async def test_a_wrong_password_signs_nobody_in(
    console: tuple[FastAPI, httpx.AsyncClient], identity_provider: IdentityProvider
) -> None:
    _, client = console
    async with _browser() as provider:
        client.cookies.clear()
        start = await client.get("/login")
        login_page = await provider.get(start.headers["location"])
        action = login_form_action(login_page.text)
        assert action is not None
        refused = await provider.post(action, data={"username": "agent.li", "password": "wrong"})
        assert refused.status_code == 200 and "console_session" not in refused.headers.get("set-cookie", "")
        # A code the provider never issued is refused by the token endpoint: no session.
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        forged = await client.get(f"/auth/callback?code=forged&state={state}")
        assert forged.status_code == 400
        assert "console_session" not in forged.headers.get("set-cookie", "")


async def test_the_access_token_is_refreshed_and_sign_out_ends_the_providers_session(
    console: tuple[FastAPI, httpx.AsyncClient], identity_provider: IdentityProvider
) -> None:
    app, client = console
    async with _browser() as provider:
        signed = await _sign_in(
            client, provider, "repair.zhao", identity_provider.password, "/departments/repair/queue"
        )
        assert signed.headers["location"] == "/departments/repair/queue"
        session_id = signed.cookies["console_session"]
        key = id_hash(session_id)
        before = await app.state.pool.fetchrow(
            "SELECT access_token, csrf_token FROM console.sessions WHERE session_hash = $1", key
        )

        # The access token runs out now: the next request refreshes it at the provider.
        await app.state.pool.execute(
            "UPDATE console.sessions SET access_expires_at = $2 WHERE session_hash = $1", key, datetime.now(UTC)
        )
        session = await app.state.signing_in.current(session_id)
        assert session is not None and session.person.staff_id == "repair.zhao"
        assert session.access_token != before["access_token"] and session.access_expires_at > datetime.now(UTC)
        assert session.csrf_token == before["csrf_token"]
        assert "dispatcher" in session.person.roles and session.person.department == "repair"

        client.cookies.clear()
        client.cookies.set("console_session", session_id)
        out = await client.post("/logout", files=[("csrf_token", (None, before["csrf_token"]))])
        assert out.status_code == 303
        end = urlsplit(out.headers["location"])
        assert out.headers["location"].startswith(f"{identity_provider.issuer}/protocol/openid-connect/logout?")
        assert parse_qs(end.query)["post_logout_redirect_uri"] == [f"{PUBLIC_URL}/signed-out"]
        assert await app.state.pool.fetchval("SELECT count(*) FROM console.sessions WHERE session_hash = $1", key) == 0
        left = await provider.get(out.headers["location"])
        assert left.status_code in (302, 303) and left.headers["location"] == f"{PUBLIC_URL}/signed-out"

        # The provider's own session is over: a new sign-in asks for the password again.
        again = await client.get("/login")
        assert (await provider.get(again.headers["location"])).status_code == 200
        assert (await client.get("/departments/repair/queue")).status_code == 303
