"""The work-order state machine: which action is allowed in which status, and where it leads.

    assigned → acknowledged (signed for) → in_progress (on site) → resolved
    assigned | acknowledged | in_progress → returned ("not ours": the case is re-routed)
    assigned | acknowledged | in_progress → reassigned (a supervisor reclassified the case)
    notes can be added while the work order is open.
Anything else is an illegal transition (HTTP 409; a dead letter on the ingress topic).
"""

from __future__ import annotations

from enum import StrEnum

from shared.contracts import WorkOrderStatus

OPEN = frozenset({WorkOrderStatus.ASSIGNED, WorkOrderStatus.ACKNOWLEDGED, WorkOrderStatus.IN_PROGRESS})


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    START = "start"
    NOTE = "note"
    RESOLVE = "resolve"
    RETURN = "return"
    REASSIGN = "reassign"


_TRANSITIONS: dict[Action, tuple[frozenset[WorkOrderStatus], WorkOrderStatus | None]] = {
    Action.ACKNOWLEDGE: (frozenset({WorkOrderStatus.ASSIGNED}), WorkOrderStatus.ACKNOWLEDGED),
    Action.START: (frozenset({WorkOrderStatus.ACKNOWLEDGED}), WorkOrderStatus.IN_PROGRESS),
    # Billing and customer service resolve without going on site.
    Action.RESOLVE: (frozenset({WorkOrderStatus.ACKNOWLEDGED, WorkOrderStatus.IN_PROGRESS}), WorkOrderStatus.RESOLVED),
    Action.RETURN: (OPEN, WorkOrderStatus.RETURNED),
    Action.REASSIGN: (OPEN, WorkOrderStatus.REASSIGNED),
    Action.NOTE: (OPEN, None),  # None: the status stays as it is
}


class IllegalTransition(Exception):
    def __init__(self, action: Action, status: WorkOrderStatus) -> None:
        allowed = ", ".join(sorted(s.value for s in _TRANSITIONS[action][0]))
        super().__init__(f"cannot {action.value} a work order that is {status.value} (allowed from: {allowed})")
        self.action = action
        self.status = status


def next_status(action: Action, status: WorkOrderStatus) -> WorkOrderStatus:
    allowed_from, target = _TRANSITIONS[action]
    if status not in allowed_from:
        raise IllegalTransition(action, status)
    return target or status
