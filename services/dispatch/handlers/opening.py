"""Opening a work order: where `routing.py` said, its SLA clocks from the policy, its first history entry.

One function for every way a work order opens (a new complaint, a return, a reclassification, a reopening, an
incident), so deadlines are always computed the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.model import Case, HistoryEntry, WorkOrder
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import Route
from shared.contracts import WorkOrderStatus
from shared.sla import SlaTable

#: The namespace of the ids `derived_id` makes.
_DERIVED = uuid.UUID("6f1d7c52-3b4e-5a8f-9c1d-2e7b4a6c8d90")


def derived_id(kind: str, cause: uuid.UUID) -> uuid.UUID:
    """The id of the `kind` (work order, incident) an event causes: the same whenever that event is handled.

    Why not a random id: after a database restore (`operations.reconcile`) dispatch handles again the events of the
    time it lost, while followup and reporting, rewound with it, read both what it published before the loss and
    what it publishes now. Made again under the same id, a work order is one work order to them (they keep work
    orders and their clocks by id); under a new id it would be two, the first never acknowledged and escalated."""
    return uuid.uuid5(_DERIVED, f"{kind}:{cause}")


@dataclass(frozen=True)
class WorkOrderOpener:
    sla: SlaTable
    #: Shrinks SLA limits for drills and tests (settings.sla_time_scale).
    scale: float = 1.0

    async def open(
        self,
        repo: DispatchRepository,
        case: Case,
        route: Route,
        *,
        cycle: int,
        start: datetime,
        previous: WorkOrder | None,
        actor: str,
        at: datetime,
        actor_name: str | None = None,
        incident_id: uuid.UUID | None = None,
        work_order_id: uuid.UUID | None = None,
        lead: WorkOrder | None = None,
    ) -> WorkOrder:
        """A new work order where `route` says, its SLA clocks starting at `start`, stored with its first history
        entry (`assign`, by `actor`). With a `lead`, it is an assisting work order of that lead's coordinated case
        (coordination.py)."""
        order = self.work_order(
            case,
            route,
            cycle=cycle,
            start=start,
            previous=previous,
            at=at,
            incident_id=incident_id,
            work_order_id=work_order_id,
            lead=lead,
        )
        entry = self.assignment(order, actor=actor, actor_name=actor_name, at=at, lead=lead)
        await repo.insert_work_order(order)
        await repo.add_history(
            work_order_id=entry.work_order_id,
            action=entry.action,
            from_status=entry.from_status,
            to_status=entry.to_status,
            actor=entry.actor,
            actor_name=actor_name,
            details=entry.details,
            at=entry.at,
        )
        return order

    @staticmethod
    def assignment(
        order: WorkOrder, *, actor: str, actor_name: str | None, at: datetime, lead: WorkOrder | None = None
    ) -> HistoryEntry:
        """A new work order's first history entry (`assign`), as `open` stores it and a batch of received
        complaints writes it with the batch's others (handlers/received_batch.py)."""
        return HistoryEntry(
            work_order_id=order.work_order_id,
            action="assign",
            from_status=None,
            to_status=order.status,
            actor=actor,
            actor_name=actor_name or actor,
            details={
                "department": order.department,
                **({"incident_id": str(order.incident_id)} if order.incident_id else {}),
                **({"role": "assisting", "lead_work_order_id": str(lead.work_order_id)} if lead else {}),
            },
            at=at,
        )

    def work_order(
        self,
        case: Case,
        route: Route,
        *,
        cycle: int,
        start: datetime,
        previous: WorkOrder | None,
        at: datetime,
        incident_id: uuid.UUID | None,
        work_order_id: uuid.UUID | None,
        lead: WorkOrder | None,
    ) -> WorkOrder:
        """The work order itself, its deadlines from the SLA policy (nothing stored).

        An incident's work order has no interim reply to a customer: its callers are told through the incident.
        The limits are those of the case's district's area class (a crew needs longer to reach a village).
        """
        policy = self.sla.policy_for(route.category.value, route.severity.value, start, district=case.district)
        deadlines = self.sla.deadlines(policy, start, channel=case.channel, scale=self.scale)
        return WorkOrder(
            work_order_id=work_order_id or uuid.uuid4(),
            complaint_id=case.complaint_id,
            cycle=cycle,
            department=route.department.value,
            status=WorkOrderStatus.ASSIGNED.value,
            category=route.category.value,
            severity=route.severity.value,
            priority=route.priority,
            starts_at=start,
            acknowledge_by=deadlines.acknowledge_by,
            on_site_by=deadlines.on_site_by,
            resolve_by=deadlines.resolve_by,
            interim_reply_by=None if incident_id else deadlines.interim_reply_by,
            callback_limit=deadlines.callback_limit,
            policy_id=policy.policy_id,
            previous_work_order_id=previous.work_order_id if previous else None,
            resolution=None,
            root_cause=None,
            closing_reason=None,
            created_at=at,
            updated_at=at,
            acknowledged_at=None,
            started_at=None,
            resolved_at=None,
            incident_id=incident_id,
            role="assisting" if lead else "lead",
            lead_work_order_id=lead.work_order_id if lead else None,
            area_class=policy.area_class,
        )

    def callback_limit(self, case: Case, at: datetime) -> str:
        """The callback limit a caller's own case would have had: for callers fixed with their group, and for
        complaints settled at first contact."""
        return str(self.sla.policy_for(case.category, case.severity, at, district=case.district).callback)
