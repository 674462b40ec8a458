"""Who is at the console: the signed-in person (session cookie → server-side session, refreshed when due), the
CSRF check every POST passes, the screen gate by role, and the directory API's readers (a person's token or a
machine key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from services.console.deps import Persons, Settings, SignIns
from services.console.model import Session, may_open
from services.console.security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_matches
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import Person


class NotSignedIn(Exception):
    """No live session: the page answers with a 303 to /login?next=<the page>."""


class CsrfRejected(Exception):
    """A POST without this session's CSRF token: 403."""


class ScreenForbidden(Exception):
    """The person's roles do not open this screen: 403."""


class SignInUnavailable(Exception):
    """No identity provider is configured (OIDC_ISSUER unset): nobody can sign in."""


async def signed_in(request: Request, signing_in: SignIns) -> Session:
    if signing_in is None:
        raise SignInUnavailable
    session = await signing_in.current(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedIn
    request.state.staff_id = session.person.staff_id
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


async def csrf_checked(request: Request, session: SignedIn) -> Session:
    """The session, once the request carries its CSRF token (header for htmx, hidden field for forms)."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    if not csrf_matches(session.csrf_token, presented):
        raise CsrfRejected
    return session


#: A POST's session: signed in, and the form or htmx request carries the session's CSRF token.
Acting = Annotated[Session, Depends(csrf_checked)]


def screen(key: str) -> Any:
    """A dependency opening screen `key` only to the roles that see it (the services check the data anyway)."""

    async def gate(session: SignedIn) -> Session:
        if not may_open(session.person, key):
            raise ScreenForbidden
        return session

    return Depends(gate)


async def directory_reader(settings: Settings, token: PresentedToken, persons: Persons) -> str:
    """A staff member's token (any role) or a machine key of `CONSOLE_DIRECTORY_CREDENTIALS`: the reader's name."""
    known = settings.console_directory_credentials
    caller = await identify_caller(token, known, "a directory", persons)
    return caller.staff_id if isinstance(caller, Person) else caller


DirectoryReader = Annotated[str, Depends(directory_reader)]
