"""Who may use notify's API: staff persons with their access token (and systems with a machine key,
`NOTIFY_CREDENTIALS`) read a case's deliveries; a signed-in person reads their own inbox. The receipts endpoint
has no credential of ours: each provider's parser checks the caller the way that vendor signs its callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.notify.deps import Persons, Settings
from shared.errors import Forbidden
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import Person

#: Persons who see what became of a case's messages.
READER_ROLES = ("agent", "dispatcher", "supervisor", "duty_manager", "department_manager", "leadership")


@dataclass(frozen=True)
class Reader:
    """A person's staff id, or a machine key's system name."""

    id: str
    person: bool


async def authenticated_reader(token: PresentedToken, settings: Settings, persons: Persons) -> Reader:
    caller = await identify_caller(token, settings.system_by_key, "a staff or system", persons)
    if isinstance(caller, Person):
        if not caller.has(*READER_ROLES):
            raise Forbidden(f"deliveries are for {', '.join(READER_ROLES)}")
        return Reader(caller.staff_id, person=True)
    return Reader(caller, person=False)


async def signed_in_person(token: PresentedToken, settings: Settings, persons: Persons) -> Person:
    """The inbox is a person's: a machine key has none."""
    caller = await identify_caller(token, settings.system_by_key, "a signed-in staff", persons)
    if not isinstance(caller, Person):
        raise Forbidden("the inbox belongs to a signed-in person, not to a machine key")
    return caller


DeliveryReader = Annotated[Reader, Depends(authenticated_reader)]
SignedIn = Annotated[Person, Depends(signed_in_person)]
