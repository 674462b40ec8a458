"""What keeps the console's pages safe in a browser: a strict Content-Security-Policy and companions on every
answer, the session cookie's flags, and the CSRF check on every POST.

Why these: the pages show customers' names, phones and addresses, and act as the signed-in person. The CSP lets
only the console's own scripts and styles run (no inline script or style, no CDN), so an injected `<script>` in
a complaint text does nothing; `frame-ancestors 'none'` stops click-jacking; `form-action` lets a form lead only
here or to the identity provider (sign-out ends there). The session cookie is HttpOnly (no script reads it),
SameSite=Lax (another site's form does not carry it) and Secure on https. And every POST carries the session's
CSRF token — a hidden field in forms, the `X-CSRF-Token` header on htmx requests — compared in constant time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "console_session"
SIGN_IN_COOKIE = "console_sign_in"
LANG_COOKIE = "console_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: FastAPI's interactive API documents load their script from a CDN: they get a CSP of their own.
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def content_security_policy(issuer_origin: str | None) -> str:
    form_action = " ".join(["'self'", *([issuer_origin] if issuer_origin else [])])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )


def page_headers(issuer_origin: str | None) -> dict[str, str]:
    """Headers every console answer carries."""
    return {
        "Content-Security-Policy": content_security_policy(issuer_origin),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "geolocation=(), microphone=(), camera=(self)",
    }


class SecurityHeaders:
    """ASGI middleware: the page headers on every answer; personal pages are never cached."""

    def __init__(self, app: ASGIApp, *, issuer_origin: str | None, docs_paths: Iterable[str] = DOCS_PATHS) -> None:
        self.app = app
        self.headers = page_headers(issuer_origin)
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        static = path.startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name == "Content-Security-Policy" and path in self.docs_paths:
                        continue
                    # Ours win over the platform's defaults (shared.http.exposure, inside this middleware): the
                    # sign-out form must be allowed to lead to the provider (form-action).
                    headers[name] = value
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_matches(expected: str, presented: str | None) -> bool:
    return bool(presented) and secrets.compare_digest(expected.encode(), (presented or "").encode())


def set_session_cookie(response: Response, session_id: str, *, secure: bool) -> None:
    """The opaque session id; no Max-Age, so it ends with the browser (the server-side expiry rules anyway)."""
    response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, samesite="lax", secure=secure)


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


def set_sign_in_cookie(response: Response, state: str, *, secure: bool, max_age: int) -> None:
    """Ties the provider's answer to the browser that asked (the `state`), only sent to the callback."""
    response.set_cookie(
        SIGN_IN_COOKIE, state, path="/auth", max_age=max_age, httponly=True, samesite="lax", secure=secure
    )


def clear_sign_in_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SIGN_IN_COOKIE, path="/auth", httponly=True, samesite="lax", secure=secure)
