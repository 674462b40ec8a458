"""Where a case stands, as staff read it (`GET /v1/complaints/{id}`): derived from the case and its work orders,
never stored, so no handler can forget to update it.

    awaiting_triage      doubtful: a supervisor decides its category
    invalid              closed as invalid (not ours, a test call, ...): no work order
    routed               a work order is open
    resolved             its latest work order is resolved
    joined               it belongs to an incident or outage notice (no work order of its own)
    linked               a duplicate of the same account's open case
    resolved_on_contact  the agent settled it on the call or at the counter
    received             none of these yet
"""

from __future__ import annotations

from typing import Literal

from services.dispatch.model import Case, WorkOrder
from shared.contracts import WorkOrderStatus

CaseStatus = Literal[
    "awaiting_triage", "invalid", "routed", "resolved", "joined", "linked", "resolved_on_contact", "received"
]


def case_status(case: Case, work_orders: list[WorkOrder]) -> CaseStatus:
    """The first that holds, in the order above. Work orders come before joined/linked/first contact: a case
    reopened by a dissatisfied customer gets its own work order, and that is what it waits on."""
    if case.awaiting_triage:
        return "awaiting_triage"
    if case.closed_invalid:
        return "invalid"
    if work_orders:
        latest = max(work_orders, key=lambda o: o.created_at)
        return "resolved" if latest.status == WorkOrderStatus.RESOLVED.value else "routed"
    if case.incident_id is not None or case.outage_id is not None:
        return "joined"
    if case.linked_to is not None:
        return "linked"
    if case.resolution_id is not None:
        return "resolved_on_contact"
    return "received"
