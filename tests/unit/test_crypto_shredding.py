"""Issue 25 in every holder of contact data, on the in-memory fakes: a sealed `complaint.contact` (v2) opens with the
customer's key and is kept; once the key is gone nothing of the customer is kept, whatever copy arrives; the erasure
event purges what was kept; a later contact (a correction) replaces the one kept and an older copy does not undo it;
followup's messages to a customer leave sealed, and notify opens them. Intake's side: tests/unit/intake/
test_privacy_requests.py; everything on Postgres and Kafka: tests/service/test_privacy_erasure.py."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.followup.consumers import COMPLAINT_CONTACT as FOLLOWUP_CONTACT
from services.followup.consumers import ERASURES as FOLLOWUP_ERASURES
from services.notify.handlers.context import NotifyContext
from services.notify.handlers.requests import opened_request
from services.reporting.handlers import ReportingContext, project
from shared.contracts import (
    ComplaintContact,
    ComplaintContactPayload,
    SubjectErased,
    SubjectErasedPayload,
    new_event,
)
from shared.contracts.followup import NotificationRequested, Recipient
from shared.handling import Door, Work
from shared.shredding import new_key, seal
from shared.subject_keys import SubjectKeys, opened_recipient, sealed_recipient
from tests.fakes.reporting import InMemoryTransactions
from tests.support.followup_events import START
from tests.unit.followup.conftest import make_followup

PHONE, NAME = "13912340055", "Lin Shred"
AT = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


class Keys:
    """A key ring over a dict, as intake's table: a key deleted is gone."""

    def __init__(self) -> None:
        self.keys: dict[uuid.UUID, bytes] = {}
        self.forgotten: list[uuid.UUID] = []

    async def key(self, customer_id: uuid.UUID) -> bytes | None:
        return self.keys.get(customer_id)

    async def preload(self, customer_ids: object) -> None:
        return None

    def forget(self, customer_id: uuid.UUID) -> None:
        self.forgotten.append(customer_id)


def _contact(keys: Keys, customer: uuid.UUID, complaint: uuid.UUID, phone: str, at: datetime) -> ComplaintContact:
    fields = {"name": NAME, "phone": phone, "email": None, "wechat_openid": None}
    return new_event(
        ComplaintContact,
        complaint_id=complaint,
        producer="intake",
        correlation_id="c",
        occurred_at=at,
        payload=ComplaintContactPayload(
            complaint_id=complaint,
            reference_no="TS-20261204-000001",
            preferred_contact="phone",
            customer_id=customer,
            sealed=seal(keys.keys[customer], customer, fields),
        ),
    )


def _erased(customer: uuid.UUID, complaints: list[uuid.UUID]) -> SubjectErased:
    return new_event(
        SubjectErased,
        complaint_id=complaints[0],
        producer="intake",
        correlation_id="e",
        occurred_at=AT,
        payload=SubjectErasedPayload(
            customer_id=customer, complaint_ids=tuple(complaints), erased_at=AT, reason="request"
        ),
    )


async def test_reporting_keeps_the_opened_contact_takes_corrections_and_forgets_an_erased_customer() -> None:
    keys, customer, case = Keys(), uuid.uuid4(), uuid.uuid4()
    keys.keys[customer] = new_key()
    tx = InMemoryTransactions()
    door = Door(tx, ReportingContext(ZoneInfo("Asia/Shanghai"), keys=keys))
    first = _contact(keys, customer, case, PHONE, AT)
    corrected = _contact(keys, customer, case, "13800000009", AT + timedelta(hours=1))
    await door.run(project, [first])
    assert (tx.tables.contacts[case].name, tx.tables.contacts[case].phone) == (NAME, PHONE)
    await door.run(project, [corrected, first])  # the correction, then an old copy replayed
    assert tx.tables.contacts[case].phone == "13800000009"
    await door.run(project, [_erased(customer, [case])])
    assert case not in tx.tables.contacts and keys.forgotten == [customer]
    del keys.keys[customer]
    await door.run(project, [first, corrected])  # a replay (or a rebuild) after the erasure
    assert case not in tx.tables.contacts


async def test_followup_opens_the_contact_seals_its_messages_to_the_customer_and_purges_on_erasure() -> None:
    keys, customer = Keys(), uuid.uuid4()
    keys.keys[customer] = new_key()
    followup = make_followup()
    followup.door.context = replace(
        followup.door.context, keys=keys, notifier=replace(followup.door.context.notifier, keys=keys)
    )
    case = uuid.uuid4()
    await followup.deliver(FOLLOWUP_CONTACT, [_contact(keys, customer, case, PHONE, START)])
    kept = followup.state.contacts[case]
    assert (kept.phone, kept.name, kept.customer_id) == (PHONE, NAME, customer)

    recipient = Recipient(kind="customer", phone=PHONE, preferred_contact="phone", customer_id=customer)
    sealed = await sealed_recipient(recipient, keys)
    assert sealed is not None and sealed.phone is None and PHONE not in sealed.model_dump_json()
    opened = await opened_recipient(sealed, keys)
    assert opened is not None and opened.phone == PHONE

    await followup.deliver(FOLLOWUP_ERASURES, [_erased(customer, [case])])
    assert case not in followup.state.contacts and keys.forgotten == [customer]
    del keys.keys[customer]
    assert await sealed_recipient(recipient, keys) is None, "no message is written to an erased customer"
    assert await opened_recipient(sealed, keys) is None, "a request already on the topic no longer opens"


