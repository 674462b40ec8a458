"""Followup's input events as their producers publish them, built from shared/contracts (not from dispatch's or
intake's code), for the unit tests on the in-memory door and the service tests over Kafka alike: a work order's
steps (`assigned`, `acknowledged`, `resolved` of an `Order`), and issue 13's complaint events (received at the
counter, closed as invalid and routed after all, settled at first contact; corrective actions set and
completed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.contracts import (
    ComplaintInvalid,
    ComplaintReceived,
    ComplaintResolvedOnContact,
    ComplaintRouted,
    CorrectiveActionCompleted,
    CorrectiveActionSet,
    Event,
    WorkOrderAcknowledged,
    WorkOrderAppointmentAgreed,
    WorkOrderAssigned,
    WorkOrderResolved,
    new_event,
)

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, no holiday


@dataclass(frozen=True)
class Order:
    """One work order of a complaint, as the events about it name it (cycle > 1: the complaint reopened)."""

    complaint_id: uuid.UUID
    work_order_id: uuid.UUID
    reference_no: str
    cycle: int = 1


E = TypeVar("E", bound=Event)


def order_event(cls: type[E], order: Order, payload: dict[str, Any]) -> E:
    """An event about the order's complaint, as its producer would publish it (keyed and correlated by it)."""
    return new_event(
        cls,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id=f"corr-{order.reference_no}",
        payload=payload,
    )


def _facts(order: Order, status: str, at: datetime, department: str = "billing") -> dict[str, Any]:
    return {
        "work_order_id": order.work_order_id,
        "complaint_id": order.complaint_id,
        "reference_no": order.reference_no,
        "department": department,
        "cycle": order.cycle,
        "status": status,
        "actor": "billing-desk",
        "at": at,
    }


def assigned(
    order: Order,
    *,
    at: datetime = START,
    severity: str = "normal",
    acknowledge_in: timedelta = timedelta(hours=1),
    interim_in: timedelta | None = None,
    category: str = "billing",
    owner: str | None = None,
    role: str = "lead",
    district: str = "d",
    lead_work_order_id: uuid.UUID | None = None,
    department: str = "billing",
    callback_limit: str = "24h",
) -> WorkOrderAssigned:
    return order_event(
        WorkOrderAssigned,
        order,
        {
            **_facts(order, "assigned", at, department),
            "category": category,
            "severity": severity,
            "priority": 3,
            "text": "bill too high",
            "location": {"address": "a", "district": district},
            "customer": {"account_no": None, "name_masked": None, "phone_masked": None, "preferred_contact": "phone"},
            "channel": "phone",
            "reasons": [],
            "reopened": order.cycle > 1,
            "owner": owner,
            "role": role,
            "lead_work_order_id": lead_work_order_id,
            "deadlines": {
                "starts_at": at,
                "acknowledge_by": at + acknowledge_in,
                "on_site_by": None,
                "resolve_by": at + timedelta(days=2),
                "interim_reply_by": at + interim_in if interim_in else None,
                "callback_limit": callback_limit,
                "policy_id": "test",
            },
        },
    )


def acknowledged(
    order: Order, *, at: datetime, owner: str | None = None, department: str = "billing"
) -> WorkOrderAcknowledged:
    return order_event(
        WorkOrderAcknowledged,
        order,
        {**_facts(order, "acknowledged", at, department), "owner": owner},
    )


def resolved(
    order: Order, *, at: datetime, case_resolved: bool = True, department: str = "billing"
) -> WorkOrderResolved:
    return order_event(
        WorkOrderResolved,
        order,
        {
            **_facts(order, "resolved", at, department),
            "resolution": "refunded",
            "root_cause": "meter misread",
            "case_resolved": case_resolved,
        },
    )


def appointment_agreed(order: Order) -> WorkOrderAppointmentAgreed:
    """A repair visit agreed for 14:00-16:00 (Asia/Shanghai) on START's day, at START."""
    return order_event(
        WorkOrderAppointmentAgreed,
        order,
        {
            "work_order_id": order.work_order_id,
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "department": "repair",
            "cycle": 1,
            "status": "acknowledged",
            "actor": "dispatcher-3",
            "at": START,
            "window_start": START.replace(hour=6),
            "window_end": START.replace(hour=8),
        },
    )


