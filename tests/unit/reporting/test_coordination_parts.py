"""Reporting follows the customer-service centre's steering of a coordinated case (issue 24, seed 002): a part's new
deadline, and who leads after the lead changed — read off the work-order events alone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.reporting.case_parts import CaseParts

AT = datetime(2026, 12, 6, 9, tzinfo=UTC)
REPAIR, BILLING = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def _assigned(work_order_id: str, department: str, role: str, lead: str | None) -> dict[str, Any]:
    deadlines = {"acknowledge_by": AT.isoformat(), "resolve_by": (AT + timedelta(days=1)).isoformat()}
    return {
        "work_order_id": work_order_id,
        "department": department,
        "cycle": 1,
        "status": "assigned",
        "role": role,
        "lead_work_order_id": lead,
        "deadlines": deadlines,
    }


def test_a_steered_case_keeps_its_parts_deadlines_and_its_new_lead() -> None:
    parts = CaseParts("c")
    parts.apply("workorder.assigned", _assigned(REPAIR, "repair", "lead", None), AT)
    parts.apply("workorder.assigned", _assigned(BILLING, "billing", "assisting", REPAIR), AT)
    due = AT + timedelta(hours=6)
    moved = {"work_order_id": BILLING, "department": "billing", "status": "assigned", "resolve_by": due.isoformat()}
    parts.apply("workorder.deadline_set", moved, AT)
    assert parts.work_orders[BILLING].resolve_by == due

    new_parts = [
        {"work_order_id": BILLING, "department": "billing", "role": "lead"},
        {"work_order_id": REPAIR, "department": "repair", "role": "assisting"},
    ]
    lead = {"work_order_id": BILLING, "department": "billing", "status": "assigned", "parts": new_parts}
    parts.apply("workorder.lead_changed", lead, AT)
    assert (parts.work_orders[BILLING].role, parts.work_orders[BILLING].lead_work_order_id) == ("lead", None)
    assert (parts.work_orders[REPAIR].role, parts.work_orders[REPAIR].lead_work_order_id) == ("assisting", BILLING)
