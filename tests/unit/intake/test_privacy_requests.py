"""Issue 25 on the in-memory fake: contact data leaves intake only sealed with the customer's key; a supervisor's
export, correction and erasure of a subject, each logged with who and why; the erasure deletes the key (every sealed
copy stops opening) and tells every holder; retention erases customers whose cases all closed long ago. The SQL of the
same is run on Postgres, with the other services, in tests/service/test_privacy_erasure.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.intake.customers import phone_hash
from services.intake.handlers.channel_messages import take_reply
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.privacy import correct_subject, erase_subject, export_subject
from services.intake.handlers.retention import SweepRetention, sweep_retention
from services.intake.handlers.submit import submit_complaint
from services.intake.model import SubmitComplaint
from services.intake.privacy import (
    CorrectSubject,
    EraseSubject,
    ExportSubject,
    authorize_privacy,
    subject_of,
)
from services.intake.repository import IntakeRepository
from services.intake.schemas import ComplaintCreate
from shared.contracts import ComplaintContact, ComplaintReceived, SubjectErased
from shared.errors import Forbidden, Invalid, NotFound
from shared.handling import Door
from shared.http.person import Person
from shared.shredding import Unsealable, new_key, open_sealed, seal
from shared.subject_keys import opened_contact
from tests.fakes.intake import FakeTransactions, IntakeState
from tests.support.channel_messages import channel_reply
from tests.support.complaints import complaint

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
PHONE = "13912340077"
NAME = "Lin Erasure"
SUPERVISOR = Person("supervisor.wu", "吴静", frozenset({"supervisor"}))


class StateKeys:
    """The key ring as the other services see intake's key table (here: the fake's)."""

    def __init__(self, state: IntakeState) -> None:
        self.state = state

    async def key(self, customer_id: uuid.UUID) -> bytes | None:
        return self.state.subject_keys.get(customer_id)

    async def preload(self, customer_ids: object) -> None:
        return None

    def forget(self, customer_id: uuid.UUID) -> None:
        return None


IntakeDoor = Door[IntakeRepository, IntakeContext]


def _door(now: datetime = NOW) -> tuple[IntakeDoor, FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, IntakeContext(ZoneInfo("Asia/Shanghai"), "k" * 32), clock=lambda: now), transactions


async def _three_cases(door: IntakeDoor) -> list[uuid.UUID]:
    ids = []
    for n in range(3):
        body = complaint(
            "web",
            customer={"name": NAME, "phone": PHONE, "email": "lin@example.com", "preferred_contact": "phone"},
            text=f"第{n}次：暖气不热，请打 {PHONE} 联系我",
        )
        submitted = await door.run(submit_complaint, SubmitComplaint(ComplaintCreate.model_validate(body), None, "c"))
        ids.append(submitted.complaint.complaint_id)
    return sorted(ids)  # the order cases are listed in at one accepted time


def test_a_sealed_contact_opens_only_with_its_key_and_for_its_customer() -> None:
    key, customer = new_key(), uuid.uuid4()
    sealed = seal(key, customer, {"phone": PHONE, "name": NAME})
    assert PHONE not in sealed.model_dump_json() and NAME not in sealed.model_dump_json()
    assert open_sealed(key, sealed) == {"phone": PHONE, "name": NAME}
    with pytest.raises(Unsealable):
        open_sealed(new_key(), sealed)
    with pytest.raises(Unsealable):
        open_sealed(key, sealed.model_copy(update={"customer_id": uuid.uuid4()}))


async def test_contact_events_carry_the_contact_sealed_with_the_customers_key() -> None:
    door, tx = _door()
    await _three_cases(door)
    contacts = [e for e in tx.state.outbox if isinstance(e, ComplaintContact)]
    received = [e for e in tx.state.outbox if isinstance(e, ComplaintReceived)]
    assert len(contacts) == 3 and all(c.schema_version == 2 for c in contacts)
    for event in [*contacts, *received]:
        assert PHONE not in event.model_dump_json() and NAME not in event.model_dump_json()
    assert len({c.payload.customer_id for c in contacts}) == 1, "one customer, one key"
    opened = await opened_contact(contacts[0].payload, StateKeys(tx.state))
    assert opened is not None and (opened.phone, opened.name, opened.email) == (PHONE, NAME, "lin@example.com")


async def test_a_supervisor_exports_every_case_of_the_phone_and_the_export_is_logged() -> None:
    door, tx = _door()
    ids = await _three_cases(door)
    export = await door.run(export_subject, ExportSubject(subject_of(PHONE, None), "supervisor.wu", "PIPL 访问请求"))
    assert [c.complaint_id for c in export.cases] == ids
    assert all(c.submission["customer"]["phone"] == PHONE for c in export.cases)
    [entry] = tx.state.privacy_log
    assert (entry.action, entry.actor, entry.reason) == ("export", "supervisor.wu", "PIPL 访问请求")
    assert entry.complaint_ids == tuple(ids) and PHONE not in entry.subject, "the log names the subject masked"


async def test_the_export_has_the_customers_messages_on_each_case_and_the_erasure_deletes_them() -> None:
    door, tx = _door()
    ids = await _three_cases(door)
    reference = tx.state.complaints[ids[1]].reference_no
    reply = channel_reply(reference, text=f"还是不热，请打{PHONE}")
    await door.run(take_reply, reply)
    await door.run(take_reply, reply)  # redelivered: kept once
    export = await door.run(export_subject, ExportSubject(subject_of(PHONE, None), "supervisor.wu", "PIPL 访问请求"))
    by_case = {c.complaint_id: [m.text for m in c.messages] for c in export.cases}
    assert by_case == {ids[0]: [], ids[1]: [f"还是不热，请打{PHONE}"], ids[2]: []}
    await door.run(erase_subject, EraseSubject("supervisor.wu", "本人要求删除", subject=subject_of(PHONE, None)))
    assert tx.state.customer_messages == {}


async def test_erasure_deletes_the_key_blanks_intakes_copy_tells_every_holder_and_is_logged() -> None:
    door, tx = _door()
    ids = await _three_cases(door)
    contacts = [e for e in tx.state.outbox if isinstance(e, ComplaintContact)]
    erasure = await door.run(
        erase_subject, EraseSubject("supervisor.wu", "本人要求删除", subject=subject_of(PHONE, None))
    )
    assert erasure.complaint_ids == tuple(ids)
    assert erasure.customer_id not in tx.state.subject_keys
    for event in contacts:  # every copy on the topic, in a dead letter or a replay: ciphertext without a key
        assert await opened_contact(event.payload, StateKeys(tx.state)) is None
    for complaint_id in ids:
        stored = tx.state.complaints[complaint_id].submission
        assert PHONE not in str(stored) and NAME not in str(stored) and "lin@example.com" not in str(stored)
    [erased] = [e for e in tx.state.outbox if isinstance(e, SubjectErased)]
    assert (erased.payload.customer_id, erased.payload.complaint_ids) == (erasure.customer_id, tuple(ids))
    assert PHONE not in erased.model_dump_json()
    scrub, _ = tx.state.ingress_scrubs[erasure.customer_id]  # the ingress topics' clear copies, taken out later
    assert scrub.phone_keys == (phone_hash(PHONE, "k" * 32),) and PHONE not in repr(scrub), "by the key, not the number"
    entry = tx.state.privacy_log[-1]
    assert (entry.action, entry.actor, entry.reason, entry.complaint_ids) == (
        "erasure",
        "supervisor.wu",
        "本人要求删除",
        tuple(ids),
    )
    with pytest.raises(NotFound):  # the phone names nobody any more
        await door.run(export_subject, ExportSubject(subject_of(PHONE, None), "supervisor.wu", "again"))
    again = await _three_cases(door)
    fresh = next(e for e in tx.state.outbox if isinstance(e, ComplaintContact) and e.complaint_id == again[0])
    assert fresh.payload.customer_id != erasure.customer_id, "a new complaint starts a new customer with a new key"


async def test_a_correction_changes_every_case_and_reaches_the_holders_as_a_new_sealed_contact() -> None:
    door, tx = _door()
    ids = await _three_cases(door)
    before = len(tx.state.outbox)
    command = CorrectSubject(subject_of(PHONE, None), "supervisor.wu", "号码登记错误", {"phone": "13800000001"})
    corrected = await door.run(correct_subject, command)
    assert all(c.submission["customer"]["phone"] == "13800000001" for c in corrected.cases)
    contacts = [e for e in tx.state.outbox[before:] if isinstance(e, ComplaintContact)]
    assert sorted(c.complaint_id for c in contacts) == ids
    opened = await opened_contact(contacts[0].payload, StateKeys(tx.state))
    assert opened is not None and (opened.phone, opened.name) == ("13800000001", NAME)
    assert tx.state.privacy_log[-1].action == "correction"
    by_new = await door.run(export_subject, ExportSubject(subject_of("13800000001", None), "supervisor.wu", "查阅"))
    assert [c.complaint_id for c in by_new.cases] == ids, "found by the corrected number"
    with pytest.raises(NotFound):
        await door.run(export_subject, ExportSubject(subject_of(PHONE, None), "supervisor.wu", "查阅"))
    bad = CorrectSubject(subject_of("13800000001", None), "supervisor.wu", "x", {"phone": "12"})
    with pytest.raises(Invalid, match="phone"):
        await door.run(correct_subject, bad)


async def test_retention_erases_a_customer_only_once_every_case_closed_longer_ago_than_the_period() -> None:
    door, tx = _door()
    ids = await _three_cases(door)
    retention = timedelta(days=3 * 365)
    for complaint_id in ids[:2]:
        tx.state.closed_at[complaint_id] = NOW - retention - timedelta(days=1)
    assert await door.run(sweep_retention, SweepRetention(retention)) == [], "one case is still open"
    tx.state.closed_at[ids[2]] = NOW - timedelta(days=10)
    assert await door.run(sweep_retention, SweepRetention(retention)) == [], "closed ten days ago: kept"
    later: IntakeDoor = Door(tx, door.context, clock=lambda: NOW + retention)
    [erased] = await later.run(sweep_retention, SweepRetention(retention))
    assert erased not in tx.state.subject_keys
    assert tx.state.privacy_log[-1].action == "erasure" and tx.state.privacy_log[-1].actor == "retention"


def test_only_a_signed_in_supervisor_handles_requests_and_names_exactly_one_subject() -> None:
    assert authorize_privacy(SUPERVISOR) is SUPERVISOR
    with pytest.raises(Forbidden):
        authorize_privacy(Person("agent.li", "李", frozenset({"agent"})))
    with pytest.raises(Forbidden):
        authorize_privacy("web")
    with pytest.raises(Invalid):
        subject_of(PHONE, "HT-1")
    with pytest.raises(Invalid):
        subject_of(None, None)
