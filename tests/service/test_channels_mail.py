"""Must-show 2: the complaints mailbox against a real IMAP server — a private Dovecot (`tests/support/dovecot.py`)
— read by channels run in-process with its real lifespan (the reader is one of its workers), on the session's
Postgres and Kafka. Mail is delivered the way a client files it (IMAP APPEND), and what channels did is read back
from its tables and from `ingress.channel-messages` as intake would receive it.

- A GBK-encoded mail with a photo → one `channel.complaint`, the photo kept and referenced.
- A reply to one of notify's mails (In-Reply-To `<{notification_id}.{reference}@domain>`) → a note on that case
  (`channel.reply` with the case's complaint id), the quoted original cut off.
- Dovecot stopped and started again while mail keeps coming, and channels itself restarted with a mail waiting:
  every mail taken exactly once (one stored message, one event each), the reader's position at the last UID.
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
from services.channels.handlers.cases import keep_cases
from services.channels.mail.reader import FetchedMail, Mailbox, MailboxReader
from services.channels.repository.mail import MailboxPosition
from services.channels.settings import ChannelsSettings
from shared import topics
from tests.support.apps import running_app
from tests.support.dovecot import Dovecot
from tests.support.followup_events import Order, received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import Record, read_topic, wait_until
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


def _channels(infra: Infrastructure, server: Dovecot) -> AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]:
    return running_app(
        create_app,
        ChannelsSettings,
        name="channels",
        database_url=infra.database_url,
        bootstrap=infra.kafka_bootstrap_servers,
        group_setting="channels_consumer_group",
        channels_imap_host=server.host,
        channels_imap_port=server.port,
        channels_imap_tls=False,
        channels_imap_user=server.user,
        channels_imap_password=server.password,
        channels_imap_timeout_s=5,
        channels_imap_retry_max_s=0.5,
        channels_mail_reply_domain=DOMAIN,
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
    complaint_id_mail, reply_id = f"<{uuid.uuid4()}@example.cn>", f"<{uuid.uuid4()}@example.cn>"
    async with _channels(migrated, dovecot) as (app, _):
        await asyncio.to_thread(dovecot.append, gbk_complaint(message_id=complaint_id_mail))
        stored = await _taken(pool, complaint_id_mail)
        assert stored["status"] == "complaint"
        photo = await pool.fetchrow(
            "SELECT file_name, content_type, content FROM channels.attachments WHERE message_id = $1",
            stored["message_id"],
        )
        assert (photo["file_name"], photo["content_type"], photo["content"]) == ("现场照片.jpg", "image/jpeg", PHOTO)

        # Intake took it under the minted id and numbered it; the read model hears so (complaint.received).
        reference = f"TS-20261205-{uuid.uuid4().int % 10**6:06d}"
        order = Order(stored["complaint_id"], uuid.uuid4(), reference)
        await app.state.door.batch(keep_cases, [received(order, channel="email")], consumer="test-mail")
        ours = f"<{uuid.uuid4()}.{reference}@{DOMAIN}>"
        await asyncio.to_thread(dovecot.append, html_reply(message_id=reply_id, answers=ours))
        reply = await _taken(pool, reply_id)
        assert (reply["status"], reply["complaint_id"], reply["reference_no"]) == (
            "reply",
            stored["complaint_id"],
            reference,
        )
        # Published by channels' outbox relay while it runs.
        events = await _events(migrated.kafka_bootstrap_servers, {complaint_id_mail, reply_id})
    [complaint] = [r.json() for r in events[complaint_id_mail]]
    assert complaint["event_type"] == "channel.complaint" and complaint["complaint_id"] == str(stored["complaint_id"])
    payload: dict[str, Any] = complaint["payload"]
    assert payload["text"].startswith("投诉：暖气不热\n\n暖气不热，室温只有14度。")
    assert payload["location"] == {"address": "和平区五经路12号3单元502室", "district": "和平区", **_none_geo(payload)}
    assert [(a["file_name"], a["size_bytes"]) for a in payload["attachments"]] == [("现场照片.jpg", len(PHOTO))]
    [note] = [r.json() for r in events[reply_id]]
    assert (note["event_type"], note["complaint_id"]) == ("channel.reply", str(stored["complaint_id"]))
    assert (note["payload"]["kind"], note["payload"]["reference_no"]) == ("note", reference)
    assert note["payload"]["text"] == "修了以后还是不热。\n谢谢"


def _none_geo(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload["location"][k] for k in ("coordinates", "asset") if k in payload["location"]}


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
        (broken, "unreadable: ValueError: cannot be read"),
        (fine, None),
    ]
