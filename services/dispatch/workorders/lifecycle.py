"""The work-order state machine: which action is allowed in which status, and where it leads.

    assigned → acknowledged (signed for) → in_progress (on site: `start`, the crew's arrival) → resolved
    assigned | acknowledged | in_progress → returned ("not ours": the case is re-routed)
    assigned | acknowledged | in_progress → reassigned (a supervisor reclassified the case)
    acknowledged | in_progress → acknowledged (not_at_home: the customer was out; the next visit is agreed, and
                                               the crew's next arrival starts it again)
    notes, a crew (assign_crew) and a visit window (agree_appointment) can be set while the work order is open;
    findings (record_findings: a measured temperature) and photos (add_photo) only on site, in_progress.
Anything else is an illegal transition (HTTP 409; a dead letter on the ingress topic).
"""

from __future__ import annotations

from enum import StrEnum

from services.dispatch.errors import Conflict
from shared.contracts import WorkOrderStatus

OPEN = frozenset({WorkOrderStatus.ASSIGNED, WorkOrderStatus.ACKNOWLEDGED, WorkOrderStatus.IN_PROGRESS})
ON_SITE = frozenset({WorkOrderStatus.IN_PROGRESS})


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    START = "start"
    NOTE = "note"
    RESOLVE = "resolve"
    RETURN = "return"
    REASSIGN = "reassign"
    ASSIGN_CREW = "assign_crew"
    AGREE_APPOINTMENT = "agree_appointment"
    RECORD_FINDINGS = "record_findings"
    ADD_PHOTO = "add_photo"
    NOT_AT_HOME = "not_at_home"


_TRANSITIONS: dict[Action, tuple[frozenset[WorkOrderStatus], WorkOrderStatus | None]] = {
    Action.ACKNOWLEDGE: (frozenset({WorkOrderStatus.ASSIGNED}), WorkOrderStatus.ACKNOWLEDGED),
    Action.START: (frozenset({WorkOrderStatus.ACKNOWLEDGED}), WorkOrderStatus.IN_PROGRESS),
    # Billing and customer service resolve without going on site.
    Action.RESOLVE: (frozenset({WorkOrderStatus.ACKNOWLEDGED, WorkOrderStatus.IN_PROGRESS}), WorkOrderStatus.RESOLVED),
    Action.RETURN: (OPEN, WorkOrderStatus.RETURNED),
    Action.REASSIGN: (OPEN, WorkOrderStatus.REASSIGNED),
    Action.NOTE: (OPEN, None),  # None: the status stays as it is
    Action.ASSIGN_CREW: (OPEN, None),
    Action.AGREE_APPOINTMENT: (OPEN, None),
    Action.RECORD_FINDINGS: (ON_SITE, None),
    Action.ADD_PHOTO: (ON_SITE, None),
    # Back to acknowledged, so the next visit's arrival is a `start` again (a new workorder.started).
    Action.NOT_AT_HOME: (
        frozenset({WorkOrderStatus.ACKNOWLEDGED, WorkOrderStatus.IN_PROGRESS}),
        WorkOrderStatus.ACKNOWLEDGED,
    ),
}


class IllegalTransition(Conflict):
    """A step the work order's status does not allow (409 naming the status; a dead letter on the ingress topic)."""

    def __init__(self, action: Action, status: WorkOrderStatus) -> None:
        allowed = ", ".join(sorted(s.value for s in _TRANSITIONS[action][0]))
        super().__init__(
            f"cannot {action.value} a work order that is {status.value} (allowed from: {allowed})",
            work_order_status=status.value,
        )
        self.action = action
        #: The work order's status the step was refused in (`status` is the HTTP status: 409).
        self.work_order_status = status


def next_status(action: Action, status: WorkOrderStatus) -> WorkOrderStatus:
    allowed_from, target = _TRANSITIONS[action]
    if status not in allowed_from:
        raise IllegalTransition(action, status)
    return target or status