async def test_notify_drops_a_request_whose_customer_was_erased() -> None:
    keys, customer = Keys(), uuid.uuid4()
    keys.keys[customer] = new_key()
    recipient = await sealed_recipient(
        Recipient(kind="customer", phone=PHONE, preferred_contact="phone", customer_id=customer), keys
    )
    assert recipient is not None
    request = new_event(
        NotificationRequested,
        complaint_id=uuid.uuid4(),
        producer="followup",
        correlation_id="n",
        payload={
            "notification_id": uuid.uuid4(),
            "complaint_id": uuid.uuid4(),
            "template_id": "receipt",
            "locale": "zh",
            "recipient": recipient,
            "params": {},
            "text": "您好",
            "requested_at": AT,
        },
    )
    context = NotifyContext(None, None, None, ZoneInfo("Asia/Shanghai"), keys=keys)  # type: ignore[arg-type]
    work = Work(None, context, AT)  # type: ignore[arg-type]
    opened = await opened_request(request, work)  # type: ignore[arg-type]
    assert opened is not None and opened.payload.recipient.phone == PHONE
    del keys.keys[customer]
    assert await opened_request(request, work) is None  # type: ignore[arg-type]


async def test_the_shared_key_client_caches_a_found_key_and_an_erased_one_stays_gone() -> None:
    customer, key = uuid.uuid4(), new_key()
    asked: list[uuid.UUID] = []

    class Pool:
        async def fetchval(self, _sql: str, customer_id: uuid.UUID) -> bytes | None:
            asked.append(customer_id)
            return key if customer_id == customer else None

    now = [0.0]
    ring = SubjectKeys(Pool(), ttl=60, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await ring.key(customer) == key and await ring.key(customer) == key
    assert asked == [customer], "cached"
    now[0] = 61
    assert await ring.key(customer) == key and len(asked) == 2, "asked again after the ttl"
    ring.forget(customer)
    assert await ring.key(customer) is None and len(asked) == 2, "gone without asking"
    stranger = uuid.uuid4()
    assert await ring.key(stranger) is None and await ring.key(stranger) is None and asked.count(stranger) == 1


async def test_a_batch_preloads_its_customers_keys_in_one_query_and_the_cache_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`preload` asks once for the batch's customers not cached (a drain of new customers asked once per event);
    one without a key is gone, as `key` reads it; past MAX_CACHED found keys the expired go, then the older half."""
    import shared.subject_keys as subject_keys

    known, key = uuid.uuid4(), new_key()
    queries: list[list[uuid.UUID]] = []

    class Pool:
        async def fetch(self, _sql: str, ids: list[uuid.UUID]) -> list[dict[str, object]]:
            queries.append(sorted(ids))
            return [{"customer_id": c, "key": key} for c in ids if c != gone]

        async def fetchval(self, _sql: str, customer_id: uuid.UUID) -> bytes | None:
            raise AssertionError("preloaded: no query per event")

    gone = uuid.uuid4()
    now = [0.0]
    ring = SubjectKeys(Pool(), ttl=60, clock=lambda: now[0])  # type: ignore[arg-type]
    fresh = [uuid.uuid4() for _ in range(3)]
    await ring.preload([known, *fresh, gone, known])
    assert queries == [sorted({known, *fresh, gone})]
    assert [await ring.key(c) for c in (known, *fresh)] == [key] * 4 and await ring.key(gone) is None
    await ring.preload([known, gone])
    assert len(queries) == 1, "all cached or gone: no query"

    monkeypatch.setattr(subject_keys, "MAX_CACHED", 4)
    now[0] = 61  # every key found so far has expired
    await ring.preload([uuid.uuid4() for _ in range(4)])
    assert len(ring._found) == 4, "the expired went first"
    await ring.preload([uuid.uuid4()])
    assert len(ring._found) == 3, "all fresh: the older half went"


def test_the_sealed_parts_of_a_batch_name_their_customers() -> None:
    from types import SimpleNamespace

    from shared.subject_keys import sealed_customers

    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def sealed(customer: uuid.UUID) -> SimpleNamespace:
        return SimpleNamespace(customer_id=customer)

    events = [
        SimpleNamespace(payload=SimpleNamespace(sealed=sealed(a))),  # a contact
        SimpleNamespace(payload=SimpleNamespace(location=SimpleNamespace(sealed=sealed(b)))),  # a place
        SimpleNamespace(payload=SimpleNamespace(recipient=SimpleNamespace(sealed=sealed(c)))),  # addresses
        SimpleNamespace(payload=SimpleNamespace(location=SimpleNamespace(sealed=None))),  # an older event
    ]
    assert sealed_customers(events) == {a, b}, "a recipient's addresses: notify's to open, not preloaded"
