"""Issue 25, must-shows 3 and 4, on the session's Postgres and Kafka with every holder of contact data in-process
(intake, followup, dispatch, reporting, notify, channels).

Must-show 4: a supervisor's export of a phone returns every case and the customer's message on it, and is in the
audit log (an agent, a channel key: 403).
Must-show 3: a customer with three cases is erased → no read model, export or copy of any topic (dead letters and
their replay included) yields their phone, name, email, exact address or coordinates — every sealed copy is
ciphertext whose key is gone (`complaint.contact` v2, `complaint.received` v5, `workorder.assigned` v4); a
rebuild of reporting from offset 0 shows the three cases without them (and without the address); the erasure is in
the audit log with who and why. Also: a correction reaches every holder and the customer is found by the corrected
number; retention erases only a customer whose every case closed longer ago than the period.

Each service's consumer groups start at the topics' current end (they read only this test's events); the scan of the
topics and the rebuild read everything from offset 0, as an operator's replay would.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.dispatch.consumers import SUBSCRIPTIONS as DISPATCH
from services.followup.consumers import SUBSCRIPTIONS as FOLLOWUP
from services.intake.consumers import SUBSCRIPTIONS as INTAKE
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.retention import SweepRetention, sweep_retention
from services.intake.repository import IntakeRepository, PostgresIntakeRepository
from services.intake.settings import DEV_CUSTOMER_HASH_KEY
from services.reporting.consumers import SUBSCRIPTIONS as REPORTING
from services.reporting.rebuild import rebuild
from shared import topics
from shared.contracts import ComplaintClosed, ComplaintClosedPayload, ComplaintContact, ReceivedLocation, new_event
from shared.db import transactions
from shared.dead_letters import read_dead_letters, replay
from shared.handling import Door
from shared.kafka.replay import assign_from_start, read_to_end
from shared.kafka.security import client_options
from shared.subject_keys import SubjectKeys, opened_contact, opened_location
from tests.support.channel_messages import channel_complaint, channel_reply
from tests.support.channels import running_channels
from tests.support.complaints import complaint, headers
from tests.support.dispatch import running_dispatch
from tests.support.followup import running_followup
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import produce, publish, start_groups_at_end, wait_until
from tests.support.notify import FakeProvider, catalog, running_notify
from tests.support.reporting import running_reporting
from tests.support.tokens import LocalIssuer

ISSUER = LocalIssuer()


def supervisor() -> dict[str, str]:
    """Minted when used: a token lives 300 s."""
    return {"Authorization": f"Bearer {ISSUER.mint('supervisor.wu', roles=('supervisor',), name='吴静')}"}


@dataclass
class Subject:
    phone: str
    name: str
    email: str
    cases: list[uuid.UUID]
    references: list[str]
    #: Their home, and its latitude: sealed on every topic (complaint.received v5), opened by the holders.
    home: str = ""
    latitude: float = 0.0


@dataclass
class Running:
    intake: httpx.AsyncClient
    reporting: httpx.AsyncClient
    subject: Subject


@pytest.fixture(scope="module")
async def running(migrated: Infrastructure) -> AsyncIterator[Running]:
    """Every holder running, the subject's three cases taken and held everywhere (opened from the sealed contact)."""
    database, kafka, tag = migrated.database_url, migrated.kafka_bootstrap_servers, uuid.uuid4().hex[:8]
    groups = {name: f"erasure-{tag}-{name}" for name in ("intake", "followup", "dispatch", "reporting")}
    tables = {"intake": INTAKE, "followup": FOLLOWUP, "dispatch": DISPATCH, "reporting": REPORTING}
    # One group at a time costs a coordinator round each: all at once.
    await asyncio.gather(
        *(start_groups_at_end(kafka, [s], groups[name]) for name, table in tables.items() for s in table)
    )
    async with AsyncExitStack() as stack:
        enter = stack.enter_async_context
        _, reporting = await enter(running_reporting(database, kafka, reporting_consumer_group=groups["reporting"]))
        await enter(running_dispatch(database, kafka, dispatch_consumer_group=groups["dispatch"]))
        await enter(running_followup(database, kafka, followup_consumer_group=groups["followup"]))
        await enter(running_notify(database, kafka, providers=catalog(FakeProvider(f"sms-{tag}", "sms"))))
        await enter(running_channels(database, kafka))
        _, intake = await enter(
            running_intake(
                database,
                kafka,
                intake_consumer_group=groups["intake"],
                intake_ingress_scrub_seconds=0.3,
                create_kwargs={"persons": ISSUER.verifier()},
            )
        )
        subject = Subject(f"139{uuid.uuid4().int % 10**8:08d}", f"Lin Erasure{tag}", f"lin.{tag}@example.com", [], [])
        subject.home = f"和平区隐私小区{uuid.uuid4().int % 10**6}号楼2单元301室"
        subject.latitude = 41.7 + uuid.uuid4().int % 10**6 / 10**9
        place = {"address": subject.home, "district": "heping"}
        place["coordinates"] = {"latitude": subject.latitude, "longitude": 123.43}  # type: ignore[assignment]
        for n in range(3):
            customer = {"name": subject.name, "phone": subject.phone, "email": subject.email}
            body = complaint(
                "web",
                customer={**customer, "preferred_contact": "phone"},
                text=f"第{n}次，请打{subject.phone}",
                location=place,
            )
            answer = await intake.post("/v1/complaints", json=body, headers=headers("web"))
            assert answer.status_code == 202, answer.text
            subject.cases.append(uuid.UUID(answer.json()["complaint_id"]))
            subject.references.append(answer.json()["reference_no"])
        # The customer writes on the second case afterwards (a reply the channels service hands intake).
        await publish(kafka, channel_reply(subject.references[1], text="还是不热，师傅什么时候来？"))
        yield Running(intake, reporting, subject)


