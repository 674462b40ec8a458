"""What dispatch shows over HTTP: one work order with its history, one case, a department's queue, incidents and
outage notices.

Read-only: each view reads through the repository in a unit of work it never commits. The access rule is the
one the handlers apply (`Actor.may_handle`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.case_status import case_status
from services.dispatch.model import (
    Actor,
    Case,
    CaseView,
    Crew,
    Forbidden,
    Incident,
    NotFound,
    Outage,
    Photo,
    WorkOrder,
    WorkOrderView,
)
from services.dispatch.photos import PhotoStorage
from services.dispatch.repository import DispatchRepository
from shared.contracts import Department
from shared.db import Transactions


@dataclass
class DispatchViews:
    transactions: Transactions[DispatchRepository]
    #: Where photos' bytes are (the rows are in the repository).
    photos: PhotoStorage | None = None

    async def work_order(self, work_order_id: uuid.UUID, actor: Actor) -> WorkOrderView:
        """A work order, its history, its case (text, address, masked customer) and its case's corrective actions.
        One a department's system may not read is reported as missing, not forbidden, so it cannot probe for other
        departments' work orders; a person is told it is not theirs (403: the console says so rather than "no such
        work order")."""
        async with self.transactions() as work:
            order = await _readable(work.repo, work_order_id, actor)
            actions = await work.repo.corrective_actions(complaint_id=order.complaint_id)
            subjects = await _subjects(work.repo, [order])
            return WorkOrderView(
                order,
                await work.repo.history(work_order_id),
                tuple(actions),
                findings=tuple(await work.repo.findings(work_order_id)),
                photos=tuple(await work.repo.photos(work_order_id)),
                case=subjects.get(order.complaint_id),
            )

    async def photo(self, work_order_id: uuid.UUID, photo_id: uuid.UUID, actor: Actor) -> tuple[Photo, bytes]:
        """A photo of a work order the actor may read, and its bytes (NotFound / Forbidden as `work_order`)."""
        async with self.transactions() as work:
            await _readable(work.repo, work_order_id, actor)
            photo = await work.repo.get_photo(photo_id)
        if photo is None or photo.work_order_id != work_order_id or self.photos is None:
            raise NotFound(f"no photo {photo_id} on work order {work_order_id}")
        try:
            return photo, await self.photos.get(photo.storage_key)
        except KeyError:
            raise NotFound(f"photo {photo_id} is no longer in the photo storage") from None

    async def crew_jobs(self, crew: Crew, actor: Actor, *, limit: int, offset: int) -> tuple[list[WorkOrderView], int]:
        """A page of a crew's open work orders, most urgent first, each with its case; its members, its
        department's staff and supervisor-level readers may read it (Forbidden otherwise)."""
        if not actor.may_read_crew(crew):
            raise Forbidden(f"{actor.name} cannot read the jobs of crew {crew.crew}")
        async with self.transactions() as work:
            orders, total = await work.repo.crew_jobs(crew.crew, limit=limit, offset=offset)
            subjects = await _subjects(work.repo, orders)
            return [WorkOrderView(o, [], case=subjects.get(o.complaint_id)) for o in orders], total

    async def case(self, complaint: uuid.UUID | str, actor: Actor) -> CaseView:
        """A case by complaint id or reference number: where it stands and its work orders. Every department, agent
        and supervisor may read it (the owner may be in any of them); a crew member only a case with a job of theirs
        (Forbidden otherwise)."""
        async with self.transactions() as work:
            if isinstance(complaint, uuid.UUID):
                case = await work.repo.get_case(complaint)
            else:
                case = await work.repo.get_case_by_reference(complaint)
            if case is None:
                raise NotFound(f"no complaint {complaint}")
            orders = await work.repo.work_orders_of_case(case.complaint_id)
            if actor.crew is not None and not actor.reads_everything and not any(actor.may_read(o) for o in orders):
                raise Forbidden(f"complaint {case.reference_no} has no job of crew {actor.crew}")
            return CaseView(case, case_status(case, orders), orders)

    async def queue(
        self, department: Department, actor: Actor, *, limit: int, offset: int
    ) -> tuple[list[WorkOrderView], int]:
        """A page of a department's open work orders, most urgent first, each with its case, and their total."""
        if not actor.may_read_queue(department):
            raise Forbidden(f"{actor.name} cannot read the {department.value} queue")
        async with self.transactions() as work:
            orders, total = await work.repo.queue(department.value, limit=limit, offset=offset)
            subjects = await _subjects(work.repo, orders)
            return [WorkOrderView(o, [], case=subjects.get(o.complaint_id)) for o in orders], total

    async def incidents(self, status: str | None, *, limit: int = 500) -> list[Incident]:
        """Incidents, newest first (every department and supervisor may read them)."""
        async with self.transactions() as work:
            return await work.repo.incidents(status, limit=limit)

    async def incident(self, incident_id: uuid.UUID) -> tuple[Incident, list[Case]]:
        """An incident and the complaints linked to it, in the order they joined."""
        async with self.transactions() as work:
            incident = await work.repo.get_incident(incident_id)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            return incident, await work.repo.cases_joined(incident_id=incident_id)

    async def outages(self, *, active: bool | None, at: datetime, limit: int = 500) -> list[Outage]:
        """Outage notices, latest start first; `active` = in force at `at` (started, not ended)."""
        async with self.transactions() as work:
            return await work.repo.outages(active=active, at=at, limit=limit)

    async def outage(self, outage_id: uuid.UUID) -> Outage:
        async with self.transactions() as work:
            outage = await work.repo.get_outage(outage_id)
            if outage is None:
                raise NotFound(f"no outage notice {outage_id}")
            return outage

    async def outage_callers(self, outage_id: uuid.UUID) -> list[Case]:
        """The complaints that joined an outage notice (its callers), in the order they joined."""
        async with self.transactions() as work:
            return await work.repo.cases_joined(outage_id=outage_id)

    async def triage(self, *, limit: int, offset: int) -> tuple[list[Case], int]:
        """The cases waiting for a supervisor, oldest first (the route checks it is a supervisor asking)."""
        async with self.transactions() as work:
            return await work.repo.triage_queue(limit=limit, offset=offset)


async def _readable(repo: DispatchRepository, work_order_id: uuid.UUID, actor: Actor) -> WorkOrder:
    """The work order, when the actor may read it: NotFound for a machine key (no probing), Forbidden for a person."""
    order = await repo.get_work_order(work_order_id)
    if order is not None and actor.is_person and not actor.may_read(order):
        raise Forbidden(f"work order {work_order_id} is not {actor.name}'s to see")
    if order is None or not actor.may_read(order):
        raise NotFound(f"no work order {work_order_id} for {actor.name}")
    return order


async def _subjects(repo: DispatchRepository, orders: list[WorkOrder]) -> dict[uuid.UUID, Case]:
    """What each work order is about, by its complaint id: its case, or for an incident's work order the incident as
    a case (a place and a description, no customer)."""
    subjects: dict[uuid.UUID, Case] = await repo.cases(o.complaint_id for o in orders if o.incident_id is None)
    for order in orders:
        if order.incident_id is not None and order.complaint_id not in subjects:
            incident = await repo.get_incident(order.incident_id)
            if incident is not None:
                subjects[order.complaint_id] = incident.as_case()
    return subjects
