"""A signed-in person as dispatch's actor: what each role may read and do, and how each step names the person."""

from __future__ import annotations

import uuid

import pytest

from services.dispatch.auth import actor_for
from services.dispatch.crews import load_crews
from services.dispatch.model import Actor, Forbidden, Step, WorkOrder
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department as D
from shared.contracts import WorkOrderAcknowledged
from shared.http.person import Person
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, received
from tests.unit.dispatch.clocks import START

CREWS = load_crews()  # the demo city's


def _person(
    staff_id: str, *roles: str, name: str = "", department: str | None = None, crew: str | None = None
) -> Actor:
    person = Person(staff_id, name or staff_id, frozenset(roles), department, crew)
    return actor_for(person, CREWS)


ZHAO = _person("repair.zhao", "dispatcher", name="赵磊", department="repair")
SUN = _person("billing.sun", "dispatcher", name="孙丽", department="billing")
CHEN = _person("crew1.chen", "crew", name="陈刚", department="repair", crew="repair-crew-1")
YANG = _person("crew2.yang", "crew", name="杨帆", crew="repair-crew-2")  # no department claim: the crew's
WU = _person("supervisor.wu", "supervisor", name="吴静")
ZHENG = _person("duty.zheng", "duty_manager", name="郑伟")
HE = _person("leader.he", "leadership", name="何建国")
QIAN = _person("manager.qian", "department_manager", name="钱亮", department="repair")
LI = _person("agent.li", "agent", name="李娜")


def _order(department: str = "repair", crew: str | None = None) -> WorkOrder:
    return WorkOrder(
        work_order_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        cycle=1,
        department=department,
        status="acknowledged",
        category="heating_temperature",
        severity="normal",
        priority=3,
        starts_at=START,
        acknowledge_by=START,
        on_site_by=None,
        resolve_by=START,
        interim_reply_by=None,
        callback_limit="24h",
        policy_id="p",
        previous_work_order_id=None,
        resolution=None,
        root_cause=None,
        closing_reason=None,
        created_at=START,
        updated_at=START,
        acknowledged_at=None,
        started_at=None,
        resolved_at=None,
        crew=crew,
    )


def test_a_person_acts_under_their_staff_id_and_is_read_by_name() -> None:
    assert (ZHAO.name, ZHAO.staff_id, ZHAO.label, ZHAO.department) == ("repair.zhao", "repair.zhao", "赵磊", D.REPAIR)
    machine = Actor(name="repair-desk", department=D.REPAIR)
    assert (machine.label, machine.is_person) == ("repair-desk", False)


@pytest.mark.parametrize(
    ("actor", "queues"),
    [
        (ZHAO, {"repair"}),
        (QIAN, {"repair"}),
        (SUN, {"billing"}),
        (CHEN, set()),
        (LI, set()),
        (WU, {"repair", "billing", "customer_service"}),
        (ZHENG, {"repair", "billing", "customer_service"}),
        (HE, {"repair", "billing", "customer_service"}),
    ],
)
def test_who_reads_which_queue(actor: Actor, queues: set[str]) -> None:
    assert {d.value for d in D if actor.may_read_queue(d.value)} == queues


def test_a_crew_member_works_on_their_crews_jobs_only() -> None:
    assert (CHEN.department, CHEN.crew, YANG.department, YANG.crew) == (
        D.REPAIR,
        "repair-crew-1",
        D.REPAIR,
        "repair-crew-2",
    )
    ours, theirs, unassigned = _order(crew="repair-crew-1"), _order(crew="repair-crew-2"), _order()
    assert CHEN.may_act_on(ours) and CHEN.may_read(ours)
    assert not CHEN.may_act_on(theirs) and not CHEN.may_read(theirs)
    assert not CHEN.may_act_on(unassigned)
    assert not CHEN.may_handle("repair"), "a crew member is not the department's desk (no queue, no crews)"


def test_department_staff_and_supervisors_act_leadership_only_reads() -> None:
    repair, billing = _order(crew="repair-crew-1"), _order("billing")
    assert ZHAO.may_act_on(repair) and not ZHAO.may_read(billing)
    assert not SUN.may_read(repair) and SUN.may_act_on(billing)
    assert WU.may_act_on(repair) and WU.supervisor
    for reader in (ZHENG, HE):
        assert reader.may_read(repair) and not reader.may_act_on(repair) and not reader.supervisor
    assert not LI.may_read(repair) and LI.agent and LI.department is None


def test_a_crew_claim_for_another_department_or_an_unknown_crew_makes_no_crew_member() -> None:
    assert _person("x", "crew", department="billing", crew="repair-crew-1").crew is None
    assert _person("x", "crew", crew="no-such-crew").department is None


async def test_each_step_records_the_persons_id_and_name(dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    event = received("从供暖开始室内温度一直只有16度左右，希望派人来测温。", accepted_at=START, channel="phone")
    await dispatcher.route_received([event], consumer="t")
    (order,) = store.state.orders_of(event.complaint_id)
    with pytest.raises(Forbidden):
        await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), SUN)
    view = await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), ZHAO)
    assert (view.history[-1]["actor"], view.history[-1]["actor_name"]) == ("repair.zhao", "赵磊")
    acknowledged = store.state.events[-1]
    assert isinstance(acknowledged, WorkOrderAcknowledged) and acknowledged.schema_version == 3
    # Nobody took it before (no agent id): the dispatcher who signs for it owns it, by staff id.
    assert (acknowledged.payload.actor, acknowledged.payload.actor_name, acknowledged.payload.owner) == (
        "repair.zhao",
        "赵磊",
        "repair.zhao",
    )
