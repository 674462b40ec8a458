"""Who a sign-in (or a refresh) names, and the session it opens.

A sign-in is checked twice: the ID token (for us: signature, issuer, audience = our client, nonce) and the access
token as every service will check it (audience `utility-services`), so the console shows a person exactly the
roles the services will honour.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from services.console.model import Session, session_expiry
from services.console.oidc import ProviderUnavailable, SignInFailed, TokenSet
from shared.http.person import Person, PersonTokens, person_from_claims
from shared.http.problems import Problem


async def person_of(persons: PersonTokens, tokens: TokenSet, id_claims: dict[str, object]) -> Person:
    """The person as the services will see them (the access token, verified like they verify it), named as
    the ID token names them; both must name the same staff member."""
    try:
        person = await persons.verify(tokens.access_token)
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


def new_session(
    key: str,
    person: Person,
    tokens: TokenSet,
    id_token: str,
    now: datetime,
    longest: timedelta,
    *,
    created_at: datetime | None = None,
) -> Session:
    """The session these tokens open (or renew): it lasts as long as they can be refreshed, at most `longest`."""
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
            now, refresh_expires_at if tokens.refresh_token else None, access_expires_at, longest
        ),
    )
