"""The events dispatch publishes (through its outbox), built from its own rows: the one place that knows their
shapes. `complaint.routed`/`complaint.linked` go to everyone; the full work order goes to its department's topic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from services.dispatch.model import Case, WorkOrder
from shared.contracts import (
    ComplaintLinked,
    ComplaintLinkedPayload,
    ComplaintRouted,
    ComplaintRoutedPayload,
    CustomerPublic,
    DeadlinesPayload,
    Event,
    Location,
    WorkOrderAcknowledged,
    WorkOrderAssigned,
    WorkOrderAssignedPayload,
    WorkOrderFacts,
    WorkOrderNoteAdded,
    WorkOrderNotePayload,
    WorkOrderReassigned,
    WorkOrderReassignedPayload,
    WorkOrderResolved,
    WorkOrderResolvedPayload,
    WorkOrderReturned,
    WorkOrderReturnedPayload,
    WorkOrderStarted,
    new_event,
)

PRODUCER = "dispatch"
#: Why a work order was opened, as `complaint.routed` tells it.
RouteReason = Literal["new", "returned", "reclassified", "reopened"]


def _deadlines(order: WorkOrder) -> DeadlinesPayload:
    return DeadlinesPayload(
        starts_at=order.starts_at,
        acknowledge_by=order.acknowledge_by,
        on_site_by=order.on_site_by,
        resolve_by=order.resolve_by,
        interim_reply_by=order.interim_reply_by,
        callback_limit=order.callback_limit,
        policy_id=order.policy_id,
    )


def _facts(order: WorkOrder, case: Case, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "work_order_id": order.work_order_id,
        "complaint_id": order.complaint_id,
        "reference_no": case.reference_no,
        "department": order.department,
        "cycle": order.cycle,
        "status": order.status,
        "actor": actor,
        "at": at,
    }


def _envelope(case: Case, causation_id: uuid.UUID | None, at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": case.complaint_id,
        "producer": PRODUCER,
        "correlation_id": case.correlation_id,
        "causation_id": causation_id,
        "occurred_at": at,
    }


def routed(
    case: Case, order: WorkOrder, reasons: list[str], reason: RouteReason, causation_id: uuid.UUID | None, at: datetime
) -> list[Event]:
    """`complaint.routed` for everyone, and the full work order on the department's topic."""
    routed_event = new_event(
        ComplaintRouted,
        payload=ComplaintRoutedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            work_order_id=order.work_order_id,
            cycle=order.cycle,
            department=order.department,
            category=order.category,
            severity=order.severity,
            priority=order.priority,
            valid=case.valid,
            invalid_reason=case.invalid_reason,
            reasons=reasons,
            deadlines=_deadlines(order),
            channel=case.channel,
            district=case.district,
            account_no=case.account_no,
            routed_at=at,
            reason=reason,
            previous_work_order_id=order.previous_work_order_id,
        ),
        **_envelope(case, causation_id, at),
    )
    assigned = new_event(
        WorkOrderAssigned,
        payload=WorkOrderAssignedPayload(
            **_facts(order, case, PRODUCER, at),
            category=order.category,
            severity=order.severity,
            priority=order.priority,
            deadlines=_deadlines(order),
            text=case.text,
            location=Location.model_validate(case.location),
            customer=CustomerPublic.model_validate(case.customer),
            channel=case.channel,
            reasons=reasons,
            reopened=reason == "reopened",
        ),
        **_envelope(case, routed_event.event_id, at),
    )
    return [routed_event, assigned]


def linked(case: Case, order: WorkOrder, reasons: list[str], causation_id: uuid.UUID, at: datetime) -> Event:
    return new_event(
        ComplaintLinked,
        payload=ComplaintLinkedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            linked_to_complaint_id=order.complaint_id,
            work_order_id=order.work_order_id,
            department=order.department,
            category=order.category,
            reasons=reasons,
            linked_at=at,
        ),
        **_envelope(case, causation_id, at),
    )


def acknowledged(order: WorkOrder, case: Case, actor: str, at: datetime) -> Event:
    return new_event(
        WorkOrderAcknowledged, payload=WorkOrderFacts(**_facts(order, case, actor, at)), **_envelope(case, None, at)
    )


def started(order: WorkOrder, case: Case, actor: str, at: datetime) -> Event:
    return new_event(
        WorkOrderStarted, payload=WorkOrderFacts(**_facts(order, case, actor, at)), **_envelope(case, None, at)
    )


def note_added(order: WorkOrder, case: Case, actor: str, at: datetime, note: str) -> Event:
    return new_event(
        WorkOrderNoteAdded,
        payload=WorkOrderNotePayload(**_facts(order, case, actor, at), note=note),
        **_envelope(case, None, at),
    )


def resolved(order: WorkOrder, case: Case, actor: str, at: datetime) -> Event:
    return new_event(
        WorkOrderResolved,
        payload=WorkOrderResolvedPayload(
            **_facts(order, case, actor, at), resolution=order.resolution or "", root_cause=order.root_cause or ""
        ),
        **_envelope(case, None, at),
    )


def returned(order: WorkOrder, case: Case, actor: str, at: datetime, reason: str, new_order: WorkOrder) -> Event:
    return new_event(
        WorkOrderReturned,
        payload=WorkOrderReturnedPayload(
            **_facts(order, case, actor, at),
            reason=reason,
            rerouted_to=new_order.department,
            new_work_order_id=new_order.work_order_id,
        ),
        **_envelope(case, None, at),
    )


def reassigned(order: WorkOrder, case: Case, actor: str, at: datetime, reason: str, new_order: WorkOrder) -> Event:
    return new_event(
        WorkOrderReassigned,
        payload=WorkOrderReassignedPayload(
            **_facts(order, case, actor, at),
            reason=reason,
            new_category=new_order.category,
            new_severity=new_order.severity,
            new_department=new_order.department,
            new_work_order_id=new_order.work_order_id,
        ),
        **_envelope(case, None, at),
    )
