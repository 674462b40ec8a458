"""Who may use followup's API: callback agents and supervisors with an API key (or bearer token), and signed-in
staff with their access token — agents, supervisors, duty managers, department managers and leadership.

What a step records is who took it: a person's staff id and display name, or (for a machine key) the key's
configured name, as before. So the per-staff report finds the same person id on their callbacks as on the cases
they took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.followup.deps import Persons, Settings
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import Person
from shared.http.problems import Problem

#: Persons who work callbacks and read a case's clocks.
STAFF_ROLES = ("agent", "supervisor", "duty_manager", "department_manager", "leadership")
#: Persons who may acknowledge the duty manager's call: the duty manager, or a supervisor standing in.
DUTY_ROLES = ("duty_manager", "supervisor")


@dataclass(frozen=True)
class Staff:
    """Who calls: `id` is a person's staff id (`name` their display name), or a credential's name (`name` None)."""

    id: str
    name: str | None
    person: bool
    #: May acknowledge the duty manager's call (a supervisor credential; a duty manager or supervisor).
    manages: bool
    #: A person's roles (a credential: its one role) and department, for the escalations' answer step.
    roles: frozenset[str] = frozenset()
    department: str | None = None


async def authenticated_staff(token: PresentedToken, settings: Settings, persons: Persons) -> Staff:
    caller = await identify_caller(token, settings.credential_by_token, "a callback agent or supervisor", persons)
    if isinstance(caller, Person):
        if not caller.has(*STAFF_ROLES):
            raise Problem(403, "Forbidden", f"callbacks are for {', '.join(STAFF_ROLES)}")
        manages = caller.has(*DUTY_ROLES)
        return Staff(caller.staff_id, caller.name, True, manages, caller.roles, caller.department)
    return Staff(caller.name, None, person=False, manages=caller.role == "supervisor", roles=frozenset({caller.role}))


Agent = Annotated[Staff, Depends(authenticated_staff)]


async def authenticated_supervisor(who: Agent) -> Staff:
    """The duty manager's acknowledgement is a manager's act, not a callback agent's: a supervisor credential, or
    a signed-in duty manager or supervisor."""
    if not who.manages:
        raise Problem(403, "Forbidden", "only the duty manager or a supervisor may do this")
    return who


Supervisor = Annotated[Staff, Depends(authenticated_supervisor)]
