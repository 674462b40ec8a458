"""Who calls dispatch: a machine credential (a department's system or desk, a supervisor key, the outage system) or a
signed-in person with their access token, and what each may do.

A person becomes an `Actor` by their roles (`actor_for`): a dispatcher or department manager is their department's
staff; a crew member works on their crew's jobs only; a supervisor acts as one, and the duty manager and leadership
read like one; an agent reads cases (by id or reference number) and incidents and outage notices, and nothing of
work orders. What each may do with a work order is `Actor.may_act_on` / `may_read` (model.py), checked by the
handlers and views; the dependencies here refuse up front what a caller's kind may never do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.dispatch.crews import Crews
from services.dispatch.deps import CrewList, Persons, Settings
from services.dispatch.model import DEPARTMENT_ROLES, Actor
from shared.contracts import Department
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import Person
from shared.http.problems import Problem


def actor_for(person: Person, crews: Crews) -> Actor:
    """The person as dispatch's actor. A crew member's department is their crew's (crews.csv) when the token does
    not say; department staff roles outrank the crew role (a dispatcher who also rides out sees the whole queue)."""
    department = _department(person.department)
    crew = None
    if person.has("crew") and person.crew:
        known = crews.get(person.crew)
        if known is not None and department in (None, Department(known.department)):
            department, crew = Department(known.department), known.crew
    staff = person.has(*DEPARTMENT_ROLES) and department is not None
    return Actor(
        name=person.staff_id,
        staff_id=person.staff_id,
        display_name=person.name,
        roles=person.roles,
        department=department if staff or crew else None,
        crew=None if staff else crew,
        supervisor=person.has("supervisor"),
        oversees=person.has("duty_manager", "leadership", "hr_admin"),
    )


def _department(value: str | None) -> Department | None:
    return Department(value) if value in {d.value for d in Department} else None


async def authenticated_actor(settings: Settings, token: PresentedToken, persons: Persons, crews: CrewList) -> Actor:
    caller = await identify_caller(token, settings.credential_by_token, "a department, supervisor or staff", persons)
    if isinstance(caller, Person):
        return actor_for(caller, crews)
    return Actor(
        name=caller.name,
        department=caller.department,
        supervisor=caller.role == "supervisor",
        outage_system=caller.role == "outage_system",
    )


async def supervisor(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    if not actor.supervisor:
        raise Problem(403, "Forbidden", "only a supervisor may do this")
    return actor


async def coordinator(settings: Settings, token: PresentedToken, persons: Persons, crews: CrewList) -> Actor:
    """A customer-service supervisor (role `supervisor`, department `customer_service`): seed 002 gives the
    coordination of multi-department cases to the customer-service centre. Nobody else steers them (403)."""
    caller = await identify_caller(token, settings.credential_by_token, "a customer-service supervisor", persons)
    if not (
        isinstance(caller, Person)
        and caller.has("supervisor")
        and caller.department == Department.CUSTOMER_SERVICE.value
    ):
        raise Problem(403, "Forbidden", "only a customer-service supervisor coordinates multi-department cases")
    return actor_for(caller, crews)


CurrentActor = Annotated[Actor, Depends(authenticated_actor)]
Supervisor = Annotated[Actor, Depends(supervisor)]


async def outage_announcer(actor: CurrentActor) -> Actor:
    """Supervisors and the utility's outage system declare and update outage notices."""
    if not (actor.supervisor or actor.outage_system):
        raise Problem(403, "Forbidden", "only a supervisor or the outage system may announce outages")
    return actor


async def incident_reader(actor: CurrentActor) -> Actor:
    """Supervisors, every department's staff and crews, and agents (a caller about a known fault is told at once)
    see incidents and outages."""
    if not (actor.reads_everything or actor.department is not None or actor.agent):
        raise Problem(403, "Forbidden", "only supervisors, departments and agents read incidents")
    return actor


async def department_reader(actor: CurrentActor) -> Actor:
    """Supervisor-level readers and departments' staff (a department sees its own corrective actions)."""
    if not (actor.reads_everything or actor.department is not None):
        raise Problem(403, "Forbidden", "only supervisors and departments read this")
    return actor


async def work_order_staff(actor: CurrentActor) -> Actor:
    """Anyone who may hold a work order at all: departments (staff, systems, crews) and supervisor-level readers.
    An agent (or another person without such a role) is refused before any work order is looked up."""
    if actor.is_person and not (actor.reads_everything or actor.department is not None):
        raise Problem(403, "Forbidden", "work orders are for departments, crews and supervisors")
    return actor


async def staff(actor: CurrentActor) -> Actor:
    """Who reads a case: supervisors, every department's staff (its owner may be in any of them), crews (the views
    check it is one of their jobs) and agents (by reference, whoever owns it)."""
    if not (actor.reads_everything or actor.department is not None or actor.agent):
        raise Problem(403, "Forbidden", "only supervisors, departments and agents read cases")
    return actor


async def access_auditor(actor: CurrentActor) -> Actor:
    """Supervisor-level readers list who read whose contact details."""
    if not actor.reads_everything:
        raise Problem(403, "Forbidden", "only supervisors read the contact-access log")
    return actor


OutageAnnouncer = Annotated[Actor, Depends(outage_announcer)]
IncidentReader = Annotated[Actor, Depends(incident_reader)]
DepartmentReader = Annotated[Actor, Depends(department_reader)]
WorkOrderStaff = Annotated[Actor, Depends(work_order_staff)]
Staff = Annotated[Actor, Depends(staff)]
AccessAuditor = Annotated[Actor, Depends(access_auditor)]
Coordinator = Annotated[Actor, Depends(coordinator)]
