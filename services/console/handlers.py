"""Everything that changes the console's state: signing in and out, keeping a session's tokens fresh, and
importing the staff directory. Each goes through `Transactions[ConsoleRepository]` and commits there.

Sessions live on the server: the browser gets an opaque random id (its SHA-256 is the key), the tokens stay in
`console.sessions`. A sign-in is checked twice: the ID token (for us: signature, issuer, audience = our client,
nonce) and the access token as every service will check it (audience `utility-services`), so the console shows a
person exactly the roles the services will honour.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.console.model import (
    DirectoryImport,
    PendingSignIn,
    Session,
    StaffMember,
    safe_next,
    session_expiry,
)
from services.console.oidc import (
    OidcClient,
    ProviderUnavailable,
    SignInFailed,
    TokenSet,
    new_authorization_request,
)
from services.console.repository import ConsoleRepository
from shared.db import Transactions
from shared.http.person import Person, PersonTokens, person_from_claims
from shared.http.problems import Problem
from shared.logging import get_logger
from shared.observability import committed

log = get_logger(__name__)
Clock = Callable[[], datetime]


def id_hash(opaque: str) -> str:
    """The key under which a browser-held id (session id, sign-in state) is stored."""
    return hashlib.sha256(opaque.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsoleFact:
    """Something the console did that is no event: counted by `metrics.py` once its transaction committed."""

    kind: str  # sign_in, sign_out, refresh
    outcome: str


@dataclass(frozen=True)
class SignInStarted:
    state: str
    authorization_url: str


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    session: Session
    next_path: str


@dataclass(frozen=True)
class ImportResult:
    staff: int
    rota: int | None


class DirectoryRejected(Exception):
    """An import with bad rows: nothing was changed; `problems` names each row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} bad row(s)")
        self.problems = problems


