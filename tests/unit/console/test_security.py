"""The console's browser-side safety: the CSP and companion headers on every answer, the session cookie's flags,
the CSRF comparison and the `next` paths a sign-in may return to."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.console.model import safe_next
from services.console.security import (
    SESSION_COOKIE,
    SecurityHeaders,
    content_security_policy,
    csrf_matches,
    set_session_cookie,
    set_sign_in_cookie,
)

ISSUER_ORIGIN = "https://id.utility.example"


def test_the_policy_allows_only_the_consoles_own_scripts_and_styles() -> None:
    assert content_security_policy(ISSUER_ORIGIN) == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self' {ISSUER_ORIGIN}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    assert "unsafe-inline" not in content_security_policy(None)
    assert "form-action 'self';" in content_security_policy(None)


async def _get(path: str) -> httpx.Response:
    async def page(request: object) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/{path:path}", page)])
    wrapped = SecurityHeaders(app, issuer_origin=ISSUER_ORIGIN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://console") as client:
        return await client.get(path)


async def test_every_page_carries_the_policy_and_is_never_cached() -> None:
    answer = await _get("/agent/complaints/new")
    assert answer.headers["content-security-policy"] == content_security_policy(ISSUER_ORIGIN)
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["cache-control"] == "no-store"


async def test_the_consoles_policy_wins_over_the_platforms_default_page_policy() -> None:
    """Every service's pages get a default CSP inside the console's middleware (`shared.http.exposure`), whose
    form-action is 'self' alone: kept, it stopped the sign-out form from leading to the provider."""
    from starlette.middleware import Middleware

    from shared.http.exposure import Exposure

    async def page(request: object) -> Response:
        return Response("<p>ok</p>", media_type="text/html")

    outer_first = [Middleware(SecurityHeaders, issuer_origin=ISSUER_ORIGIN), Middleware(Exposure)]
    app = Starlette(routes=[Route("/", page)], middleware=outer_first)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
        answer = await client.get("/")
    assert answer.headers["content-security-policy"] == content_security_policy(ISSUER_ORIGIN)
    assert answer.headers["referrer-policy"] == "same-origin"


async def test_static_files_may_be_cached_and_the_api_documents_keep_their_cdn() -> None:
    static = await _get("/static/console.css")
    assert "cache-control" not in static.headers
    assert static.headers["content-security-policy"]
    docs = await _get("/docs")
    assert "content-security-policy" not in docs.headers
    assert docs.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_httponly_lax_root_and_secure_on_https(secure: bool) -> None:
    response = Response()
    set_session_cookie(response, "opaque-id", secure=secure)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=opaque-id;")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "path=/" in cookie.replace(" ", "").lower().split(";")
    assert "samesite=lax" in cookie.lower()
    assert ("secure" in attributes) is secure
    assert "max-age" not in attributes and "expires" not in attributes


def test_the_sign_in_cookie_only_reaches_the_callback_and_expires() -> None:
    response = Response()
    set_sign_in_cookie(response, "state", secure=True, max_age=600)
    cookie = response.headers["set-cookie"].lower()
    assert "path=/auth" in cookie and "max-age=600" in cookie and "httponly" in cookie and "secure" in cookie


def test_csrf_tokens_compare_exactly() -> None:
    assert csrf_matches("token-1", "token-1")
    assert not csrf_matches("token-1", "token-2")
    assert not csrf_matches("token-1", "")
    assert not csrf_matches("token-1", None)
    assert not csrf_matches("token-1", "token-1 ")


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/agent/complaints/new", "/agent/complaints/new"),
        ("/cases/TS-20261123-000001?lang=en", "/cases/TS-20261123-000001?lang=en"),
        ("/departments/repair/queue#top", "/departments/repair/queue#top"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/phish", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("relative/path", "/"),
        ("/" + "a" * 2001, "/"),
    ],
)
def test_sign_in_returns_only_to_local_paths(candidate: str | None, expected: str) -> None:
    assert safe_next(candidate) == expected
