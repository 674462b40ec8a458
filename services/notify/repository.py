"""All SQL of notify (schema `notify`), behind `NotifyRepository`.

The repository works on the connection of one unit of work and never commits: the handlers and the sending
worker do. Outbox rows and processed-event marks go through it too, so they commit with the effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from services.notify.model import Candidate, Delivery
from shared import outbox
from shared.contracts import Event
from shared.idempotency import first_deliveries

SCHEMA = "notify"


@dataclass(frozen=True)
class Claimed:
    """A delivery the worker took; `recovered` when its previous attempt was left in doubt (a crash, a timeout)."""

    delivery: Delivery
    recovered: bool


@dataclass(frozen=True)
class QueueDepth:
    due: int
    waiting: int
    in_doubt: int
    oldest_due_s: float


class NotifyRepository(Protocol):
    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    async def known(self, notification_id: uuid.UUID) -> bool: ...

    async def count_today(self, cap_key: str, day: date) -> int:
        """Messages counted against the customer's cap that day; serialises concurrent requests of one customer
        until the transaction ends."""
        ...

    async def insert(self, delivery: Delivery) -> bool:
        """False when the notification id already has its delivery (a duplicate request)."""
        ...

    async def for_update(self, notification_id: uuid.UUID) -> Delivery | None: ...

    async def forget_addresses(self, complaint_ids: list[uuid.UUID]) -> int:
        """An erased customer's deliveries: their addresses removed (issue 25); how many."""
        ...

    async def by_message_id(self, provider: str, provider_message_id: str) -> Delivery | None: ...

    async def save(self, delivery: Delivery) -> None: ...

    async def claim_due(self, now: datetime, *, limit: int, lease_s: float, worker: str) -> list[Claimed]: ...

    async def begin_attempt(self, delivery: Delivery, now: datetime, *, lease_s: float, worker: str) -> Delivery:
        """A new attempt of a claimed delivery (after `find_sent` said the vendor has none)."""
        ...

    async def finish_attempt(
        self, delivery: Delivery, *, outcome: str, at: datetime, detail: str | None = None
    ) -> None: ...

    async def deliveries_of(self, complaint_id: uuid.UUID) -> list[Delivery]: ...

    async def inbox(self, staff_id: str, roles: Sequence[str], limit: int) -> list[Delivery]:
        """The person's notices, and those of their roles nobody was resolved to (console, by role address)."""
        ...

    async def mark_read(
        self, notification_id: uuid.UUID, staff_id: str, roles: Sequence[str], at: datetime
    ) -> bool | None:
        """True when marked now, False when already read, None when not this person's notice."""
        ...

    async def recent(self, limit: int) -> list[tuple[Delivery, list[dict[str, Any]]]]: ...

    async def queue_depth(self, now: datetime) -> QueueDepth: ...

    async def outbox_pending(self) -> int: ...


_COLUMNS = (
    "notification_id, complaint_id, correlation_id, template_id, locale, recipient_kind, urgency, reference_no, "
    "params, text, plan, step, status, reason, attempts, channel_attempts, channels_tried, provider_message_id, "
    "due_at, in_doubt, attempt_started_at, cap_key, local_day, staff_id, read_at, requested_at, updated_at, "
    "delivered_at"
)


def _plan(delivery: Delivery) -> list[dict[str, str]]:
    return [{"channel": c.channel, "address": c.address, "provider": c.provider} for c in delivery.plan]


def delivery_from_row(row: asyncpg.Record) -> Delivery:
    return Delivery(
        notification_id=row["notification_id"],
        complaint_id=row["complaint_id"],
        correlation_id=row["correlation_id"],
        template_id=row["template_id"],
        locale=row["locale"],
        recipient_kind=row["recipient_kind"],
        urgency=row["urgency"],
        params=row["params"] or {},
        text=row["text"],
        requested_at=row["requested_at"],
        plan=tuple(Candidate(c["channel"], c["address"], c["provider"]) for c in row["plan"] or ()),
        status=row["status"],
        step=row["step"],
        reason=row["reason"],
        reference_no=row["reference_no"],
        staff_id=row["staff_id"],
        attempts=row["attempts"],
        channel_attempts=row["channel_attempts"],
        channels_tried=tuple(row["channels_tried"] or ()),
        provider_message_id=row["provider_message_id"],
        due_at=row["due_at"],
        in_doubt=row["in_doubt"],
        attempt_started_at=row["attempt_started_at"],
        cap_key=row["cap_key"],
        local_day=row["local_day"],
        updated_at=row["updated_at"],
        delivered_at=row["delivered_at"],
        read_at=row["read_at"],
    )


class PostgresNotifyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def forget_addresses(self, complaint_ids: list[uuid.UUID]) -> int:
        purged = await self.conn.fetchval(
            # A message still queued is suppressed: there is nobody left to send it to.
            "WITH gone AS (UPDATE notify.deliveries SET address = NULL, plan = '[]'::jsonb, due_at = NULL, "
            "reason = CASE WHEN status = 'queued' THEN 'customer erased' ELSE reason END, "
            "status = CASE WHEN status = 'queued' THEN 'suppressed' ELSE status END "
            "WHERE complaint_id = ANY($1::uuid[]) AND recipient_kind = 'customer' RETURNING 1) "
            "SELECT count(*) FROM gone",
            complaint_ids,
        )
        return int(purged)

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def known(self, notification_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval("SELECT 1 FROM notify.deliveries WHERE notification_id = $1", notification_id)
        )

    async def count_today(self, cap_key: str, day: date) -> int:
        # One customer's requests may arrive on several partitions (several complaints) at once.
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 21))", cap_key)
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM notify.deliveries WHERE cap_key = $1 AND local_day = $2 "
                "AND status <> 'suppressed'",
                cap_key,
                day,
            )
        )

    async def insert(self, delivery: Delivery) -> bool:
        d = delivery
        status = await self.conn.execute(
            f"INSERT INTO notify.deliveries ({_COLUMNS}, channel, provider, address) VALUES ("
            + ", ".join(f"${i}" for i in range(1, 32))
            + ") ON CONFLICT (notification_id) DO NOTHING",
            d.notification_id,
            d.complaint_id,
            d.correlation_id,
            d.template_id,
            d.locale,
            d.recipient_kind,
            d.urgency,
            d.reference_no,
            dict(d.params),
            d.text,
            _plan(d),
            d.step,
            d.status,
            d.reason,
            d.attempts,
            d.channel_attempts,
            list(d.channels_tried),
            d.provider_message_id,
            d.due_at,
            d.in_doubt,
            d.attempt_started_at,
            d.cap_key,
            d.local_day,
            d.staff_id,
            d.read_at,
            d.requested_at,
            d.updated_at or d.requested_at,
            d.delivered_at,
            d.channel,
            d.provider,
            d.address,
        )
        return status.endswith(" 1")

    async def for_update(self, notification_id: uuid.UUID) -> Delivery | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM notify.deliveries WHERE notification_id = $1 FOR UPDATE", notification_id
        )
        return delivery_from_row(row) if row else None

    async def by_message_id(self, provider: str, provider_message_id: str) -> Delivery | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM notify.deliveries WHERE provider = $1 AND provider_message_id = $2 "
            "ORDER BY updated_at DESC LIMIT 1 FOR UPDATE",
            provider,
            provider_message_id,
        )
        return delivery_from_row(row) if row else None

    async def save(self, delivery: Delivery) -> None:
        d = delivery
        await self.conn.execute(
            "UPDATE notify.deliveries SET step = $2, channel = $3, provider = $4, address = $5, status = $6, "
            "reason = $7, attempts = $8, channel_attempts = $9, channels_tried = $10, provider_message_id = $11, "
            "due_at = $12, in_doubt = $13, attempt_started_at = $14, updated_at = $15, delivered_at = $16, "
            "read_at = $17 WHERE notification_id = $1",
            d.notification_id,
            d.step,
            d.channel,
            d.provider,
            d.address,
            d.status,
            d.reason,
            d.attempts,
            d.channel_attempts,
            list(d.channels_tried),
            d.provider_message_id,
            d.due_at,
            d.in_doubt,
            d.attempt_started_at,
            d.updated_at,
            d.delivered_at,
            d.read_at,
        )

    async def claim_due(self, now: datetime, *, limit: int, lease_s: float, worker: str) -> list[Claimed]:
        """Due queued rows, each taken by one process (SKIP LOCKED). A fresh one gets its attempt here —
        counted, marked in doubt, leased — and this commits before the provider is called; one left in doubt
        past its lease is taken again as it is (`recovered`), for the worker to ask the vendor first."""
        rows = await self.conn.fetch(
            "WITH c AS (SELECT notification_id, in_doubt AS recovered FROM notify.deliveries "
            "  WHERE status = 'queued' AND due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
            "UPDATE notify.deliveries d SET "
            "  attempts = d.attempts + CASE WHEN c.recovered THEN 0 ELSE 1 END, "
            "  channel_attempts = d.channel_attempts + CASE WHEN c.recovered THEN 0 ELSE 1 END, "
            "  attempt_started_at = CASE WHEN c.recovered THEN d.attempt_started_at ELSE $1 END, "
            "  in_doubt = true, due_at = $1::timestamptz + make_interval(secs => $3), claimed_by = $4, updated_at = $1 "
            "FROM c WHERE d.notification_id = c.notification_id RETURNING c.recovered, "
            + ", ".join(f"d.{c.strip()}" for c in _COLUMNS.split(",")),
            now,
            limit,
            lease_s,
            worker,
        )
        claimed = [Claimed(delivery_from_row(r), r["recovered"]) for r in rows]
        await self._log_attempts([c.delivery for c in claimed if not c.recovered])
        return claimed

    async def begin_attempt(self, delivery: Delivery, now: datetime, *, lease_s: float, worker: str) -> Delivery:
        row = await self.conn.fetchrow(
            "UPDATE notify.deliveries SET attempts = attempts + 1, channel_attempts = channel_attempts + 1, "
            "attempt_started_at = $2::timestamptz, in_doubt = true, "
            "due_at = $2::timestamptz + make_interval(secs => $3), claimed_by = $4, "
            f"updated_at = $2 WHERE notification_id = $1 RETURNING {_COLUMNS}",
            delivery.notification_id,
            now,
            lease_s,
            worker,
        )
        assert row is not None
        begun = delivery_from_row(row)
        await self._log_attempts([begun])
        return begun

    async def _log_attempts(self, deliveries: Sequence[Delivery]) -> None:
        await self.conn.executemany(
            "INSERT INTO notify.attempts (notification_id, attempt, channel, provider, started_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [(d.notification_id, d.attempts, d.channel, d.provider, d.attempt_started_at) for d in deliveries],
        )

    async def finish_attempt(
        self, delivery: Delivery, *, outcome: str, at: datetime, detail: str | None = None
    ) -> None:
        await self.conn.execute(
            "UPDATE notify.attempts SET finished_at = $3, outcome = $4, detail = $5, provider_message_id = $6 "
            "WHERE notification_id = $1 AND attempt = $2",
            delivery.notification_id,
            delivery.attempts,
            at,
            outcome,
            detail,
            delivery.provider_message_id,
        )

    async def deliveries_of(self, complaint_id: uuid.UUID) -> list[Delivery]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM notify.deliveries WHERE complaint_id = $1 ORDER BY requested_at, notification_id",
            complaint_id,
        )
        return [delivery_from_row(r) for r in rows]

    async def inbox(self, staff_id: str, roles: Sequence[str], limit: int) -> list[Delivery]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM notify.deliveries WHERE staff_id = $1 "
            "OR (staff_id IS NULL AND recipient_kind = 'staff' AND channel = 'console' AND address = ANY($2::text[])) "
            "ORDER BY requested_at DESC LIMIT $3",
            staff_id,
            list(roles),
            limit,
        )
        return [delivery_from_row(r) for r in rows]

    async def mark_read(
        self, notification_id: uuid.UUID, staff_id: str, roles: Sequence[str], at: datetime
    ) -> bool | None:
        read_at = await self.conn.fetchrow(
            "SELECT read_at FROM notify.deliveries WHERE notification_id = $1 AND (staff_id = $2 "
            "OR (staff_id IS NULL AND recipient_kind = 'staff' AND channel = 'console' AND address = ANY($3::text[]))) "
            "FOR UPDATE",
            notification_id,
            staff_id,
            list(roles),
        )
        if read_at is None:
            return None
        if read_at["read_at"] is not None:
            return False
        await self.conn.execute(
            "UPDATE notify.deliveries SET read_at = $2 WHERE notification_id = $1", notification_id, at
        )
        return True

    async def recent(self, limit: int) -> list[tuple[Delivery, list[dict[str, Any]]]]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM notify.deliveries WHERE attempts > 0 OR status = 'delivered' "
            "ORDER BY updated_at DESC LIMIT $1",
            limit,
        )
        ids = [r["notification_id"] for r in rows]
        tries = await self.conn.fetch(
            "SELECT notification_id, attempt, channel, provider, started_at, finished_at, outcome, detail "
            "FROM notify.attempts WHERE notification_id = ANY($1::uuid[]) ORDER BY attempt",
            ids,
        )
        by_id: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for t in tries:
            by_id.setdefault(t["notification_id"], []).append(dict(t))
        return [(delivery_from_row(r), by_id.get(r["notification_id"], [])) for r in rows]

    async def queue_depth(self, now: datetime) -> QueueDepth:
        row = await self.conn.fetchrow(
            "SELECT count(*) FILTER (WHERE NOT in_doubt AND due_at <= $1) AS due, "
            "count(*) FILTER (WHERE NOT in_doubt AND due_at > $1) AS waiting, "
            "count(*) FILTER (WHERE in_doubt) AS in_doubt, "
            "coalesce(extract(epoch FROM $1 - min(due_at) FILTER (WHERE NOT in_doubt AND due_at <= $1)), 0) AS oldest "
            "FROM notify.deliveries WHERE status = 'queued'",
            now,
        )
        assert row is not None
        return QueueDepth(row["due"], row["waiting"], row["in_doubt"], max(0.0, float(row["oldest"])))

    async def outbox_pending(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM notify.outbox"))