async def _held(db: asyncpg.Pool, subject: Subject) -> dict[str, int]:
    """How many of the subject's cases each holder keeps their contact (or exact place) for, in clear or hashed."""
    ids = subject.cases
    return {
        "reporting address": await db.fetchval(
            "SELECT count(*) FROM reporting.cases WHERE complaint_id = ANY($1) AND address = $2", ids, subject.home
        ),
        "dispatch address": await db.fetchval(
            "SELECT count(*) FROM dispatch.cases WHERE complaint_id = ANY($1) AND location ->> 'address' = $2",
            ids,
            subject.home,
        ),
        "channels coordinates": await db.fetchval(
            "SELECT count(*) FROM channels.cases WHERE complaint_id = ANY($1) AND latitude IS NOT NULL", ids
        ),
        "followup": await db.fetchval(
            "SELECT count(*) FROM followup.contacts WHERE complaint_id = ANY($1) AND phone = $2", ids, subject.phone
        ),
        "dispatch": await db.fetchval(
            "SELECT count(*) FROM dispatch.contacts WHERE complaint_id = ANY($1) AND phone = $2", ids, subject.phone
        ),
        "reporting": await db.fetchval(
            "SELECT count(*) FROM reporting.contacts WHERE complaint_id = ANY($1) AND phone = $2", ids, subject.phone
        ),
        "channels": await db.fetchval(
            "SELECT count(*) FROM channels.cases WHERE complaint_id = ANY($1) AND phone_hash IS NOT NULL", ids
        ),
        "notify": await db.fetchval(
            "SELECT count(*) FROM notify.deliveries WHERE complaint_id = ANY($1) AND address = $2", ids, subject.phone
        ),
    }


async def _all_held(db: asyncpg.Pool, subject: Subject) -> dict[str, int] | None:
    held = await _held(db, subject)
    return held if all(held.values()) and min(held.values()) >= 1 else None


async def test_a_supervisors_export_of_a_phone_returns_every_case_and_is_audited(
    running: Running, db: asyncpg.Pool
) -> None:
    subject = running.subject
    agent = {"Authorization": f"Bearer {ISSUER.mint('agent.li', roles=('agent',), name='李')}"}
    query = {"phone": subject.phone, "reason": "本人申请查阅（PIPL 第45条）"}
    assert (await running.intake.get("/v1/privacy/subjects", params=query, headers=agent)).status_code == 403
    assert (await running.intake.get("/v1/privacy/subjects", params=query, headers=headers("web"))).status_code == 403

    async def exported() -> httpx.Response | None:
        answer = await running.intake.get("/v1/privacy/subjects", params=query, headers=supervisor())
        assert answer.status_code == 200, answer.text
        return answer if any(c["messages"] for c in answer.json()["cases"]) else None

    answer = await wait_until(exported, timeout=20, interval=0.2)
    cases = answer.json()["cases"]
    messages = {c["reference_no"]: [m["text"] for m in c["messages"]] for c in cases}
    assert messages == {
        subject.references[0]: [],
        subject.references[1]: ["还是不热，师傅什么时候来？"],
        subject.references[2]: [],
    }
    assert sorted(uuid.UUID(c["complaint_id"]) for c in cases) == sorted(subject.cases)
    assert all(c["submission"]["customer"]["phone"] == subject.phone for c in cases)
    assert [c["submission"]["text"] for c in cases] == [f"第{n}次，请打{subject.phone}" for n in range(3)]
    logged = await db.fetchrow(
        "SELECT actor, reason, subject, complaint_ids FROM intake.privacy_log WHERE action = 'export' "
        "AND customer_id = $1::uuid ORDER BY at DESC LIMIT 1",
        answer.json()["customer_id"],
    )
    assert logged is not None
    assert (logged["actor"], logged["reason"]) == ("supervisor.wu", "本人申请查阅（PIPL 第45条）")
    assert sorted(logged["complaint_ids"]) == sorted(subject.cases) and subject.phone not in logged["subject"]
    missing = await running.intake.get(
        "/v1/privacy/subjects", params={**query, "phone": "13000000000"}, headers=supervisor()
    )
    assert missing.status_code == 404