class SigningIn:
    """Sign-in, sessions and sign-out against one identity provider."""

    def __init__(
        self,
        transactions: Transactions[ConsoleRepository],
        oidc: OidcClient,
        persons: PersonTokens,
        *,
        longest_session: timedelta,
        refresh_margin: timedelta,
        sign_in_ttl: timedelta,
        clock: Clock | None = None,
    ) -> None:
        self._transactions = transactions
        self.oidc = oidc
        self._persons = persons
        self._longest = longest_session
        self._margin = refresh_margin
        self._sign_in_ttl = sign_in_ttl
        self._now = clock or (lambda: datetime.now(UTC))

    async def start(self, next_path: str | None, ui_locales: str | None = None) -> SignInStarted:
        """A new authorization request: its secrets kept server-side under the state's hash, the browser sent
        to the provider (asked to speak `ui_locales`)."""
        request = new_authorization_request()
        url = await self.oidc.authorization_url(request, ui_locales)
        async with self._transactions() as work:
            await work.repo.add_sign_in(
                PendingSignIn(
                    state_hash=id_hash(request.state),
                    nonce=request.nonce,
                    code_verifier=request.code_verifier,
                    next_path=safe_next(next_path),
                    expires_at=self._now() + self._sign_in_ttl,
                )
            )
            work.commit()
        return SignInStarted(request.state, url)

    async def complete(self, *, state: str, code: str, browser_state: str | None) -> SignedIn:
        """The provider sent the browser back with a code: check it is the sign-in this browser started, trade the
        code (with our PKCE verifier) for tokens, check them, keep the person and open a session."""
        if not browser_state or not secrets.compare_digest(state, browser_state):
            self._failed("state_mismatch")
            raise SignInFailed("the sign-in was not started in this browser (state does not match its cookie)")
        now = self._now()
        async with self._transactions() as work:
            pending = await work.repo.take_sign_in(id_hash(state), now)
            work.commit()
        if pending is None:
            self._failed("unknown_state")
            raise SignInFailed("unknown or expired sign-in (state)")
        try:
            tokens = await self.oidc.exchange_code(code, pending.code_verifier)
            if not tokens.id_token:
                raise SignInFailed("the provider answered no ID token (is the `openid` scope allowed?)")
            claims = await self.oidc.verify_id_token(tokens.id_token, nonce=pending.nonce)
            person = await self._person(tokens, claims)
        except SignInFailed as exc:
            self._failed("refused")
            log.warning("sign-in refused", reason=str(exc))
            raise
        session_id = secrets.token_urlsafe(32)
        session = self._session(id_hash(session_id), person, tokens, tokens.id_token, now)
        async with self._transactions() as work:
            await work.repo.add_session(session)
            await work.repo.record_sign_in(
                StaffMember(
                    staff_id=person.staff_id,
                    display_name=person.name,
                    roles=tuple(sorted(person.roles)),
                    department=person.department,
                    crew=person.crew,
                ),
                now,
            )
            committed.note([ConsoleFact("sign_in", "ok")])
            work.commit()
        log.info("signed in", staff_id=person.staff_id, roles=sorted(person.roles))
        return SignedIn(session_id, session, pending.next_path)

    async def current(self, session_id: str | None) -> Session | None:
        """The live session of this browser, its access token refreshed when it runs out soon; None when there is
        none (never signed in, expired, ended, or the provider refused to refresh it)."""
        if not session_id:
            return None
        key = id_hash(session_id)
        now = self._now()
        async with self._transactions() as work:
            session = await work.repo.session(key)
            if session is not None and session.expired(now):
                await work.repo.delete_session(key)
                work.commit()
                return None
        if session is None or not session.needs_refresh(now, self._margin):
            return session
        return await self._refresh(key)

    async def _refresh(self, key: str) -> Session | None:
        """One refresh per session however many requests find it due: the row stays locked while the provider
        answers (a rotated refresh token spent twice would end the session)."""
        now = self._now()
        async with self._transactions() as work:
            session = await work.repo.session(key, lock=True)
            if session is None or not session.needs_refresh(now, self._margin):
                return session
            usable = session.refresh_token and (session.refresh_expires_at is None or session.refresh_expires_at > now)
            try:
                if not usable:
                    raise SignInFailed("no usable refresh token")
                assert session.refresh_token is not None
                tokens = await self.oidc.refresh(session.refresh_token)
                id_token = session.id_token
                if tokens.id_token:
                    claims = await self.oidc.verify_id_token(tokens.id_token, nonce=None)
                    id_token = tokens.id_token
                else:
                    claims = {"staff_id": session.person.staff_id, "name": session.person.name}
                person = await self._person(tokens, claims)
                if person.staff_id != session.person.staff_id:
                    raise SignInFailed("the refreshed token names another person")
            except SignInFailed as exc:
                log.info("session ended: refresh refused", reason=str(exc), staff_id=session.person.staff_id)
                await work.repo.delete_session(key)
                committed.note([ConsoleFact("refresh", "refused")])
                work.commit()
                return None
            except ProviderUnavailable:
                if now < session.access_expires_at:
                    return session  # still valid for a moment; the next request tries again
                raise
            fresh = self._session(key, person, tokens, id_token, now, created_at=session.created_at)
            await work.repo.update_tokens(
                replace(fresh, expires_at=min(fresh.expires_at, session.created_at + self._longest))
            )
            committed.note([ConsoleFact("refresh", "ok")])
            work.commit()
        return await self._reread(key)

    async def _reread(self, key: str) -> Session | None:
        async with self._transactions() as work:
            return await work.repo.session(key)

    async def sign_out(self, session_id: str | None, post_logout_redirect_uri: str) -> str | None:
        """End the session here, and return where the provider ends its own (None: it has no such endpoint)."""
        session = None
        if session_id:
            async with self._transactions() as work:
                session = await work.repo.delete_session(id_hash(session_id))
                if session is not None:
                    committed.note([ConsoleFact("sign_out", "ok")])
                work.commit()
        try:
            return await self.oidc.end_session_url(session.id_token if session else None, post_logout_redirect_uri)
        except ProviderUnavailable:
            return None

    async def forget(self, session_id: str) -> None:
        """Drop a session without going to the provider: a browser signing in again replaces its old one."""
        async with self._transactions() as work:
            await work.repo.delete_session(id_hash(session_id))
            work.commit()

    async def forget_expired(self) -> int:
        async with self._transactions() as work:
            count = await work.repo.forget_expired(self._now())
            work.commit()
        return count

    async def _person(self, tokens: TokenSet, id_claims: dict[str, object]) -> Person:
        """The person as the services will see them (the access token, verified like they verify it), named as
        the ID token names them; both must name the same staff member."""
        try:
            person = await self._persons.verify(tokens.access_token)
        except Problem as exc:
            if exc.status == 503:
                raise ProviderUnavailable(exc.detail or "keys unavailable") from None
            raise SignInFailed(f"access token refused: {exc.detail}") from None
        try:
            named = person_from_claims(dict(id_claims))
        except Problem:
            named = person
        if named.staff_id != person.staff_id:
            raise SignInFailed("the ID token and the access token name different people")
        if person.name == person.staff_id and named.name != named.staff_id:
            person = Person(person.staff_id, named.name, person.roles, person.department, person.crew)
        return person

    def _session(
        self,
        key: str,
        person: Person,
        tokens: TokenSet,
        id_token: str,
        now: datetime,
        *,
        created_at: datetime | None = None,
    ) -> Session:
        access_expires_at = now + timedelta(seconds=tokens.expires_in)
        refresh_expires_at = (
            now + timedelta(seconds=tokens.refresh_expires_in)
            if tokens.refresh_token and tokens.refresh_expires_in
            else None
        )
        return Session(
            session_hash=key,
            person=person,
            access_token=tokens.access_token,
            access_expires_at=access_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_expires_at=refresh_expires_at,
            id_token=id_token,
            csrf_token=secrets.token_urlsafe(32),
            created_at=created_at or now,
            expires_at=session_expiry(
                now, refresh_expires_at if tokens.refresh_token else None, access_expires_at, self._longest
            ),
        )

    @staticmethod
    def _failed(reason: str) -> None:
        committed.note([ConsoleFact("sign_in", reason)])


class Directory:
    """The staff directory's imports."""

    def __init__(self, transactions: Transactions[ConsoleRepository]) -> None:
        self._transactions = transactions

    async def known_staff(self) -> set[str]:
        async with self._transactions() as work:
            return await work.repo.staff_ids()

    async def apply(
        self, parsed: DirectoryImport, *, replace_rota: bool, only_if_empty: bool = False
    ) -> ImportResult | None:
        """Write an import as one transaction; an import with problems changes nothing. `only_if_empty`: the
        start-up seed, which never overwrites a directory someone already filled (None then)."""
        if parsed.problems:
            raise DirectoryRejected(parsed.problems)
        async with self._transactions() as work:
            if only_if_empty and await work.repo.staff_ids():
                return None
            staff = await work.repo.upsert_staff(parsed.staff)
            rota = await work.repo.replace_rota(parsed.rota) if replace_rota else None
            work.commit()
        return ImportResult(staff, rota)
