"""Signing in and out: thin routes around `signing_in.SigningIn`.

`GET /login?next=` sends the browser to the identity provider (authorization code + PKCE, state, nonce);
`GET /auth/callback` takes the provider's answer, opens the server-side session and sets only its opaque id in an
HttpOnly cookie; `POST /logout` ends the session and sends the browser to the provider's end-session endpoint.
No route catches: a refused sign-in (`SignInFailed`) is answered once, by the page errors of `bootstrap.py`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.console.auth import Acting, SignInUnavailable
from services.console.deps import Settings, SignIns, Templates, Timezone
from services.console.i18n import UI_LOCALES, chosen_language
from services.console.model import home_path, safe_next
from services.console.pages import PageContext, error_response
from services.console.security import (
    LANG_COOKIE,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    clear_session_cookie,
    clear_sign_in_cookie,
    set_session_cookie,
    set_sign_in_cookie,
)
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/login")
async def login(
    request: Request,
    settings: Settings,
    signing_in: SignIns,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    if signing_in is None:
        raise SignInUnavailable
    target = safe_next(next_path)
    if await signing_in.current(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(target, status_code=303)
    started = await signing_in.start(target, sign_in_locale(request, target))
    response = RedirectResponse(started.authorization_url, status_code=303)
    set_sign_in_cookie(
        response, started.state, secure=settings.secure_cookies, max_age=settings.console_sign_in_minutes * 60
    )
    return response


def sign_in_locale(request: Request, target: str) -> str:
    """The provider's page in the person's language: `?lang=` on `/login`, else the one the page they were sent
    from asked for (`next`'s `?lang=`: the cookie may not be set yet on that first redirect), else the language
    cookie; Chinese by default."""
    asked = request.query_params.get("lang") or parse_qs(urlsplit(target).query).get("lang", [None])[0]
    return UI_LOCALES[chosen_language(asked, request.cookies.get(LANG_COOKIE))]


@router.get("/auth/callback")
async def callback(
    request: Request,
    settings: Settings,
    signing_in: SignIns,
    env: Templates,
    timezone: Timezone,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if signing_in is None:
        raise SignInUnavailable
    page = PageContext(request, env, timezone)
    if error or not code or not state:
        # The person cancelled, or the provider refused (e.g. access_denied): they may simply try again.
        log.info("sign-in not completed at the provider", error=error)
        response = error_response(page, 400, "error.sign_in_failed", error)
        clear_sign_in_cookie(response, secure=settings.secure_cookies)
        return response
    signed = await signing_in.complete(state=state, code=code, browser_state=request.cookies.get(SIGN_IN_COOKIE))
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await signing_in.forget(previous)  # one session per browser: the one it had before is over
    target = signed.next_path if signed.next_path != "/" else home_path(signed.session.person)
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, signed.session_id, secure=settings.secure_cookies)
    clear_sign_in_cookie(redirect, secure=settings.secure_cookies)
    return redirect


@router.post("/logout")
async def logout(request: Request, _: Acting, settings: Settings, signing_in: SignIns) -> Response:
    assert signing_in is not None  # Acting needs a session, which needs sign-in
    end = await signing_in.sign_out(request.cookies.get(SESSION_COOKIE), f"{settings.public_url}/signed-out")
    response = RedirectResponse(end or "/signed-out", status_code=303)
    clear_session_cookie(response, secure=settings.secure_cookies)
    return response


@router.get("/signed-out")
async def signed_out(request: Request, env: Templates, timezone: Timezone) -> Response:
    return PageContext(request, env, timezone).render("signed_out.html")