async def test_an_erased_customer_is_nowhere_in_clear_and_a_rebuild_shows_the_cases_without_them(
    running: Running, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    subject, kafka = running.subject, migrated.kafka_bootstrap_servers
    held = await wait_until(lambda: _all_held(db, subject), timeout=45)
    assert held, "every holder opened the sealed contact and address"
    found = await running.reporting.get(
        "/v1/households/lookup", params={"address": subject.home}, headers={"X-API-Key": "dev-only-manager-key"}
    )
    assert found.status_code == 200 and found.json()["items"], "found by the address reporting opened"
    contacts = await _contact_records(kafka, subject)
    assert len(contacts) == 3
    # Dead letters of the contacts, as a consumer refusing them leaves them: copies an erasure cannot edit.
    dlq = topics.dead_letter_topic(topics.COMPLAINT_CONTACT)
    await produce(kafka, dlq, contacts)
    openid = f"o-erasure-{uuid.uuid4().hex}"
    xml = f"<xml><FromUserName><![CDATA[{openid}]]></FromUserName></xml>".encode()
    await db.execute(_WECHAT_CUSTOMER, openid, uuid.uuid4(), xml, subject.cases[0], subject.phone, subject.name)

    answer = await running.intake.post(
        "/v1/privacy/erasure",
        json={"phone": subject.phone, "reason": "本人要求删除（PIPL 第47条）"},
        headers=supervisor(),
    )
    assert answer.status_code == 200, answer.text
    erasure = answer.json()
    assert sorted(uuid.UUID(i) for i in erasure["complaint_ids"]) == sorted(subject.cases)

    async def purged() -> dict[str, int] | None:
        now_held = await _held(db, subject)
        return now_held if not any(now_held.values()) else None

    await wait_until(purged, timeout=30)
    assert await db.fetchval(_WECHAT_KEPT, openid) == 0, "channels' WeChat rows of the customer are gone"
    # The operator replays the dead letters after the erasure: the holders get the copies back, and cannot open them.
    ours = {k for k, _ in contacts}
    letters = [
        replace(d, headers={**d.headers, "dlq.original_topic": topics.COMPLAINT_CONTACT})
        for d in await read_dead_letters(kafka, dlq)
        if d.key in ours
    ]
    assert await replay(kafka, letters) == 3
    await _intake_keeps_nothing_in_clear(db, subject, uuid.UUID(erasure["customer_id"]))
    await _no_topic_yields_them(db, kafka, subject)
    for asked in ({"phone": subject.phone}, {"address": subject.home}):
        lookup = await running.reporting.get(
            "/v1/households/lookup", params=asked, headers={"X-API-Key": "dev-only-manager-key"}
        )
        assert lookup.status_code == 200 and lookup.json()["items"] == [], lookup.text

    schema = f"reporting_erased_{uuid.uuid4().hex[:8]}"
    try:
        await rebuild(migrated.database_url, kafka, schema, "Asia/Shanghai")
        rebuilt = await db.fetch(f"SELECT complaint_id FROM {schema}.cases WHERE complaint_id = ANY($1)", subject.cases)
        assert sorted(r["complaint_id"] for r in rebuilt) == sorted(subject.cases), "the cases are all there"
        kept = await db.fetchval(f"SELECT count(*) FROM {schema}.contacts WHERE complaint_id = ANY($1)", subject.cases)
        assert kept == 0, "without the person"
        dump = await db.fetchval(
            f"SELECT string_agg(payload::text, ' ') FROM {schema}.timeline WHERE complaint_id = ANY($1)", subject.cases
        )
        assert subject.phone not in dump and subject.name not in dump and subject.home not in dump
        addresses = await db.fetch(f"SELECT address FROM {schema}.cases WHERE complaint_id = ANY($1)", subject.cases)
        assert [r["address"] for r in addresses] == [None] * 3, "the cases without the address"
    finally:
        await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


#: A case of the customer as channels keeps it when WeChat brought it (issue 25: an erasure purges its rows): the
#: message, whose raw XML names the sender, the form's row and what the customer entered on it. $1 openid, $2 message
#: id, $3 raw XML, $4 case, $5 phone, $6 name.
_WECHAT_CUSTOMER = """
WITH m AS (
    INSERT INTO channels.inbound_messages (message_id, provider, provider_message_id, channel, content_type, raw_body,
        received_at, stored_at, status, complaint_id)
    VALUES ($2, 'wechat', $2::uuid::text, 'wechat', 'text/xml', $3, now(), now(), 'complaint', $4) RETURNING message_id
), p AS (
    INSERT INTO channels.wechat_pending (msg_id, openid, form_token, msg_type, text, raw_xml, received_at, expires_at,
        message_id)
    SELECT message_id::text, $1, $1, 'text', '暖气不热', $3, now(), now(), message_id FROM m
)
INSERT INTO channels.wechat_customers (openid, address, district, updated_at, phone, name)
VALUES ($1, '和平区南京北街18号', '和平区', now(), $5, $6)"""
_WECHAT_KEPT = """SELECT (SELECT count(*) FROM channels.wechat_customers WHERE openid = $1)
    + (SELECT count(*) FROM channels.wechat_pending WHERE openid = $1)"""


async def _contact_records(kafka: str, subject: Subject) -> list[tuple[bytes, bytes]]:
    keys = {str(c).encode() for c in subject.cases}

    async def read() -> list[tuple[bytes, bytes]] | None:
        found = [(k, v) for _, k, v in await _records(kafka, topics.COMPLAINT_CONTACT) if k in keys]
        return found if len(found) == 3 else None

    found: list[tuple[bytes, bytes]] = await wait_until(read, timeout=20, interval=0.2)
    return found


async def _records(kafka: str, *names: str) -> list[tuple[str, bytes, bytes]]:
    """Every record of the topics from offset 0 to their end now (topic, key, value): what a replay would send."""
    consumer = AIOKafkaConsumer(**client_options(), bootstrap_servers=kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await assign_from_start(consumer, kafka, names)
        return [
            (r.topic, r.key or b"", r.value or b"")
            async for batch in read_to_end(consumer, partitions, batch_size=5000)
            for r in batch
        ]
    finally:
        await consumer.stop()


async def _intake_keeps_nothing_in_clear(db: asyncpg.Pool, subject: Subject, customer_id: uuid.UUID) -> None:
    dump = await db.fetchval(
        "SELECT string_agg(submission::text, ' ') FROM intake.complaints WHERE complaint_id = ANY($1)", subject.cases
    )
    assert subject.phone not in dump and subject.name not in dump and subject.email not in dump
    assert await db.fetchval("SELECT count(*) FROM intake.subject_keys WHERE customer_id = $1", customer_id) == 0
    assert await db.fetchval("SELECT count(*) FROM intake.customer_keys WHERE customer_id = $1", customer_id) == 0
    audit = await db.fetchrow(
        "SELECT actor, reason FROM intake.privacy_log WHERE action = 'erasure' AND customer_id = $1", customer_id
    )
    assert audit is not None
    assert (audit["actor"], audit["reason"]) == ("supervisor.wu", "本人要求删除（PIPL 第47条）")


async def _no_topic_yields_them(db: asyncpg.Pool, kafka: str, subject: Subject) -> None:
    """Every topic and dead letter, read whole: the phone, name, email, home and its coordinates nowhere in clear,
    and every sealed copy of the contact (the topic's, the dead letter's and its replay) and of the address (the
    complaint's, its work order's) no longer opens."""
    needles = [subject.phone, subject.name, subject.email, subject.home, repr(subject.latitude)]
    keys = {str(c).encode() for c in subject.cases}
    sealed: list[ComplaintContact] = []
    places: dict[str, list[ReceivedLocation]] = {"complaint.received": [], "workorder.assigned": []}
    for topic, key, value in await _records(kafka, *topics.ALL_TOPICS):
        assert not any(n.encode() in value for n in needles), (topic, value[:300])
        if key in keys and b'"complaint.contact"' in value:
            sealed.append(ComplaintContact.model_validate_json(value))
        elif key in keys and (event := json.loads(value))["event_type"] in places:
            places[event["event_type"]].append(ReceivedLocation.model_validate(event["payload"]["location"]))
    assert len(sealed) == 9, "the three contacts, their dead letters and the replayed copies"
    # (the later two are the same household's duplicates of the first: linked to its one work order)
    assert [len(p) for p in places.values()] == [3, 1], "the three complaints and the work order"
    ring = SubjectKeys(db)
    for event in sealed:
        assert event.payload.sealed is not None and await opened_contact(event.payload, ring) is None
    for place in [*places["complaint.received"], *places["workorder.assigned"]]:
        assert place.sealed is not None and (await opened_location(place, ring)).address is None


async def test_an_erased_customers_clear_copies_leave_the_ingress_topics_and_their_dead_letters(
    running: Running, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    """What a partner hotline and the channels service hand intake is in clear (no key of ours seals it): the
    erasure takes the customer's records out of both ingress topics and out of the partner tickets' dead letters
    (`services/intake/ingress_scrub.py`), and keeps everyone else's dead letter on the same partition, headers and
    all. The number is found in any field, written as the sender wrote it ("+86 136 …" in the ticket's text)."""
    kafka, tag = migrated.kafka_bootstrap_servers, uuid.uuid4().hex[:8]
    phone, name = f"136{uuid.uuid4().int % 10**8:08d}", f"Zhao Ingress{tag}"
    ticket_id = f"12345-scrub-{tag}"
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    ticket = {
        "source": "12345",
        "ticket_id": ticket_id,
        "received_at": datetime.now(UTC).isoformat(),
        "caller_name": name,
        "caller_phone": phone,
        "address": "铁西区兴华街12号",
        "district": "tiexi",
        "content": f"停水一整天了，请回电 {spaced}",
    }
    by_mail = channel_complaint(
        channel="email",
        provider="mailbox",
        customer={"name": name, "phone": phone, "preferred_contact": "phone"},
        text="楼道里有煤气味。",
    )
    await produce(kafka, topics.PARTNER_TICKETS, [(ticket_id.encode(), json.dumps(ticket).encode())])
    await publish(kafka, by_mail)
    # A dead letter of theirs, and a bystander's on the same partition (same key): an operator's to replay.
    dlq, key = topics.dead_letter_topic(topics.PARTNER_TICKETS), f"dlq-{tag}".encode()
    other = {"ticket_id": f"other-{tag}", "caller_phone": "13512345678", "caller_name": "王五", "content": "没水"}
    bystander = json.dumps({**ticket, **other})
    await _dead_letter(kafka, dlq, key, [json.dumps(ticket).encode(), bystander.encode()])

    async def taken() -> bool:
        count = await db.fetchval(
            "SELECT count(*) FROM intake.complaints WHERE channel_ticket_id = $1 OR complaint_id = $2",
            ticket_id,
            by_mail.complaint_id,
        )
        return count == 2

    await wait_until(taken, timeout=30)
    answer = await running.intake.post(
        "/v1/privacy/erasure", json={"phone": phone, "reason": "本人要求删除"}, headers=supervisor()
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["complaint_ids"]) == 2
    customer_id = uuid.UUID(answer.json()["customer_id"])
    scanned = (topics.PARTNER_TICKETS, topics.CHANNEL_MESSAGES, dlq, topics.dead_letter_topic(topics.CHANNEL_MESSAGES))

    async def scrubbed() -> list[tuple[str, bytes, bytes]] | None:
        if await db.fetchval("SELECT count(*) FROM intake.ingress_scrubs WHERE customer_id = $1", customer_id):
            return None
        return await _records(kafka, *scanned)

    left = await wait_until(scrubbed, timeout=30, interval=0.2)
    assert not [(t, v[:200]) for t, _, v in left if phone.encode() in v or name.encode() in v]
    kept = [v for t, k, v in left if t == dlq and k == key]
    assert kept == [bystander.encode()], "the bystander's dead letter kept, once"
    letters = [d for d in await read_dead_letters(kafka, dlq) if d.key == key]
    assert [d.headers.get("dlq.reason") for d in letters] == ["scrub test: refused"], "with its headers"


async def _dead_letter(kafka: str, topic: str, key: bytes, values: list[bytes]) -> None:
    """Dead letters as a consumer leaves them: the original bytes, the reason in a header."""
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=kafka, enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=key, headers=[("dlq.reason", b"scrub test: refused")])
    finally:
        await producer.stop()


async def test_a_correction_reaches_every_holder_and_the_customer_is_found_by_the_corrected_number(
    running: Running, db: asyncpg.Pool
) -> None:
    wrong, right = f"137{uuid.uuid4().int % 10**8:08d}", f"136{uuid.uuid4().int % 10**8:08d}"
    body = complaint("web", customer={"name": "Zhao Correct", "phone": wrong, "preferred_contact": "phone"})
    answer = await running.intake.post("/v1/complaints", json=body, headers=headers("web"))
    assert answer.status_code == 202, answer.text
    case = uuid.UUID(answer.json()["complaint_id"])
    phones = (
        "SELECT (SELECT phone FROM followup.contacts WHERE complaint_id = $1), "
        "(SELECT phone FROM dispatch.contacts WHERE complaint_id = $1), "
        "(SELECT phone FROM reporting.contacts WHERE complaint_id = $1)"
    )

    async def held(phone: str) -> bool:
        return tuple(await db.fetchrow(phones, case) or ()) == (phone, phone, phone)

    await wait_until(lambda: held(wrong), timeout=30)
    request = {"phone": wrong, "reason": "登记号码有误，本人更正", "correct": {"phone": right}}
    corrected = await running.intake.post("/v1/privacy/correction", json=request, headers=supervisor())
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["cases"][0]["submission"]["customer"]["phone"] == right
    await wait_until(lambda: held(right), timeout=30)
    query = {"phone": right, "reason": "更正后核对"}
    found = await running.intake.get("/v1/privacy/subjects", params=query, headers=supervisor())
    assert found.status_code == 200 and [c["complaint_id"] for c in found.json()["cases"]] == [str(case)]
    logged = await db.fetchval(
        "SELECT count(*) FROM intake.privacy_log WHERE action = 'correction' AND $1 = ANY(complaint_ids)", case
    )
    assert logged == 1


async def test_retention_erases_a_customer_whose_cases_all_closed_longer_ago_than_the_period(
    running: Running, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    """Intake learns the closing from followup's `complaint.closed`; the sweep (its SQL on Postgres) erases only
    customers past the period. The case is closed in 2000 and the sweep's clock set to just past its retention, so
    no other test's customer (closed now, or open) is old enough."""
    phone = f"135{uuid.uuid4().int % 10**8:08d}"
    body = complaint("web", customer={"name": "Qian Retained", "phone": phone, "preferred_contact": "phone"})
    answer = await running.intake.post("/v1/complaints", json=body, headers=headers("web"))
    assert answer.status_code == 202, answer.text
    case, reference = uuid.UUID(answer.json()["complaint_id"]), answer.json()["reference_no"]
    closed_at = datetime(2000, 1, 1, tzinfo=UTC)
    closed = new_event(
        ComplaintClosed,
        complaint_id=case,
        producer="followup",
        correlation_id="retention-test",
        payload=ComplaintClosedPayload(
            complaint_id=case,
            reference_no=reference,
            work_order_id=uuid.uuid4(),
            outcome="satisfied",
            cycles=1,
            closed_at=closed_at,
        ),
    )
    await publish(migrated.kafka_bootstrap_servers, closed)

    async def marked() -> bool:
        return await db.fetchval("SELECT closed_at FROM intake.complaints WHERE complaint_id = $1", case) == closed_at

    await wait_until(marked, timeout=20)
    retention = timedelta(days=3 * 365)
    context = IntakeContext(ZoneInfo("Asia/Shanghai"), DEV_CUSTOMER_HASH_KEY)
    door: Door[IntakeRepository, IntakeContext] = Door(
        transactions(db, PostgresIntakeRepository), context, clock=lambda: closed_at + retention + timedelta(days=1)
    )
    erased = await door.run(sweep_retention, SweepRetention(retention))
    customer = await db.fetchval("SELECT customer_id FROM intake.complaints WHERE complaint_id = $1", case)
    assert erased == [customer]
    assert await db.fetchval("SELECT count(*) FROM intake.subject_keys WHERE customer_id = $1", customer) == 0
    row = await db.fetchrow(
        "SELECT actor, reason FROM intake.privacy_log WHERE action = 'erasure' AND customer_id = $1", customer
    )
    assert row is not None and row["actor"] == "retention" and "1095 days" in row["reason"]
    query = {"phone": phone, "reason": "retention check"}
    assert (await running.intake.get("/v1/privacy/subjects", params=query, headers=supervisor())).status_code == 404
