"""Who may use channels' staff-side endpoints. The protocols' own endpoints (WeChat, SMS uplinks, Open311, the
status page) check their callers the way each protocol does, in their area; what is here is for staff: a signed-in
person with their token (never a machine key: an attachment read must name a person)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.channels.deps import Persons, Settings
from shared.errors import Forbidden
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import STAFF_ROLES, Person

#: Staff who read what customers sent: every staff role (the crew on site sees the customer's photos too).
READER_ROLES = tuple(sorted(STAFF_ROLES))


async def signed_in_staff(token: PresentedToken, settings: Settings, persons: Persons) -> Person:
    caller = await identify_caller(token, settings.system_by_key, "a signed-in staff", persons)
    if not isinstance(caller, Person):
        raise Forbidden("attachments are read by a signed-in person, not a machine key: each read is attributed")
    if not caller.has(*READER_ROLES):
        raise Forbidden(f"attachments are for {', '.join(READER_ROLES)}")
    return caller


SignedInStaff = Annotated[Person, Depends(signed_in_staff)]
