"""Serious and emergency cases go to management at once: when such a case's lead work order is assigned, the
manager of its department and leadership are told (`serious_case_opened`) — not when its clocks run out, and
not once per department of a coordinated case (its assisting work orders tell nobody). Once per work order: a
redelivered assignment is not tracked again, so it tells nobody again; a reopened cycle's new lead work order
(its severity raised) does. Part of tracking an assignment (`clocks.track`).
"""

from __future__ import annotations

from collections.abc import Iterable

from services.followup.handlers.context import FollowupWork
from services.followup.model import TrackedWorkOrder
from shared.contracts import Department, Recipient, Severity

TEMPLATE = "serious_case_opened"
#: The severities management hears of at once.
SEVERITIES = frozenset({Severity.SERIOUS.value, Severity.EMERGENCY.value})
#: Who hears: the department's manager (of the work order's department) and leadership.
DEPARTMENT_MANAGER = "department_manager"
LEADERSHIP = "leadership"
#: How a severity reads in the message.
SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "zh": {"serious": "严重", "emergency": "紧急"},
    "en": {"serious": "serious", "emergency": "emergency"},
}


def tells_management(order: TrackedWorkOrder) -> bool:
    """A serious or emergency case's lead work order (an assisting one is the same case, told already)."""
    return order.role == "lead" and order.severity in SEVERITIES


async def tell_management(orders: Iterable[TrackedWorkOrder], work: FollowupWork) -> None:
    """Newly tracked work orders: for each one they hear of at once, its department's manager and leadership are
    told. The batch's messages are recorded in one statement (issue 27: two per serious case, one case in four of a
    drain, had been one INSERT each), their events emitted in the same order as one at a time."""
    notifier = work.context.notifier
    told = []
    for order in orders:
        if not tells_management(order):
            continue
        params = {
            "reference_no": order.reference_no,
            "department": notifier.department_label(order.department),
            "severity": SEVERITY_LABELS[notifier.locale].get(order.severity, order.severity),
        }
        recipients = (
            Recipient(kind="staff", role=DEPARTMENT_MANAGER, department=Department(order.department)),
            Recipient(kind="staff", role=LEADERSHIP),
        )
        for recipient in recipients:
            requested = await notifier.prepare(
                complaint_id=order.complaint_id,
                correlation_id=order.correlation_id,
                template_id=TEMPLATE,
                recipient=recipient,
                params=params,
                at=work.now,
            )
            if requested is not None:
                told.append(requested)
    await work.repo.add_notifications([r.record for r in told])
    work.emit(r.event for r in told)
