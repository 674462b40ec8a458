"""Field work on the in-memory repository: a crew sent, a visit agreed, arrival, findings, a photo, the customer's
acceptance — each step an event naming the person — and the refusals (wrong crew, bad window, implausible
temperature, not on site)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from services.dispatch.field_work import FieldStepRefused
from services.dispatch.model import Actor, Forbidden, Step, WorkOrder
from services.dispatch.photos import LocalPhotoStorage, NotAnImage
from services.dispatch.views import DispatchViews
from services.dispatch.workorders.lifecycle import Action, IllegalTransition
from shared.contracts import Department
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, received
from tests.unit.dispatch.clocks import START

ZHAO = Actor(name="repair.zhao", staff_id="repair.zhao", display_name="赵磊", department=Department.REPAIR)
CHEN = Actor(
    name="crew1.chen", staff_id="crew1.chen", display_name="陈刚", department=Department.REPAIR, crew="repair-crew-1"
)
YANG = replace(CHEN, name="crew2.yang", staff_id="crew2.yang", display_name="杨帆", crew="repair-crew-2")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture
def field_dispatcher(dispatcher: DispatchDriver, tmp_path: Path) -> DispatchDriver:
    return dispatcher.with_context(photos=LocalPhotoStorage(tmp_path), photo_max_bytes=1024)


async def _acknowledged(dispatcher: DispatchDriver, store: FakeTransactions) -> WorkOrder:
    event = received("从供暖开始室内温度一直只有16度左右，希望派人来测温。", accepted_at=START, channel="phone")
    await dispatcher.route_received([event], consumer="t")
    (order,) = store.state.orders_of(event.complaint_id)
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), ZHAO)
    return order


async def test_a_job_from_crew_to_acceptance_names_each_person(
    field_dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock, tmp_path: Path
) -> None:
    d = field_dispatcher
    order = await _acknowledged(d, store)
    wo = order.work_order_id
    with pytest.raises(Forbidden):
        await d.act(wo, Step(Action.START), CHEN)  # not yet their crew's
    await d.act(wo, Step(Action.ASSIGN_CREW, crew="repair-crew-1", note="带测温枪"), ZHAO)
    window = (START + timedelta(hours=2), START + timedelta(hours=4))
    await d.act(wo, Step(Action.AGREE_APPOINTMENT, window_start=window[0], window_end=window[1]), ZHAO)
    with pytest.raises(Forbidden):
        await d.act(wo, Step(Action.START), YANG)
    with pytest.raises(IllegalTransition):
        await d.act(wo, Step(Action.RECORD_FINDINGS, indoor_temperature_c=17.0), CHEN)  # not on site yet
    clock.advance(timedelta(hours=2, minutes=30))
    await d.act(wo, Step(Action.START), CHEN)
    await d.act(wo, Step(Action.RECORD_FINDINGS, indoor_temperature_c=17.04, note="卧室17度"), CHEN)
    _, photo = await d.add_photo(wo, PNG, CHEN)
    assert (photo.content_type, photo.size_bytes, photo.actor_name) == ("image/png", len(PNG), "陈刚")
    resolved = await d.act(
        wo,
        Step(
            Action.RESOLVE,
            resolution="调节单元阀门，室温回升",
            root_cause="repair.valve_failure",
            acceptance={"customer_name": "王小明", "confirmed": True, "note": None},
        ),
        CHEN,
    )
    assert resolved.order.status == "resolved" and resolved.order.crew == "repair-crew-1"
    assert resolved.order.acceptance == {"customer_name": "王小明", "confirmed": True, "note": None}

    field_events = [
        e for e in store.state.events if e.event_type.startswith("workorder.") and e.payload.actor != "dispatch"
    ]
    assert [(e.event_type, e.payload.actor, e.payload.actor_name) for e in field_events] == [
        ("workorder.acknowledged", "repair.zhao", "赵磊"),
        ("workorder.crew_assigned", "repair.zhao", "赵磊"),
        ("workorder.appointment_agreed", "repair.zhao", "赵磊"),
        ("workorder.started", "crew1.chen", "陈刚"),
        ("workorder.findings_recorded", "crew1.chen", "陈刚"),
        ("workorder.photo_added", "crew1.chen", "陈刚"),
        ("workorder.resolved", "crew1.chen", "陈刚"),
    ]
    started, findings, added, done = field_events[3:]
    assert (started.schema_version, started.payload.crew) == (2, "repair-crew-1")
    assert findings.payload.indoor_temperature_c == 17.0
    assert added.payload.photo_id == photo.photo_id
    # Dispatch keeps the name the customer gave; the topic carries it masked, as every customer name there.
    assert done.payload.acceptance is not None and done.payload.acceptance.customer_name == "王**"

    read = await DispatchViews(store, photos=d.context.photos).work_order(wo, CHEN)
    assert [f.indoor_temperature_c for f in read.findings] == [17.0]
    assert [p.photo_id for p in read.photos] == [photo.photo_id]
    assert [h["actor_name"] for h in read.history][-3:] == ["陈刚", "陈刚", "陈刚"]
    stored, data = await DispatchViews(store, photos=d.context.photos).photo(wo, photo.photo_id, ZHAO)
    assert (stored.content_type, data) == ("image/png", PNG)


async def test_crew_jobs_list_only_the_crews_own(field_dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    order = await _acknowledged(field_dispatcher, store)
    await field_dispatcher.act(order.work_order_id, Step(Action.ASSIGN_CREW, crew="repair-crew-1"), ZHAO)
    views = DispatchViews(store)
    crews = field_dispatcher.context.crews
    ones, _ = await views.crew_jobs(crews.get("repair-crew-1"), CHEN, limit=10, offset=0)  # type: ignore[arg-type]
    assert [v.order.work_order_id for v in ones] == [order.work_order_id]
    twos, total = await views.crew_jobs(crews.get("repair-crew-2"), YANG, limit=10, offset=0)  # type: ignore[arg-type]
    assert (twos, total) == ([], 0)
    with pytest.raises(Forbidden):
        await views.crew_jobs(crews.get("repair-crew-1"), YANG, limit=10, offset=0)  # type: ignore[arg-type]


async def test_not_at_home_moves_the_visit_and_the_next_arrival_starts_again(
    field_dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    d = field_dispatcher
    order = await _acknowledged(d, store)
    wo = order.work_order_id
    await d.act(wo, Step(Action.ASSIGN_CREW, crew="repair-crew-1"), ZHAO)
    first = (START + timedelta(hours=1), START + timedelta(hours=2))
    await d.act(wo, Step(Action.AGREE_APPOINTMENT, window_start=first[0], window_end=first[1]), ZHAO)
    clock.advance(timedelta(hours=1, minutes=10))
    await d.act(wo, Step(Action.START), CHEN)
    arrived = store.state.work_orders[wo].started_at
    nxt = (START + timedelta(days=1, hours=1), START + timedelta(days=1, hours=3))
    missed = await d.act(wo, Step(Action.NOT_AT_HOME, window_start=nxt[0], window_end=nxt[1], note="敲门无人"), CHEN)
    assert (missed.order.status, missed.order.appointment_start, missed.order.appointment_end) == (
        "acknowledged",
        *nxt,
    )
    event = store.state.events[-1]
    assert event.event_type == "workorder.visit_missed"
    assert (event.payload.missed_window_start, event.payload.next_window_start) == (first[0], nxt[0])
    clock.advance(timedelta(days=1))
    again = await d.act(wo, Step(Action.START), CHEN)
    assert again.order.status == "in_progress" and again.order.started_at == arrived, "the first arrival is kept"


async def test_field_steps_refuse_what_cannot_be(field_dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    d = field_dispatcher
    order = await _acknowledged(d, store)
    wo = order.work_order_id
    with pytest.raises(FieldStepRefused, match="not a crew of repair") as refused:
        await d.act(wo, Step(Action.ASSIGN_CREW, crew="billing-team-1"), ZHAO)
    assert refused.value.field == "crew"
    await d.act(wo, Step(Action.ASSIGN_CREW, crew="repair-crew-1"), ZHAO)
    with pytest.raises(Forbidden, match="send a crew"):
        await d.act(wo, Step(Action.ASSIGN_CREW, crew="repair-crew-2"), CHEN)
    with pytest.raises(FieldStepRefused) as window:
        await d.act(wo, Step(Action.AGREE_APPOINTMENT, window_start=START, window_end=START), ZHAO)
    assert window.value.field == "window_end"
    await d.act(wo, Step(Action.START), CHEN)
    with pytest.raises(FieldStepRefused) as hot:
        await d.act(wo, Step(Action.RECORD_FINDINGS, indoor_temperature_c=61.0), CHEN)
    assert hot.value.field == "indoor_temperature_c"
    with pytest.raises(NotAnImage):
        await d.add_photo(wo, b"plain text named photo.png", CHEN)
    assert not store.state.photos and not list(Path(d.context.photos.root).rglob("*")), "nothing kept"  # type: ignore[union-attr]
