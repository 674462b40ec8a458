"""The work-order state machine, every action against every status."""

from __future__ import annotations

import pytest

from services.dispatch.workorders.lifecycle import Action, IllegalTransition, next_status
from shared.contracts import WorkOrderStatus as S

ALLOWED = {
    (Action.ACKNOWLEDGE, S.ASSIGNED): S.ACKNOWLEDGED,
    (Action.START, S.ACKNOWLEDGED): S.IN_PROGRESS,
    (Action.RESOLVE, S.ACKNOWLEDGED): S.RESOLVED,
    (Action.RESOLVE, S.IN_PROGRESS): S.RESOLVED,
    **{(Action.RETURN, s): S.RETURNED for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS)},
    **{(Action.REASSIGN, s): S.REASSIGNED for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS)},
    **{(Action.NOTE, s): s for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS)},
    **{(Action.ASSIGN_CREW, s): s for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS)},
    **{(Action.AGREE_APPOINTMENT, s): s for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS)},
    (Action.RECORD_FINDINGS, S.IN_PROGRESS): S.IN_PROGRESS,
    (Action.ADD_PHOTO, S.IN_PROGRESS): S.IN_PROGRESS,
    (Action.NOT_AT_HOME, S.ACKNOWLEDGED): S.ACKNOWLEDGED,
    (Action.NOT_AT_HOME, S.IN_PROGRESS): S.ACKNOWLEDGED,
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(S))
def test_every_action_in_every_status(action: Action, status: S) -> None:
    expected = ALLOWED.get((action, status))
    if expected is None:
        with pytest.raises(IllegalTransition, match=f"cannot {action.value} a work order that is {status.value}"):
            next_status(action, status)
    else:
        assert next_status(action, status) is expected


def test_closed_work_orders_take_no_action() -> None:
    for closed in (S.RESOLVED, S.RETURNED, S.REASSIGNED):
        for action in Action:
            with pytest.raises(IllegalTransition):
                next_status(action, closed)
