"""Valid contract events of one case, for reporting's unit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.contracts import (
    ComplaintContact,
    ComplaintReceived,
    ComplaintRouted,
    Event,
    WorkOrderAcknowledged,
    WorkOrderResolved,
    new_event,
)

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def case_events(n: int, *, district: str = "heping", department: str = "repair") -> list[Event]:
    """Received, contact, routed, acknowledged 20 min in, resolved 150 min in: a case handled in time."""
    cid, wo = uuid.UUID(int=n), uuid.UUID(int=1000 + n)
    ref = f"TS-20261123-{n:06d}"
    category = "outage" if department == "repair" else "billing"

    def at(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    def event(cls: type[Event], minutes: float, payload: dict[str, object]) -> Event:
        return new_event(
            cls, complaint_id=cid, payload=payload, producer="test", correlation_id="c", occurred_at=at(minutes)
        )

    customer = {"account_no": "A1", "name_masked": "王*", "phone_masked": "139****0000", "preferred_contact": "phone"}
    facts = {"work_order_id": wo, "complaint_id": cid, "reference_no": ref, "department": department, "cycle": 1}
    return [
        event(
            ComplaintReceived,
            0,
            {
                "complaint_id": cid,
                "reference_no": ref,
                "channel": "phone",
                "channel_ticket_id": None,
                "received_at": at(0),
                "accepted_at": at(0),
                "customer": customer,
                "location": {"address": "1 Main St", "district": district},
                "text": "no heating",
                "category_hint": None,
            },
        ),
        event(
            ComplaintContact,
            0,
            {
                "complaint_id": cid,
                "reference_no": ref,
                "name": "王伟",
                "phone": "13900000000",
                "email": None,
                "wechat_openid": None,
                "preferred_contact": "phone",
            },
        ),
        event(
            ComplaintRouted,
            1,
            {
                "complaint_id": cid,
                "reference_no": ref,
                "work_order_id": wo,
                "cycle": 1,
                "department": department,
                "category": category,
                "severity": "normal",
                "priority": 3,
                "valid": True,
                "invalid_reason": None,
                "reasons": [],
                "deadlines": {
                    "starts_at": at(1),
                    "acknowledge_by": at(31),
                    "on_site_by": None,
                    "resolve_by": at(24 * 60),
                    "interim_reply_by": None,
                    "callback_limit": "24h",
                    "policy_id": "test",
                },
                "channel": "phone",
                "district": district,
                "account_no": "A1",
                "routed_at": at(1),
                "reason": "new",
                "previous_work_order_id": None,
            },
        ),
        event(WorkOrderAcknowledged, 20, {**facts, "status": "acknowledged", "actor": "repair", "at": at(20)}),
        event(
            WorkOrderResolved,
            150,
            {**facts, "status": "resolved", "actor": "repair", "at": at(150), "resolution": "r", "root_cause": "c"},
        ),
    ]
