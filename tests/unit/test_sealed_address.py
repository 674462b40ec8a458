"""Issue 25, the exact address: `complaint.received` v5 carries the address and coordinates sealed with the
customer's key (district and asset in clear), and every holder opens them with the key ring — on the in-memory
fakes. Intake seals; an older event reads as it came; once the key is gone the case is there without the address;
reporting's erasure purges what it opened, and a replay after it brings nothing back. Dispatch's side:
tests/unit/dispatch/test_sealed_address.py; on Postgres and Kafka: tests/service/test_privacy_erasure.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.intake.handlers.context import IntakeContext
from services.intake.handlers.submit import submit_complaint
from services.intake.model import SubmitComplaint
from services.intake.schemas import ComplaintCreate
from services.reporting.handlers import ReportingContext, project
from shared.contracts import ComplaintReceived, Event, SubjectErased, SubjectErasedPayload, new_event
from shared.handling import Door
from shared.subject_keys import NO_KEYS, opened_location
from tests.fakes.intake import FakeTransactions
from tests.fakes.reporting import InMemoryTransactions
from tests.support.complaints import complaint
from tests.support.reporting_events.handling import Scripted, events

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
HOME = "和平区长青小区3号楼2单元301室"
POINT = {"latitude": 41.7912345, "longitude": 123.4367891}


class Ring:
    """Intake's key table as a key ring: a key deleted is gone."""

    def __init__(self, keys: dict[uuid.UUID, bytes]) -> None:
        self.keys = keys

    async def key(self, customer_id: uuid.UUID) -> bytes | None:
        return self.keys.get(customer_id)

    async def preload(self, customer_ids: object) -> None:
        return None

    def forget(self, customer_id: uuid.UUID) -> None:
        return None


async def _received_from_intake() -> tuple[ComplaintReceived, Ring]:
    """A complaint through intake's use case: its `complaint.received` and intake's keys as a ring."""
    intake = FakeTransactions()
    door = Door(intake, IntakeContext(ZoneInfo("Asia/Shanghai"), "k" * 32), clock=lambda: NOW)
    body = complaint("web", location={"address": HOME, "district": "heping", "coordinates": POINT})
    await door.run(submit_complaint, SubmitComplaint(ComplaintCreate.model_validate(body), None, "c"))
    (received,) = [e for e in intake.state.outbox if isinstance(e, ComplaintReceived)]
    return received, Ring(intake.state.subject_keys)


def _erased(customer: uuid.UUID, case: uuid.UUID) -> SubjectErased:
    payload = SubjectErasedPayload(customer_id=customer, complaint_ids=(case,), erased_at=NOW, reason="request")
    return new_event(
        SubjectErased, complaint_id=case, producer="intake", correlation_id="e", occurred_at=NOW, payload=payload
    )


async def test_intake_seals_the_exact_place_and_keeps_district_in_clear() -> None:
    received, ring = await _received_from_intake()
    location = received.payload.location
    assert received.schema_version == 5
    assert (location.address, location.coordinates, location.district) == (None, None, "heping")
    assert location.sealed is not None and location.sealed.customer_id == received.payload.customer_id
    on_the_wire = received.model_dump_json()
    assert HOME not in on_the_wire and "41.7912345" not in on_the_wire and "长青" not in on_the_wire
    opened = await opened_location(location, ring)
    assert opened.address == HOME and opened.coordinates is not None
    assert (opened.coordinates.latitude, opened.coordinates.longitude) == (POINT["latitude"], POINT["longitude"])
    assert opened.sealed is None


async def test_an_older_event_reads_as_it_came_and_a_gone_key_leaves_no_address() -> None:
    received, _ = await _received_from_intake()
    gone = await opened_location(received.payload.location, NO_KEYS)
    assert (gone.address, gone.coordinates, gone.sealed, gone.district) == (None, None, None, "heping")
    v4 = received.payload.location.model_copy(update={"address": HOME, "sealed": None})
    assert await opened_location(v4, NO_KEYS) == v4


async def test_reporting_shows_the_opened_address_purges_it_on_erasure_and_a_replay_brings_none_back() -> None:
    received, ring = await _received_from_intake()
    case, customer = received.complaint_id, received.payload.customer_id
    assert customer is not None
    tx = InMemoryTransactions()
    door = Door(tx, ReportingContext(ZoneInfo("Asia/Shanghai"), keys=ring))
    await door.run(project, [received])
    assert tx.tables.cases[case]["address"] == HOME and tx.tables.cases[case]["address_key"]

    await door.run(project, [_erased(customer, case)])
    del ring.keys[customer]  # intake deleted the key (it publishes the erasure after)
    assert (tx.tables.cases[case]["address"], tx.tables.cases[case]["address_key"]) == (None, None)
    assert not any(HOME in str(e.payload) for e in tx.tables.timeline.values())

    rebuilt = InMemoryTransactions()
    replay: list[Event] = [received]
    await Door(rebuilt, ReportingContext(ZoneInfo("Asia/Shanghai"), keys=ring)).run(project, replay)
    assert rebuilt.tables.cases[case]["reference_no"] == received.payload.reference_no, "the case is there"
    assert rebuilt.tables.cases[case]["address"] is None, "without the address"


async def test_an_erasure_purges_the_clear_address_of_a_case_from_before_v5_from_every_timeline_entry() -> None:
    """A case received before v5 brought its address in clear on complaint.received and on every workorder.assigned
    dispatch published for it (v1-v3, and v4 repeating what the case came with): the erasure blanks them all."""
    case = Scripted(n=7, channel="phone", district="heping")
    before_v5 = events(case, NOW)
    tx = InMemoryTransactions()
    door = Door(tx, ReportingContext(ZoneInfo("Asia/Shanghai"), keys=NO_KEYS))
    await door.run(project, before_v5)
    address = f"{case.n} 测试路"
    placed = {e.event_type for e in tx.tables.timeline.values() if address in str(e.payload)}
    assert placed == {"complaint.received", "workorder.assigned"}

    await door.run(project, [_erased(uuid.uuid4(), case.complaint_id)])
    assert not any(address in str(e.payload) for e in tx.tables.timeline.values())
    assert tx.tables.cases[case.complaint_id]["address"] is None
