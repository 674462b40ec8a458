"""Events of issue 13 as dispatch and intake publish them (built from shared/contracts, not their code): a
complaint received at the counter, closed as invalid (and routed after all), settled at first contact;
corrective actions set and completed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared.contracts import (
    ComplaintInvalid,
    ComplaintReceived,
    ComplaintResolvedOnContact,
    ComplaintRouted,
    CorrectiveActionCompleted,
    CorrectiveActionSet,
)
from tests.unit.followup.conftest import START, Order, order_event


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
