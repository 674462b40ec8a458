"""Notify against real Postgres and Kafka with in-test providers: one delivery per notification id, retries with
backoff, fallback to the next channel, `failed` with `notification.failed`, a slow vendor, a crash between the
claimed attempt and its answer (the vendor is asked before any resend), quiet hours on a controlled clock, the
daily cap, and a malformed request dead-lettered."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.notify.model import Candidate, Delivery
from services.notify.repository import PostgresNotifyRepository
from shared import topics
from shared.contracts.followup import Recipient
from shared.db import transactions
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, publish, read_topic, wait_until
from tests.support.notify import (
    FakeDirectory,
    FakeProvider,
    StaffAddress,
    catalog,
    phone,
    request,
    running_notify,
)


async def _status(db: asyncpg.Pool, notification_id: uuid.UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT status, channel, provider, attempts, reason, channels_tried, provider_message_id, due_at, staff_id "
        "FROM notify.deliveries WHERE notification_id = $1",
        notification_id,
    )


async def _reaches(db: asyncpg.Pool, notification_id: uuid.UUID, *statuses: str, timeout: float = 30) -> asyncpg.Record:
    async def reached() -> asyncpg.Record | None:
        row = await _status(db, notification_id)
        return row if row is not None and row["status"] in statuses else None

    return await wait_until(reached, timeout=timeout)


async def _events(bootstrap: str, topic: str, complaint_id: uuid.UUID, enough: int) -> list[dict]:
    key = str(complaint_id).encode()
    records = await read_topic(
        bootstrap, topic, until=lambda rs: sum(1 for r in rs if r.key == key) >= enough, settle=0.3
    )
    return [r.json() for r in records if r.key == key]


async def test_one_delivery_per_notification_id_sent_once(migrated: Infrastructure, db: asyncpg.Pool) -> None:
    sms = FakeProvider("sms-once", "sms")
    bootstrap = migrated.kafka_bootstrap_servers
    async with running_notify(migrated.database_url, bootstrap, providers=catalog(sms)) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        first = request(Recipient(kind="customer", phone=phone(), preferred_contact="phone"))
        again = request(
            first.payload.recipient, complaint_id=first.complaint_id, notification_id=first.payload.notification_id
        )
        # The same event twice (a redelivery) and another event with the same notification id (a resend).
        await publish(bootstrap, first, first, again)
        row = await _reaches(db, first.payload.notification_id, "sent")
        assert (row["channel"], row["provider"], row["attempts"]) == ("sms", "sms-once", 1)
        statuses = [
            e["payload"]["status"]
            for e in await _events(bootstrap, topics.NOTIFICATION_DELIVERY, first.complaint_id, 2)
        ]
        assert statuses == ["queued", "sent"]
    assert sms.sends_of(first.payload.notification_id) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM notify.attempts WHERE notification_id = $1", first.payload.notification_id
        )
        == 1
    )


async def test_transient_failures_are_retried_then_delivered(migrated: Infrastructure, db: asyncpg.Pool) -> None:
    sms = FakeProvider("sms-flaky", "sms", transient_failures=3)
    async with running_notify(
        migrated.database_url, migrated.kafka_bootstrap_servers, providers=catalog(sms), notify_max_attempts=6
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        event = request(Recipient(kind="customer", phone=phone()))
        await publish(migrated.kafka_bootstrap_servers, event)
        row = await _reaches(db, event.payload.notification_id, "sent")
    assert row["attempts"] == 4 and row["channel"] == "sms"
    assert sms.sends_of(event.payload.notification_id) == 4
    assert len(sms.accepted) == 1
    outcomes = await db.fetch(
        "SELECT outcome FROM notify.attempts WHERE notification_id = $1 ORDER BY attempt", event.payload.notification_id
    )
    assert [o["outcome"] for o in outcomes] == ["transient", "transient", "transient", "accepted"]


async def test_permanent_failures_fall_back_then_fail_with_notification_failed(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    sms = FakeProvider("sms-refuses", "sms", permanent="isv.MOBILE_NUMBER_ILLEGAL")
    mail = FakeProvider("smtp-refuses", "email", transient_failures=100)
    async with running_notify(
        migrated.database_url, bootstrap, providers=catalog(sms, mail), notify_max_attempts=3
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        event = request(
            Recipient(kind="customer", phone=phone(), email="someone@example.com", preferred_contact="phone")
        )
        await publish(bootstrap, event)
        row = await _reaches(db, event.payload.notification_id, "failed")
        failed = await _events(bootstrap, topics.NOTIFICATION_FAILED, event.complaint_id, 1)
    assert list(row["channels_tried"]) == ["sms", "email"]
    assert row["attempts"] == 1 + 3, "one refused SMS, then every email attempt"
    assert sms.sends_of(event.payload.notification_id) == 1
    assert mail.sends_of(event.payload.notification_id) == 3
    [notice] = failed
    assert notice["payload"]["channels_tried"] == ["sms", "email"]
    assert notice["payload"]["reference_no"] == event.payload.reference_no
    assert "someone" not in str(notice) and event.payload.recipient.phone not in str(notice)


async def test_a_slow_vendor_neither_blocks_the_others_nor_gets_a_second_send(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    """Calls run side by side (bounded); one that outlives the send timeout is in doubt, and the vendor is asked
    (it did take it) instead of sending again."""
    bootstrap = migrated.kafka_bootstrap_servers
    sms = FakeProvider("sms-slow", "sms", delay_s=0.6)
    async with running_notify(
        migrated.database_url,
        bootstrap,
        providers=catalog(sms),
        notify_concurrency=32,
        notify_send_timeout_s=2,
        notify_lease_s=3,
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        events = [request(Recipient(kind="customer", phone=phone())) for _ in range(20)]
        started = time.monotonic()
        await publish(bootstrap, *events)
        for event in events:
            await _reaches(db, event.payload.notification_id, "sent")
        elapsed = time.monotonic() - started
    assert elapsed < 20 * 0.6, f"20 calls of 0.6 s each took {elapsed:.1f} s: not side by side"
    assert all(sms.sends_of(e.payload.notification_id) == 1 for e in events)

    timing_out = FakeProvider("sms-timeout", "sms", delay_s=0.8)
    async with running_notify(
        migrated.database_url,
        bootstrap,
        providers=catalog(timing_out),
        notify_send_timeout_s=0.3,
        notify_lease_s=0.5,
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        event = request(Recipient(kind="customer", phone=phone()))
        await publish(bootstrap, event)
        row = await _reaches(db, event.payload.notification_id, "sent")
    notification_id = event.payload.notification_id
    assert timing_out.finds.count(notification_id) >= 1, "the vendor was asked before any resend"
    assert row["provider_message_id"] == timing_out.accepted[notification_id]
    # The call that timed out did reach the vendor; no second call did.
    assert timing_out.sends_of(notification_id) == 1


def _in_doubt(provider: str, *, since: timedelta) -> Delivery:
    now = datetime.now(UTC)
    complaint_id = uuid.uuid4()
    return Delivery(
        notification_id=uuid.uuid4(),
        complaint_id=complaint_id,
        correlation_id="crash",
        template_id="interim_reply",
        locale="zh",
        recipient_kind="customer",
        urgency="routine",
        params={"reference_no": "TS-1"},
        text="t",
        requested_at=now - since,
        plan=(Candidate("sms", phone(), provider),),
        status="queued",
        attempts=1,
        channel_attempts=1,
        in_doubt=True,
        attempt_started_at=now - since,
        due_at=now - timedelta(seconds=1),  # the lease ran out
        updated_at=now - since,
    )


async def test_a_crash_between_claim_and_answer_asks_the_vendor_before_sending_again(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    """What a process killed mid-call leaves: the attempt committed, in doubt, its lease run out. A new worker asks
    the vendor: one message it took is recorded as sent (no second send), one it never got is sent once."""
    vendor = FakeProvider("sms-crash", "sms")
    taken, lost = _in_doubt("sms-crash", since=timedelta(minutes=2)), _in_doubt("sms-crash", since=timedelta(minutes=2))
    vendor.accepted[taken.notification_id] = "BIZ-TAKEN-1"
    work = transactions(db, PostgresNotifyRepository)
    async with work() as w:
        assert await w.repo.insert(taken) and await w.repo.insert(lost)
        w.commit()
    async with running_notify(migrated.database_url, migrated.kafka_bootstrap_servers, providers=catalog(vendor)) as _:
        first = await _reaches(db, taken.notification_id, "sent")
        second = await _reaches(db, lost.notification_id, "sent")
    assert first["provider_message_id"] == "BIZ-TAKEN-1" and first["attempts"] == 1
    assert vendor.sends_of(taken.notification_id) == 0, "the vendor had it: not sent again"
    assert vendor.sends_of(lost.notification_id) == 1 and second["attempts"] == 2
    assert vendor.finds.count(taken.notification_id) == 1 and vendor.finds.count(lost.notification_id) == 1

    # A vendor that cannot say: no resend, taken as sent and left to its receipt.
    mute = FakeProvider("sms-mute", "sms", can_tell=False)
    unknown = _in_doubt("sms-mute", since=timedelta(minutes=1))
    async with work() as w:
        await w.repo.insert(unknown)
        w.commit()
    async with running_notify(migrated.database_url, migrated.kafka_bootstrap_servers, providers=catalog(mute)) as _:
        row = await _reaches(db, unknown.notification_id, "sent")
    assert row["reason"] == "unverified" and mute.sends_of(unknown.notification_id) == 0


class ShanghaiClock:
    """Real time moved to a chosen local time, then running on; `jump` moves it again."""

    def __init__(self, local: datetime) -> None:
        self.offset = local - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump(self, to: datetime) -> None:
        self.offset = to - datetime.now(UTC)


async def test_quiet_hours_hold_routine_sms_until_morning_and_let_urgent_through(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    tonight = datetime.now(tz).replace(hour=22, minute=0, second=0, microsecond=0)
    clock = ShanghaiClock(tonight)
    sms = FakeProvider("sms-night", "sms")
    mail = FakeProvider("smtp-night", "email")
    async with running_notify(
        migrated.database_url,
        migrated.kafka_bootstrap_servers,
        providers=catalog(sms, mail),
        clock=clock,
        directory=FakeDirectory({"s-night": StaffAddress("s-night", "夜班", "13700000001", None)}),
        notify_quiet_hours="21:00-08:00",
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        routine = request(Recipient(kind="customer", phone=phone()), requested_at=clock())
        urgent = request(Recipient(kind="customer", phone=phone()), urgency="urgent", requested_at=clock())
        by_email = request(
            Recipient(kind="customer", email="night@example.com", preferred_contact="email"), requested_at=clock()
        )
        duty = request(Recipient(kind="staff", staff_id="s-night"), requested_at=clock())
        await publish(migrated.kafka_bootstrap_servers, routine, urgent, by_email, duty)
        await _reaches(db, urgent.payload.notification_id, "sent")
        await _reaches(db, by_email.payload.notification_id, "sent")
        await _reaches(db, duty.payload.notification_id, "sent")  # staff are not held: their phone rings
        held = await _reaches(db, routine.payload.notification_id, "queued")
        assert held["reason"] == "quiet_hours"
        assert held["due_at"] == (tonight + timedelta(days=1)).replace(hour=8)
        assert sms.sends_of(routine.payload.notification_id) == 0
        clock.jump((tonight + timedelta(days=1)).replace(hour=8, minute=0, second=1))
        await _reaches(db, routine.payload.notification_id, "sent")
    assert sms.sends_of(routine.payload.notification_id) == 1


async def test_the_daily_cap_suppresses_routine_messages_not_urgent_ones(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    sms = FakeProvider("sms-cap", "sms")
    bootstrap = migrated.kafka_bootstrap_servers
    async with running_notify(migrated.database_url, bootstrap, providers=catalog(sms), notify_daily_cap=3) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        number = phone()
        complaint_id = uuid.uuid4()
        routine = [request(Recipient(kind="customer", phone=number), complaint_id=complaint_id) for _ in range(4)]
        urgent = request(Recipient(kind="customer", phone=f"+86{number}"), complaint_id=complaint_id, urgency="urgent")
        await publish(bootstrap, *routine, urgent)
        rows = [await _reaches(db, e.payload.notification_id, "sent", "suppressed") for e in [*routine, urgent]]
        events = await _events(bootstrap, topics.NOTIFICATION_DELIVERY, complaint_id, 5)
    assert [r["status"] for r in rows] == ["sent", "sent", "sent", "suppressed", "sent"]
    suppressed = next(e for e in events if e["payload"]["status"] == "suppressed")
    assert (suppressed["payload"]["reason"], suppressed["payload"]["channel"]) == ("daily_cap", None)
    assert len(sms.sends) == 4


async def test_no_path_sends_one_number_more_than_its_daily_limit_not_even_urgent_ones(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    """Issue 25, must-show 6: whatever asks for messages (an invalid complaint texts the number it names, an outage
    notice is urgent), one number gets at most NOTIFY_NUMBER_DAILY_LIMIT a day; the rest are suppressed."""
    sms = FakeProvider("sms-limit", "sms")
    bootstrap = migrated.kafka_bootstrap_servers
    async with running_notify(
        migrated.database_url, bootstrap, providers=catalog(sms), notify_daily_cap=2, notify_number_daily_limit=4
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        number, complaint_id = phone(), uuid.uuid4()
        urgent = [
            request(Recipient(kind="customer", phone=number), complaint_id=complaint_id, urgency="urgent")
            for _ in range(6)
        ]
        await publish(bootstrap, *urgent)
        rows = [await _reaches(db, e.payload.notification_id, "sent", "suppressed") for e in urgent]
    assert [r["status"] for r in rows] == ["sent"] * 4 + ["suppressed"] * 2
    assert {r["reason"] for r in rows[4:]} == {"number_limit"}
    assert len(sms.sends) == 4


async def test_staff_are_resolved_to_the_person_on_duty(migrated: Infrastructure, db: asyncpg.Pool) -> None:
    duty = StaffAddress("dm-7", "值班经理", "13700000007", None)
    directory = FakeDirectory({"duty_manager/customer_service": duty})
    sms = FakeProvider("sms-staff", "sms")
    async with running_notify(
        migrated.database_url, migrated.kafka_bootstrap_servers, providers=catalog(sms), directory=directory
    ) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        called = request(Recipient(kind="staff", role="duty_manager", department="customer_service"), urgency="urgent")
        nobody = request(Recipient(kind="staff", role="leadership", department="repair"))
        await publish(migrated.kafka_bootstrap_servers, called, nobody)
        row = await _reaches(db, called.payload.notification_id, "sent")
        unresolved = await _reaches(db, nobody.payload.notification_id, "delivered")
    assert (row["channel"], row["staff_id"]) == ("sms", "dm-7")
    [sent] = [m for m in sms.sends if m.notification_id == called.payload.notification_id]
    assert sent.address == "13700000007"
    assert (unresolved["channel"], unresolved["staff_id"]) == ("console", None), "the console inbox, by role"


async def test_a_malformed_request_is_dead_lettered(migrated: Infrastructure) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    async with running_notify(migrated.database_url, bootstrap, providers=catalog()) as (app, _):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        key = uuid.uuid4().hex.encode()
        await produce(bootstrap, topics.NOTIFICATION_REQUESTED, [(key, b'{"event_type": "notification.requested"}')])
        records = await read_topic(
            bootstrap,
            topics.dead_letter_topic(topics.NOTIFICATION_REQUESTED),
            until=lambda rs: any(r.key == key for r in rs),
        )
    dead = next(r for r in records if r.key == key)
    assert any("notify.requests" in v for v in dead.headers.values())
