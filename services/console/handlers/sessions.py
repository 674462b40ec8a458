"""A session's life, each step one unit of work: a sign-in remembered until the provider answers (and taken
once), a session opened for the person the tokens name, found (and dropped when expired), refreshed, ended,
and the expired ones swept.

Sessions live on the server: the browser gets an opaque random id (its SHA-256 is the key), the tokens stay in
`console.sessions`. What the console did is noted (`ConsoleFact`) and counted once its unit committed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.console.handlers.context import ConsoleWork
from services.console.identity import new_session, person_of
from services.console.model import ConsoleFact, PendingSignIn, Session, StaffMember
from services.console.oidc import ProviderUnavailable, SignInFailed, TokenSet
from shared.http.person import Person
from shared.logging import get_logger
from shared.observability import committed

log = get_logger(__name__)


@dataclass(frozen=True)
class RememberSignIn:
    """An authorization request sent to the provider: its secrets, kept under the hash of its state."""

    state_hash: str
    nonce: str
    code_verifier: str
    next_path: str


@dataclass(frozen=True)
class OpenSession:
    """The provider's tokens for `person`, checked: a session under the hash of the browser's new id."""

    session_hash: str
    person: Person
    tokens: TokenSet
    id_token: str


@dataclass(frozen=True)
class LiveSession:
    session: Session
    #: The access token runs out within the refresh margin: refresh it before a service refuses it mid-form.
    refresh_due: bool


async def remember_sign_in(cmd: RememberSignIn, work: ConsoleWork) -> None:
    await work.repo.add_sign_in(
        PendingSignIn(
            state_hash=cmd.state_hash,
            nonce=cmd.nonce,
            code_verifier=cmd.code_verifier,
            next_path=cmd.next_path,
            expires_at=work.now + work.context.sign_in_ttl,
        )
    )


async def take_sign_in(state_hash: str, work: ConsoleWork) -> PendingSignIn | None:
    """The pending sign-in of this state, gone once taken (a state answers once); None: unknown or expired."""
    return await work.repo.take_sign_in(state_hash, work.now)


async def open_session(cmd: OpenSession, work: ConsoleWork) -> Session:
    """The session, and the person as the provider names them now (the directory keeps what only it knows)."""
    person = cmd.person
    session = new_session(cmd.session_hash, person, cmd.tokens, cmd.id_token, work.now, work.context.longest_session)
    await work.repo.add_session(session)
    member = StaffMember(
        staff_id=person.staff_id,
        display_name=person.name,
        roles=tuple(sorted(person.roles)),
        department=person.department,
        crew=person.crew,
    )
    await work.repo.record_sign_in(member, work.now)
    committed.note([ConsoleFact("sign_in", "ok")])
    return session


async def live_session(session_hash: str, work: ConsoleWork) -> LiveSession | None:
    """The session under this key, unless there is none or it has expired (then it is dropped)."""
    session = await work.repo.session(session_hash)
    if session is None:
        return None
    if session.expired(work.now):
        await work.repo.delete_session(session_hash)
        return None
    return LiveSession(session, session.needs_refresh(work.now, work.context.refresh_margin))


async def refresh_session(session_hash: str, work: ConsoleWork) -> Session | None:
    """One refresh per session however many requests find it due: the row stays locked while the provider
    answers (a rotated refresh token spent twice would end the session). A refusal ends the session (None); a
    provider that cannot be reached leaves a still valid session as it is, else the request fails (503)."""
    session = await work.repo.session(session_hash, lock=True)
    if session is None or not session.needs_refresh(work.now, work.context.refresh_margin):
        return session
    try:
        person, tokens, id_token = await _renewed(session, work)
    except SignInFailed as exc:
        log.info("session ended: refresh refused", reason=str(exc), staff_id=session.person.staff_id)
        await work.repo.delete_session(session_hash)
        committed.note([ConsoleFact("refresh", "refused")])
        return None
    except ProviderUnavailable:
        if work.now < session.access_expires_at:
            return session  # still valid for a moment; the next request tries again
        raise
    longest = work.context.longest_session
    fresh = new_session(session_hash, person, tokens, id_token, work.now, longest, created_at=session.created_at)
    await work.repo.update_tokens(replace(fresh, expires_at=min(fresh.expires_at, session.created_at + longest)))
    committed.note([ConsoleFact("refresh", "ok")])
    # As stored: the session keeps its CSRF token and its start.
    return await work.repo.session(session_hash)


async def _renewed(session: Session, work: ConsoleWork) -> tuple[Person, TokenSet, str]:
    """The provider's new tokens for this session's person; SignInFailed when it will not give them."""
    oidc, persons = work.context.oidc, work.context.persons
    if oidc is None or persons is None:
        raise SignInFailed("no identity provider configured")
    now = work.now
    if not session.refresh_token or (session.refresh_expires_at is not None and session.refresh_expires_at <= now):
        raise SignInFailed("no usable refresh token")
    tokens = await oidc.refresh(session.refresh_token)
    id_token = session.id_token
    if tokens.id_token:
        claims = await oidc.verify_id_token(tokens.id_token, nonce=None)
        id_token = tokens.id_token
    else:
        claims = {"staff_id": session.person.staff_id, "name": session.person.name}
    person = await person_of(persons, tokens, claims)
    if person.staff_id != session.person.staff_id:
        raise SignInFailed("the refreshed token names another person")
    return person, tokens, id_token


async def end_session(session_hash: str, work: ConsoleWork) -> Session | None:
    """Sign-out: the session ended here (the provider's own end is the flow's next step)."""
    session = await work.repo.delete_session(session_hash)
    if session is not None:
        committed.note([ConsoleFact("sign_out", "ok")])
    return session


async def forget_session(session_hash: str, work: ConsoleWork) -> None:
    """Drop a session without going to the provider: a browser signing in again replaces its old one."""
    await work.repo.delete_session(session_hash)


async def forget_expired(_: None, work: ConsoleWork) -> int:
    return await work.repo.forget_expired(work.now)
