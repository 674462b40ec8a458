"""Must-show 2: the complaints mailbox against a real IMAP server — a private Dovecot (`tests/support/dovecot.py`)
— read by channels run in-process with its real lifespan (the reader is one of its workers), on the session's
Postgres and Kafka. Mail is delivered the way a client files it (IMAP APPEND); what came of it is read back from
channels' tables and from the topics, as their consumers receive it.

- A GBK-encoded mail with a photo → `channel.complaint` → intake (in-process) adopts its id → `complaint.received`
  (channel email, the photo referenced, the address sealed with the customer's key — v5); a reply to notify's mail
  about it (In-Reply-To `<{notification_id}.{reference}@domain>`) → `channel.reply` → `complaint.customer_replied`,
  a note on that case, the quoted original cut off.
- Dovecot stopped and started again while mail keeps coming, and channels itself restarted with a mail waiting:
  every mail taken exactly once (one stored message, one event each), the reader's position at the last UID.
- The reader alone: a mail whose take fails is fetched again, or kept as unreadable, never skipped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.channels.bootstrap import create_app
from services.channels.mail.reader import FetchedMail, Mailbox, MailboxReader
from services.channels.repository.mail import MailboxPosition
from services.channels.settings import ChannelsSettings
from services.intake import consumers as intake_consumers
from shared import topics
from shared.contracts.complaint import ReceivedLocation
from shared.subject_keys import SubjectKeys, opened_location
from tests.support.apps import running_app
from tests.support.channels import running_channels
from tests.support.dovecot import Dovecot
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import Record, read_topic, start_groups_at_end, wait_until
from tests.support.mails import PHOTO, gbk_complaint, html_reply

DOMAIN = "mail.utility.example"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _imap(server: Dovecot) -> dict[str, Any]:
    """Channels' settings for the test's mailbox (plaintext IMAP on loopback; quick reconnections)."""
    return {
        "channels_imap_host": server.host,
        "channels_imap_port": server.port,
        "channels_imap_tls": False,
        "channels_imap_user": server.user,
        "channels_imap_password": server.password,
        "channels_imap_timeout_s": 5,
        "channels_imap_retry_max_s": 0.5,
        "channels_mail_reply_domain": DOMAIN,
    }


def _channels(infra: Infrastructure, server: Dovecot) -> AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]:
    return running_app(
        create_app,
        ChannelsSettings,
        name="channels",
        database_url=infra.database_url,
        bootstrap=infra.kafka_bootstrap_servers,
        group_setting="channels_consumer_group",
        **_imap(server),
    )


@pytest.fixture
async def pool(migrated: Infrastructure) -> AsyncIterator[asyncpg.Pool]:
    connections = await asyncpg.create_pool(migrated.database_url, min_size=1, max_size=2)
    yield connections
    await connections.close()


async def _taken(pool: asyncpg.Pool, message_id: str) -> asyncpg.Record:
    """The stored message of a mail, once the reader took it (polled, with a deadline)."""
    query = (
        "SELECT message_id, status, complaint_id, reference_no FROM channels.inbound_messages "
        "WHERE provider = 'imap' AND provider_message_id = $1"
    )
    return await wait_until(lambda: pool.fetchrow(query, message_id), timeout=20)


async def _events(bootstrap: str, message_ids: set[str], settle: float = 0.0) -> dict[str, list[Record]]:
    """The events on `ingress.channel-messages` of these mails, by Message-ID, once each has one."""

    def mine(records: list[Record]) -> dict[str, list[Record]]:
        found: dict[str, list[Record]] = {}
        for record in records:
            key = record.json()["payload"]["provider_message_id"]
            if key in message_ids:
                found.setdefault(key, []).append(record)
        return found

    records = await read_topic(
        bootstrap, topics.CHANNEL_MESSAGES, until=lambda rs: len(mine(rs)) == len(message_ids), settle=settle
    )
    return mine(records)


async def test_a_gbk_mail_with_a_photo_is_a_complaint_and_a_reply_a_note_on_its_case(
    migrated: Infrastructure, dovecot: Dovecot, pool: asyncpg.Pool
) -> None:
    """End to end through intake: the mail → `channel.complaint` → intake adopts its id → `complaint.received` (channel
    email, the photo referenced) → channels' read model learns the reference number; the customer answers notify's
    mail about it → `channel.reply` → intake → `complaint.customer_replied`, a note on that case."""
    complaint_mail, reply_mail = f"<{uuid.uuid4()}@example.cn>", f"<{uuid.uuid4()}@example.cn>"
    bootstrap = migrated.kafka_bootstrap_servers
    intake_group = f"intake-test-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(bootstrap, intake_consumers.SUBSCRIPTIONS, intake_group)
    async with (
        running_intake(migrated.database_url, bootstrap, intake_consumer_group=intake_group) as (_intake, _),
        running_channels(migrated.database_url, bootstrap, **_imap(dovecot)) as (_channels, _),
    ):
        await asyncio.to_thread(dovecot.append, gbk_complaint(message_id=complaint_mail))
        stored = await _taken(pool, complaint_mail)
        assert stored["status"] == "complaint"
        photo = await pool.fetchrow(
            "SELECT attachment_id, file_name, content_type, content FROM channels.attachments WHERE message_id = $1",
            stored["message_id"],
        )
        assert (photo["file_name"], photo["content_type"], photo["content"]) == ("现场照片.jpg", "image/jpeg", PHOTO)
        case_id = stored["complaint_id"]
        reference = await wait_until(
            lambda: pool.fetchval("SELECT reference_no FROM channels.cases WHERE complaint_id = $1", case_id),
            timeout=30,
        )
        # notify's mail about the case carried `<{notification_id}.{reference}@domain>`; the customer answers it.
        ours = f"<{uuid.uuid4()}.{reference}@{DOMAIN}>"
        await asyncio.to_thread(dovecot.append, html_reply(message_id=reply_mail, answers=ours))
        reply = await _taken(pool, reply_mail)
        assert (reply["status"], reply["complaint_id"], reply["reference_no"]) == ("reply", case_id, reference)
        replied = await _first(bootstrap, topics.COMPLAINT_REPLIES, case_id)

    received = await _first(bootstrap, topics.COMPLAINT_RECEIVED, case_id)
    payload: dict[str, Any] = received["payload"]
    assert (payload["channel"], payload["reference_no"], payload["channel_ticket_id"]) == (
        "email",
        reference,
        f"imap:{complaint_mail}",
    )
    assert payload["text"].startswith("投诉：暖气不热\n\n暖气不热，室温只有14度。")
    # complaint.received v5 seals the exact address with the customer's key: null in clear, opened as consumers do.
    location = ReceivedLocation.model_validate(payload["location"])
    assert (location.address, location.district, location.sealed is not None) == (None, "和平区", True)
    opened = await opened_location(location, SubjectKeys(pool))
    assert (opened.address, opened.district) == ("和平区五经路12号3单元502室", "和平区")
    assert [(a["attachment_id"], a["file_name"], a["size_bytes"]) for a in payload["attachments"]] == [
        (str(photo["attachment_id"]), "现场照片.jpg", len(PHOTO))
    ]
    assert replied["event_type"] == "complaint.customer_replied"
    note = replied["payload"]
    assert (note["reference_no"], note["channel"], note["kind"]) == (reference, "email", "note")
    assert note["text"] == "修了以后还是不热。\n谢谢"


async def _first(bootstrap: str, topic: str, complaint_id: uuid.UUID) -> dict[str, Any]:
    """The first event of `topic` about this case (read from the topic, as any consumer would)."""

    def about(records: list[Record]) -> list[dict[str, Any]]:
        return [r.json() for r in records if r.key == str(complaint_id).encode()]

    return about(await read_topic(bootstrap, topic, until=lambda rs: bool(about(rs))))[0]


async def test_dovecot_restarted_midway_and_channels_restarted_lose_and_double_nothing(
    migrated: Infrastructure, dovecot: Dovecot, pool: asyncpg.Pool
) -> None:
    ids = [f"<{uuid.uuid4()}@example.cn>" for _ in range(4)]
    async with _channels(migrated, dovecot):
        await asyncio.to_thread(dovecot.append, gbk_complaint(message_id=ids[0], photo=None))
        await _taken(pool, ids[0])
        # The server goes away under the reader's IDLE and comes back; mail keeps arriving.
        await asyncio.to_thread(dovecot.stop)
        await asyncio.to_thread(dovecot.start)
        for message_id in ids[1:3]:
            await asyncio.to_thread(dovecot.append, gbk_complaint(message_id=message_id, photo=None))
        for message_id in ids[1:3]:
            await _taken(pool, message_id)
    # Channels down while a mail arrives: the next start takes it from the stored position, and only it.
    await asyncio.to_thread(dovecot.append, gbk_complaint(message_id=ids[3], photo=None))
    async with _channels(migrated, dovecot):
        await _taken(pool, ids[3])
        events = await _events(migrated.kafka_bootstrap_servers, set(ids), settle=1.0)

    counts = await pool.fetch(
        "SELECT provider_message_id, count(*) AS n FROM channels.inbound_messages "
        "WHERE provider = 'imap' AND provider_message_id = ANY($1::text[]) GROUP BY 1",
        ids,
    )
    assert {r["provider_message_id"]: r["n"] for r in counts} == dict.fromkeys(ids, 1)
    assert {k: len(v) for k, v in events.items()} == dict.fromkeys(ids, 1)
    position = await pool.fetchval(
        "SELECT last_uid FROM channels.mail_reader_state WHERE mailbox = $1",
        f"imap://{dovecot.user}@{dovecot.host}:{dovecot.port}/INBOX",
    )
    assert position == await asyncio.to_thread(dovecot.highest_uid)


async def test_a_mail_that_fails_is_fetched_again_or_kept_as_unreadable_never_skipped(dovecot: Dovecot) -> None:
    """The reader alone (no database): a take that fails for the link's sake (the database down) gets the same mail
    again after reconnecting; one that fails for the mail's own sake is taken once more as unreadable, and the
    mailbox moves on to the next mail."""
    outage, broken, fine = (f"<{uuid.uuid4()}@example.cn>" for _ in range(3))
    positions: dict[str, MailboxPosition] = {}
    calls: list[tuple[str, str | None]] = []
    failures = {outage: ConnectionError("database down"), broken: ValueError("cannot be read")}

    async def take(mail: FetchedMail, unreadable: str | None) -> None:
        message_id = next((m for m in (outage, broken, fine) if m.encode() in mail.raw), None)
        if message_id is None:  # another test's mail in the module's mailbox
            positions[mail.position.mailbox] = mail.position
            return
        calls.append((message_id, unreadable))
        failure = failures.pop(message_id, None) if unreadable is None else None
        if failure is not None:
            raise failure
        positions[mail.position.mailbox] = mail.position

    async def position(mailbox: str) -> MailboxPosition | None:
        return positions.get(mailbox)

    mailbox = Mailbox(dovecot.host, dovecot.port, dovecot.user, dovecot.password, tls=False, retry_max_s=0.2)
    reader, stop = MailboxReader(mailbox, take, position), asyncio.Event()
    for message_id in (outage, broken, fine):
        await asyncio.to_thread(dovecot.append, gbk_complaint(message_id=message_id, photo=None))
    running = asyncio.create_task(reader(stop))
    try:
        await wait_until(lambda: any(m == fine for m, _ in calls), timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert calls == [
        (outage, None),
        (outage, None),
        (broken, None),
        (broken, "unreadable: ValueError"),
        (fine, None),
    ]
