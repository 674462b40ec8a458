"""Issue 25 in dispatch: a `complaint.received` v5 has its exact address sealed; dispatch opens it with the key ring
for its rules and its case (incidents find the compound in it), the work order's topic carries the sealed copy
(workorder.assigned v4), an erasure purges the address from the case, and a complaint whose key is gone is routed
all the same, without an address."""

from __future__ import annotations

import uuid

from services.dispatch.consumers import COMPLAINT_RECEIVED, ERASURES
from services.dispatch.handlers import contacts
from shared.contracts import (
    ComplaintReceived,
    Location,
    SubjectErased,
    SubjectErasedPayload,
    WorkOrderAssigned,
    new_event,
)
from shared.shredding import new_key
from shared.subject_keys import NO_KEYS, opened_location, sealed_location
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, received
from tests.unit.dispatch.clocks import START

HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
HOME = "和平区长青小区3号楼2单元301室"


class Ring:
    def __init__(self) -> None:
        self.keys: dict[uuid.UUID, bytes] = {}

    async def key(self, customer_id: uuid.UUID) -> bytes | None:
        return self.keys.get(customer_id)

    async def preload(self, customer_ids: object) -> None:
        return None

    def forget(self, customer_id: uuid.UUID) -> None:
        self.keys.pop(customer_id, None)


def _sealed(ring: Ring, customer: uuid.UUID) -> ComplaintReceived:
    """A v5 event as intake publishes it: the address sealed with the customer's key."""
    ring.keys.setdefault(customer, new_key())
    event = received(HEATING, accepted_at=START, location={"address": HOME, "district": "heping"})
    p = event.payload
    place = sealed_location(Location(address=HOME, district="heping"), customer, ring.keys[customer])
    return event.model_copy(update={"payload": p.model_copy(update={"location": place, "customer_id": customer})})


def _assigned(store: FakeTransactions, case: uuid.UUID) -> WorkOrderAssigned:
    (one,) = [e for e in store.state.events if isinstance(e, WorkOrderAssigned) and e.complaint_id == case]
    return one


async def test_dispatch_opens_the_address_for_its_case_and_its_topic_carries_it_sealed(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    ring, customer = Ring(), uuid.uuid4()
    event = _sealed(ring, customer)
    await dispatcher.with_context(keys=ring).route_received([event], consumer=COMPLAINT_RECEIVED.consumer)
    case = store.state.cases[event.complaint_id]
    assert case.location["address"] == HOME
    on_topic = _assigned(store, event.complaint_id)
    assert on_topic.schema_version == 4 and on_topic.payload.location.address is None
    assert HOME not in on_topic.model_dump_json() and on_topic.payload.location.sealed is not None
    assert (await opened_location(on_topic.payload.location, ring)).address == HOME

    erased = SubjectErasedPayload(
        customer_id=customer, complaint_ids=(event.complaint_id,), erased_at=START, reason="request"
    )
    erasure = new_event(
        SubjectErased, complaint_id=event.complaint_id, producer="intake", correlation_id="e", payload=erased
    )
    await dispatcher.with_context(keys=ring).door.each(contacts.purge, [erasure], consumer=ERASURES.consumer)
    assert store.state.cases[event.complaint_id].location["address"] is None


async def test_a_complaint_whose_key_is_gone_is_routed_without_an_address(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _sealed(Ring(), uuid.uuid4())
    await dispatcher.with_context(keys=NO_KEYS).route_received([event], consumer=COMPLAINT_RECEIVED.consumer)
    assert store.state.cases[event.complaint_id].location["address"] is None
    location = _assigned(store, event.complaint_id).payload.location
    assert (location.address, location.sealed, location.district) == (None, None, "heping")
