"""Where a case stands, as staff read it (`GET /v1/complaints/{id}`): derived from the case and its work orders,
never stored, so no handler can forget to update it.

    awaiting_triage      doubtful: a supervisor decides its category
    invalid              closed as invalid (not ours, a test call, ...): no work order
    routed               a work order of its current cycle is open (or its lead was closed without a resolution)
    resolved             no work order of its current cycle is open and its lead is resolved
    joined               it belongs to an incident or outage notice (no work order of its own)
    linked               a duplicate of the same account's open case
    resolved_on_contact  the agent settled it on the call or at the counter
    received             none of these yet
"""

from __future__ import annotations

from typing import Literal

from services.dispatch.model import Case, WorkOrder
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import WorkOrderStatus

CaseStatus = Literal[
    "awaiting_triage", "invalid", "routed", "resolved", "joined", "linked", "resolved_on_contact", "received"
]


def case_status(case: Case, work_orders: list[WorkOrder]) -> CaseStatus:
    """The first that holds, in the order above. Work orders come before joined/linked/first contact: a case
    reopened by a dissatisfied customer gets its own work order, and that is what it waits on.

    A coordinated case (coordination.py) has a lead and assisting work orders in one cycle; the newest of them is
    usually an assisting one, which says nothing about the case: an assisting part resolved while the lead is
    open leaves the case routed, and one handed back before the lead's resolution leaves it resolved. So the case
    is resolved when none of its current cycle's work orders is open, read from its lead."""
    if case.awaiting_triage:
        return "awaiting_triage"
    if case.closed_invalid:
        return "invalid"
    if work_orders:
        return _from_work_orders(work_orders)
    if case.incident_id is not None or case.outage_id is not None:
        return "joined"
    if case.linked_to is not None:
        return "linked"
    if case.resolution_id is not None:
        return "resolved_on_contact"
    return "received"


def _from_work_orders(work_orders: list[WorkOrder]) -> CaseStatus:
    """routed or resolved, from the current cycle's work orders: any open one (lead or assisting) keeps the case
    routed; otherwise its lead — the newest lead of the cycle: a return or reclassification replaces it — decides."""
    cycle = max(o.cycle for o in work_orders)
    current = [o for o in work_orders if o.cycle == cycle]
    if any(WorkOrderStatus(o.status) in OPEN for o in current):
        return "routed"
    leads = [o for o in current if o.role == "lead"] or current
    lead = max(leads, key=lambda o: o.created_at)
    return "resolved" if lead.status == WorkOrderStatus.RESOLVED.value else "routed"