def new_order(cycle: int = 1, complaint_id: uuid.UUID | None = None) -> Order:
    complaint_id = complaint_id or uuid.uuid4()
    return Order(complaint_id, uuid.uuid4(), f"TS-20261124-{complaint_id.int % 10**6:06d}", cycle)


def received(
    order: Order,
    *,
    channel: str = "counter",
    handled_on_contact: str | None = None,
    agitated: bool = False,
    at: datetime = START,
) -> ComplaintReceived:
    return order_event(
        ComplaintReceived,
        order,
        {
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "channel": channel,
            "channel_ticket_id": None,
            "received_at": at,
            "accepted_at": at,
            "customer": {"account_no": None, "name_masked": None, "phone_masked": None, "preferred_contact": "phone"},
            "location": {"address": "a", "district": "d"},
            "text": "暖气不热",
            "category_hint": None,
            "agent_id": "agent-42",
            "handled_on_contact": handled_on_contact,
            "customer_agitated": agitated,
        },
    )


def invalid(order: Order, *, reason: str = "不属于供热服务范围", at: datetime = START) -> ComplaintInvalid:
    return order_event(
        ComplaintInvalid,
        order,
        {
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "reason": reason,
            "category": "other",
            "channel": "phone",
            "district": "d",
            "account_no": None,
            "owner": None,
            "decided_by": "dispatch",
            "invalid_at": at,
        },
    )


def routed(
    order: Order, *, reason: str = "reclassified", at: datetime = START, channel: str = "phone"
) -> ComplaintRouted:
    """The complaint routed to a department: e.g. an invalid one a supervisor found valid after all."""
    return order_event(
        ComplaintRouted,
        order,
        {
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "work_order_id": order.work_order_id,
            "cycle": order.cycle,
            "department": "billing",
            "category": "billing",
            "severity": "normal",
            "priority": 3,
            "valid": True,
            "invalid_reason": None,
            "reasons": ["valid after all"],
            "deadlines": {
                "starts_at": at,
                "acknowledge_by": at + timedelta(hours=1),
                "on_site_by": None,
                "resolve_by": at + timedelta(days=2),
                "interim_reply_by": None,
                "callback_limit": "24h",
                "policy_id": "test",
            },
            "channel": channel,
            "district": "d",
            "account_no": None,
            "routed_at": at,
            "reason": reason,
            "previous_work_order_id": None,
        },
    )


def resolved_on_contact(
    order: Order, *, owner: str = "agent-42", at: datetime = START, resolution_id: uuid.UUID | None = None
) -> ComplaintResolvedOnContact:
    return order_event(
        ComplaintResolvedOnContact,
        order,
        {
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "resolution_id": resolution_id or order.work_order_id,
            "category": "consultation",
            "severity": "normal",
            "department": "customer_service",
            "channel": "phone",
            "district": "d",
            "account_no": None,
            "owner": owner,
            "handled_on_contact": "explained the new tariff",
            "callback_limit": "24h",
            "resolved_at": at,
        },
    )


def _action(order: Order, action_id: uuid.UUID, deadline: datetime, at: datetime, status: str) -> dict[str, object]:
    return {
        "action_id": action_id,
        "complaint_id": order.complaint_id,
        "reference_no": order.reference_no,
        "work_order_id": order.work_order_id,
        "department": "repair",
        "severity": "serious",
        "description": "replace the corroded valves of the station",
        "owner": "repair-chief-7",
        "deadline": deadline,
        "status": status,
        "actor": "leadership-1",
        "at": at,
    }


def action_set(
    order: Order, action_id: uuid.UUID, *, deadline_in: timedelta = timedelta(days=10), at: datetime = START
) -> CorrectiveActionSet:
    return order_event(
        CorrectiveActionSet,
        order,
        _action(order, action_id, at + deadline_in, at, "open"),
    )


def action_completed(
    order: Order, action_id: uuid.UUID, *, deadline: datetime, at: datetime
) -> CorrectiveActionCompleted:
    return order_event(
        CorrectiveActionCompleted,
        order,
        {**_action(order, action_id, deadline, at, "done"), "outcome": "valves replaced"},
    )
