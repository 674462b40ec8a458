"""Resolving with a catalogue root cause, serious cases' cause analysis and corrective actions, on the in-memory
repository: what is stored, what is published, and that a refused resolution leaves nothing behind."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from services.dispatch.department_ingress import DepartmentUpdate, to_command
from services.dispatch.model import SYSTEM, Conflict, CorrectiveActionPlan, Invalid, NotFound, Step, WorkOrder
from services.dispatch.resolution import ResolutionRefused
from services.dispatch.views import DispatchViews
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import CorrectiveActionCompleted, CorrectiveActionSet, Department, WorkOrderResolved
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver
from tests.unit.dispatch.clocks import START
from tests.unit.dispatch.test_handlers import BILL, BILLING, REPAIR, SUPERVISOR, _only_order, _received, _route

GAS = "楼道里有很重的煤气味，邻居家老人一个人在家，请马上派人来！"
FIX = CorrectiveActionPlan("全区燃气立管年度检测", "燃气管网所", START + timedelta(days=30))


async def _emergency(dispatcher: DispatchDriver, store: FakeTransactions) -> WorkOrder:
    event = _received(GAS)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    assert order.severity == "emergency"
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    return order


async def test_an_emergency_resolution_without_analysis_and_action_changes_nothing(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    order = await _emergency(dispatcher, store)
    commits, published = store.commits, len(store.state.events)
    with pytest.raises(ResolutionRefused) as refused:
        await dispatcher.act(
            order.work_order_id, Step(Action.RESOLVE, resolution="修复立管", root_cause="repair.pipe_leak"), REPAIR
        )
    assert "missing: cause_analysis, corrective_actions" in str(refused.value)
    assert (store.commits, len(store.state.events)) == (commits, published)
    assert store.state.work_orders[order.work_order_id].status == "acknowledged"


async def test_an_emergency_resolution_with_analysis_and_action_sets_the_action(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock, views: DispatchViews
) -> None:
    order = await _emergency(dispatcher, store)
    done_at = clock.advance(timedelta(hours=2))
    step = Step(
        Action.RESOLVE,
        resolution="更换立管接头",
        root_cause="repair.pipe_leak",
        root_cause_note="接头锈蚀",
        cause_analysis="立管接头超期服役，巡检未覆盖",
        corrective_actions=(FIX,),
    )
    view = await dispatcher.act(order.work_order_id, step, REPAIR)

    assert (view.order.status, view.order.root_cause, view.order.root_cause_note) == (
        "resolved",
        "repair.pipe_leak",
        "接头锈蚀",
    )
    assert (view.order.cause_analysis, view.order.cause_analysed_by) == ("立管接头超期服役，巡检未覆盖", "repair-desk")
    (action,) = view.corrective_actions
    assert (action.description, action.owner, action.deadline, action.status) == (
        FIX.description,
        FIX.owner,
        FIX.deadline,
        "open",
    )
    assert (action.work_order_id, action.department, action.severity, action.set_at) == (
        order.work_order_id,
        "repair",
        "emergency",
        done_at,
    )
    resolved, announced = store.state.events[-2:]
    assert isinstance(resolved, WorkOrderResolved) and resolved.schema_version == 3
    p = resolved.payload
    assert (p.root_cause, p.root_cause_detail.code, p.root_cause_note, p.case_resolved) == (  # type: ignore[union-attr]
        "repair.pipe_leak",
        "repair.pipe_leak",
        "接头锈蚀",
        True,
    )
    assert p.root_cause_detail.label_zh == "管道或暖气片渗漏、爆裂"  # type: ignore[union-attr]
    assert (p.cause_analysis.summary, p.cause_analysis.analysed_by) == (  # type: ignore[union-attr]
        "立管接头超期服役，巡检未覆盖",
        "repair-desk",
    )
    assert isinstance(announced, CorrectiveActionSet)
    assert (announced.topic, announced.complaint_id, announced.payload.action_id) == (
        "corrective-actions",
        order.complaint_id,
        action.action_id,
    )
    read = await views.work_order(order.work_order_id, REPAIR)
    assert read.corrective_actions == (action,)


async def test_a_supervisor_sets_and_completes_corrective_actions_later(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    event = _received(BILL)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    with pytest.raises(NotFound):
        await dispatcher.set_corrective_action(order.work_order_id, FIX, SUPERVISOR)  # a work order id is not a case
    with pytest.raises(Invalid):
        await dispatcher.set_corrective_action(event.complaint_id, CorrectiveActionPlan("x", "y", START), SUPERVISOR)
    soon = CorrectiveActionPlan("核对抄表员排班", "营业所", START + timedelta(days=1))
    action = await dispatcher.set_corrective_action(event.complaint_id, soon, SUPERVISOR)
    assert (action.department, action.work_order_id, action.set_by) == ("billing", None, "duty-supervisor")
    assert isinstance(store.state.events[-1], CorrectiveActionSet)

    assert await dispatcher.corrective_actions(status="open", overdue=True, department=None, limit=10) == []
    clock.advance(timedelta(days=2))
    overdue = await dispatcher.corrective_actions(status=None, overdue=True, department=None, limit=10)
    assert overdue == [action]
    assert await dispatcher.corrective_actions(status=None, overdue=True, department="repair", limit=10) == []

    done = await dispatcher.complete_corrective_action(action.action_id, "已调整排班", SUPERVISOR)
    assert (done.status, done.outcome, done.completed_by) == ("done", "已调整排班", "duty-supervisor")
    completed = store.state.events[-1]
    assert isinstance(completed, CorrectiveActionCompleted)
    assert (completed.payload.status, completed.payload.outcome) == ("done", "已调整排班")
    assert await dispatcher.corrective_actions(status=None, overdue=True, department=None, limit=10) == []
    commits = store.commits
    with pytest.raises(Conflict):
        await dispatcher.complete_corrective_action(action.action_id, "again", SUPERVISOR)
    assert store.commits == commits


def _update(order: WorkOrder, **fields: object) -> DepartmentUpdate:
    return DepartmentUpdate.model_validate(
        {
            "update_id": str(uuid.uuid4()),
            "work_order_id": str(order.work_order_id),
            "department": "repair",
            "actor": "scada-7",
            "action": "resolve",
            "resolution": "修复",
            **fields,
        }
    )


async def test_the_ingress_files_free_text_under_other_but_holds_serious_cases_to_the_rule(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    order = await _emergency(dispatcher, store)
    v1 = _update(order, root_cause="立管接头锈蚀")
    with pytest.raises(ResolutionRefused) as refused:
        await dispatcher.department_update(v1)
    assert "cannot close without a cause analysis" in str(refused.value)

    v2 = _update(
        order,
        root_cause="立管接头锈蚀",
        cause_analysis="巡检未覆盖",
        corrective_actions=[{"description": "补巡检", "owner": "管网所", "deadline": FIX.deadline.isoformat()}],
    )
    await dispatcher.department_update(v2)
    view = await DispatchViews(store).work_order(order.work_order_id, to_command(v2)[1])
    assert (view.order.root_cause, view.order.root_cause_note) == ("repair.other", "立管接头锈蚀")
    assert [a.owner for a in view.corrective_actions] == ["管网所"]


async def test_a_coordinated_emergency_analyses_its_cause_on_the_lead_only(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews
) -> None:
    lead = await _emergency(dispatcher, store)
    part = (await dispatcher.assist(lead.work_order_id, Department.BILLING, "核减热费", REPAIR)).order
    assert (part.role, part.severity) == ("assisting", "emergency")
    await dispatcher.act(part.work_order_id, Step(Action.ACKNOWLEDGE), BILLING)
    view = await dispatcher.act(
        part.work_order_id, Step(Action.RESOLVE, resolution="已核减", root_cause="billing.tariff_error"), BILLING
    )
    assert (view.order.status, view.order.cause_analysis, view.corrective_actions) == ("resolved", None, ())
    assert (await views.case(lead.complaint_id, SYSTEM)).status == "routed"

    bare = Step(Action.RESOLVE, resolution="修复立管", root_cause="repair.pipe_leak")
    with pytest.raises(ResolutionRefused, match="missing: cause_analysis, corrective_actions"):
        await dispatcher.act(lead.work_order_id, bare, REPAIR)
    analysed = replace(bare, cause_analysis="立管接头超期服役", corrective_actions=(FIX,))
    closed = await dispatcher.act(lead.work_order_id, analysed, REPAIR)
    assert [a.work_order_id for a in closed.corrective_actions] == [lead.work_order_id]
    resolved = store.state.events[-2]
    assert isinstance(resolved, WorkOrderResolved) and resolved.payload.case_resolved is True
    assert (await views.case(lead.complaint_id, SYSTEM)).status == "resolved"
