"""Readers: every report needs a reader's API key (or bearer token) or a signed-in member of staff's access token.

A key's role decides whether the reader sees customers' real contact data (`REPORTING_CONTACT_ROLES`) and whether
they may read the per-staff figures (managers). A person never sees real contact data here — only dispatch hands it
to persons, and logs each read — and reads the per-staff figures when they manage staff: supervisors, duty
managers, department managers and leadership. Agents and dispatchers read the rest.

A department person (a dispatcher, a department manager) sees only their own department's work: every list of
cases or work orders (queues, overdue, the cases export, a household's cases, the household lookup, the serious
report) is bounded to it (`department_scope`). A single case by reference stays readable, as in dispatch, where
every department reads a whole case. Supervisors, duty managers and leadership see every department, and so does a
key (a department system's or a manager's).

Crews read nothing here: a crew member sees only their crew's jobs (dispatch shows those, by crew), and every
report here — a case by reference, the cases export, a household's cases, the overdue list — is about any
department's and any crew's work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.reporting.deps import Persons, Settings
from services.reporting.settings import ReaderCredential
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import Person
from shared.http.problems import Problem

#: Persons who read the managers' figures (per staff included).
MANAGING_ROLES = ("supervisor", "duty_manager", "department_manager", "leadership")
#: Persons who read the reports (a case, a household, KPIs...). Not crews: they see their own crew's jobs only.
READING_ROLES = ("agent", "dispatcher", *MANAGING_ROLES)

#: Persons whose lists are bounded to their own department's cases and work orders.
DEPARTMENT_ROLES = ("dispatcher", "department_manager")
#: Persons who see every department's (the utility-wide roles), even when they hold a department role too.
UTILITY_WIDE_ROLES = ("supervisor", "duty_manager", "leadership")

#: Who reads: a reader credential, or a signed-in person.
ReaderIdentity = ReaderCredential | Person


async def authenticated_reader(settings: Settings, token: PresentedToken, persons: Persons) -> ReaderIdentity:
    who = await identify_caller(token, settings.credential_by_token, "a reporting read", persons)
    if isinstance(who, Person) and not who.has(*READING_ROLES):
        raise Problem(403, "Forbidden", f"reports are for {', '.join(READING_ROLES)}")
    return who


Reader = Annotated[ReaderIdentity, Depends(authenticated_reader)]


def manages_staff(who: ReaderIdentity) -> bool:
    if isinstance(who, Person):
        return who.has(*MANAGING_ROLES)
    return who.role == "manager"


async def authenticated_manager(who: Reader) -> ReaderIdentity:
    """Figures about named staff are for their managers, not for the staff themselves."""
    if not manages_staff(who):
        raise Problem(403, "Forbidden", "only a manager may read the per-staff figures")
    return who


Manager = Annotated[ReaderIdentity, Depends(authenticated_manager)]


def department_scope(who: ReaderIdentity) -> str | None:
    """The department a reader's lists are bounded to, or None for every department (a key, a utility-wide person,
    an agent). A department person without a department on their identity sees no department's work: a 403, never
    everyone's."""
    if not isinstance(who, Person) or not who.has(*DEPARTMENT_ROLES) or who.has(*UTILITY_WIDE_ROLES):
        return None
    if not who.department:
        raise Problem(403, "Forbidden", "a department person's token names no department")
    return who.department


def department_asked(who: ReaderIdentity, asked: str | None) -> str | None:
    """The department a list is filtered to: the one asked for, bounded by the reader's own (`department_scope`);
    another department than one's own is a 403 naming it."""
    own = department_scope(who)
    if own is not None and asked is not None and asked != own:
        raise Problem(403, "Forbidden", f"department {asked!r} is not yours: you see only {own!r}'s work orders")
    return own if own is not None else asked
