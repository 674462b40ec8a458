"""Signing in and out against one identity provider: the flows that call the provider between units of work.

A flow is a few `door.run` steps with the provider's answer in between, so no transaction waits on the network
(the one exception, a session's refresh, holds its row on purpose: `handlers/sessions.py`). The sign-in's
authorization request is remembered before the browser goes to the provider; the code it brings back is traded
for tokens, checked (`identity.py`), and only then a session is opened.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from services.console.handlers.context import ConsoleContext
from services.console.handlers.sessions import (
    OpenSession,
    RememberSignIn,
    end_session,
    forget_expired,
    forget_session,
    live_session,
    open_session,
    refresh_session,
    remember_sign_in,
    take_sign_in,
)
from services.console.identity import person_of
from services.console.model import ConsoleFact, Session, id_hash, safe_next
from services.console.oidc import OidcClient, ProviderUnavailable, SignInFailed, new_authorization_request
from services.console.repository import ConsoleRepository
from shared.handling import Door
from shared.http.person import PersonTokens
from shared.logging import get_logger
from shared.observability import committed

log = get_logger(__name__)


@dataclass(frozen=True)
class SignInStarted:
    state: str
    authorization_url: str


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    session: Session
    next_path: str


class SigningIn:
    """Sign-in, sessions and sign-out against one identity provider, through the console's door."""

    def __init__(self, door: Door[ConsoleRepository, ConsoleContext], oidc: OidcClient, persons: PersonTokens) -> None:
        self._door = door
        self.oidc = oidc
        self._persons = persons

    async def start(self, next_path: str | None, ui_locales: str | None = None) -> SignInStarted:
        """A new authorization request: its secrets kept server-side under the state's hash, the browser sent
        to the provider (asked to speak `ui_locales`)."""
        request = new_authorization_request()
        url = await self.oidc.authorization_url(request, ui_locales)
        remembered = RememberSignIn(id_hash(request.state), request.nonce, request.code_verifier, safe_next(next_path))
        await self._door.run(remember_sign_in, remembered)
        return SignInStarted(request.state, url)

    async def complete(self, *, state: str, code: str, browser_state: str | None) -> SignedIn:
        """The provider sent the browser back with a code: check it is the sign-in this browser started, trade the
        code (with our PKCE verifier) for tokens, check them, keep the person and open a session."""
        if not browser_state or not secrets.compare_digest(state, browser_state):
            _failed("state_mismatch")
            raise SignInFailed("the sign-in was not started in this browser (state does not match its cookie)")
        pending = await self._door.run(take_sign_in, id_hash(state))
        if pending is None:
            _failed("unknown_state")
            raise SignInFailed("unknown or expired sign-in (state)")
        try:
            tokens = await self.oidc.exchange_code(code, pending.code_verifier)
            if not tokens.id_token:
                raise SignInFailed("the provider answered no ID token (is the `openid` scope allowed?)")
            claims = await self.oidc.verify_id_token(tokens.id_token, nonce=pending.nonce)
            person = await person_of(self._persons, tokens, claims)
        except SignInFailed as exc:
            _failed("refused")
            log.warning("sign-in refused", reason=str(exc))
            raise
        session_id = secrets.token_urlsafe(32)
        opened = OpenSession(id_hash(session_id), person, tokens, tokens.id_token)
        session = await self._door.run(open_session, opened)
        log.info("signed in", staff_id=person.staff_id, roles=sorted(person.roles))
        return SignedIn(session_id, session, pending.next_path)

    async def current(self, session_id: str | None) -> Session | None:
        """The live session of this browser, its access token refreshed when it runs out soon; None when there is
        none (never signed in, expired, ended, or the provider refused to refresh it)."""
        if not session_id:
            return None
        key = id_hash(session_id)
        live = await self._door.run(live_session, key)
        if live is None or not live.refresh_due:
            return live.session if live else None
        return await self._door.run(refresh_session, key)

    async def sign_out(self, session_id: str | None, post_logout_redirect_uri: str) -> str | None:
        """End the session here, and return where the provider ends its own (None: it has no such endpoint)."""
        session = await self._door.run(end_session, id_hash(session_id)) if session_id else None
        try:
            return await self.oidc.end_session_url(session.id_token if session else None, post_logout_redirect_uri)
        except ProviderUnavailable:
            return None

    async def forget(self, session_id: str) -> None:
        """Drop a session without going to the provider: a browser signing in again replaces its old one."""
        await self._door.run(forget_session, id_hash(session_id))

    async def forget_expired(self) -> int:
        return await self._door.run(forget_expired, None)


def _failed(reason: str) -> None:
    """A sign-in that opened nothing: counted at once (no unit of work to wait for)."""
    committed.note([ConsoleFact("sign_in", reason)])
