"""All SQL of intake (schema `intake`), behind `IntakeRepository`.

The repository works on the connection of one unit of work and never commits: the door (`shared.handling`) does.
The complaint, its outbox rows and the processed-ticket marks go through it, so they commit together or not at all.

A submission is one statement (`store`): it looks for an earlier submission of the same complaint, and only if
there is none takes the day's next reference number (a sequence per local day, `migrations/002`: no lock held
until commit, so submissions no longer queue on a counter row) and inserts the complaint — answering with the
row stored, new or earlier. The same statement matches the complaint to a customer (`customers.py`) and learns
its keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.intake.customers import RANKS, CustomerKeys, MatchedCustomer
from services.intake.model import SERVICE, NewComplaint, StoredComplaint, Submitted
from services.intake.privacy import CustomerMessage, PendingScrub, PrivacyLogEntry, SubjectCase
from shared import outbox
from shared.contracts import Event
from shared.idempotency import first_deliveries

SCHEMA = SERVICE


class IntakeRepository(Protocol):
    """What intake's use cases read and write (Postgres here; in memory in tests/fakes/intake.py)."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    async def find_existing(
        self, *, channel: str, idempotency_key: str | None, channel_ticket_id: str | None
    ) -> StoredComplaint | None:
        """The complaint an earlier submission created: by Idempotency-Key first, then by ticket id."""
        ...

    async def store(self, complaint: NewComplaint, customer: CustomerKeys) -> Submitted | None:
        """The complaint an earlier submission created (by Idempotency-Key first, then by ticket id; `replayed`),
        else this one, inserted with the day's next reference number and matched to a customer by its keys
        (`Submitted.customer`; the keys not yet known learnt for that customer). None when a concurrent submission
        of the same complaint inserted first and is not yet visible to this statement (`find_existing` sees it
        then)."""
        ...

    async def by_id(self, complaint_id: uuid.UUID) -> StoredComplaint | None: ...

    async def by_reference(self, reference_no: str) -> StoredComplaint | None: ...

    # Personal data (issue 25, `privacy.py`).
    async def customer_by_key(self, kind: str, key: str) -> uuid.UUID | None:
        """The customer a phone hash or account belongs to."""
        ...

    async def cases_of(self, customer_id: uuid.UUID) -> list[SubjectCase]: ...

    async def subject_key(self, customer_id: uuid.UUID) -> bytes | None: ...

    async def add_customer_message(self, message: CustomerMessage) -> None:
        """Keep a customer's reply on a case (once per message id)."""
        ...

    async def forget_messages(self, complaint_ids: Sequence[uuid.UUID]) -> None: ...

    async def replace_submission(self, complaint_id: uuid.UUID, submission: dict[str, Any]) -> None: ...

    async def forget_customer(self, customer_id: uuid.UUID) -> None:
        """Delete the customer's key (crypto-shredding) and every key they are found by."""
        ...

    async def log_privacy(self, entry: PrivacyLogEntry) -> None: ...

    async def schedule_ingress_scrub(self, customer_id: uuid.UUID, at: datetime) -> None:
        """Remember the keys the customer is found by (before they are forgotten), for the ingress scrub."""
        ...

    async def pending_ingress_scrubs(self, limit: int) -> list[PendingScrub]: ...

    async def settle_ingress_scrubs(self, customer_ids: Sequence[uuid.UUID], outcome: str | None) -> None:
        """`outcome` None: done, the rows go; else another attempt, and why it did not finish."""
        ...

    async def rekey_customer(self, customer_id: uuid.UUID, old: tuple[str, str], new: tuple[str, str]) -> None:
        """A corrected key (the phone's hash): the customer is found by the new one — unless another customer has
        it already (a key stays with the first) — and no longer by the old one."""
        ...

    async def mark_closed(self, complaint_id: uuid.UUID, closed_at: datetime) -> None: ...

    async def expired_customers(self, closed_before: datetime, limit: int) -> list[uuid.UUID]:
        """Customers with a key whose every case closed before `closed_before` (retention's end)."""
        ...


#: The keys an erased customer was found by, kept for the ingress scrub (a customer known by none: nothing to find).
_SCHEDULE_SCRUB = """
INSERT INTO intake.ingress_scrubs (customer_id, phone_keys, accounts, requested_at)
SELECT $1, coalesce(array_agg(key) FILTER (WHERE kind = 'phone'), '{}'),
    coalesce(array_agg(key) FILTER (WHERE kind = 'account'), '{}'), $2
FROM intake.customer_keys WHERE customer_id = $1 AND kind IN ('phone', 'account')
HAVING count(*) > 0
ON CONFLICT (customer_id) DO NOTHING"""

_COLUMNS = (
    "complaint_id, reference_no, channel, channel_ticket_id, idempotency_key, request_fingerprint, "
    "received_at, accepted_at, correlation_id, submission"
)


#: One statement per submission. `earlier`: the complaint this one repeats (its key first, then its ticket id).
#: `inserted`: only when there is none (so a retry takes no reference number), and ON CONFLICT DO NOTHING when a
#: concurrent twin got in first (the unique indexes) — the caller then reads the winner in a new statement,
#: since this one's snapshot predates it.
#: The customer (`customers.py`): `found` is the best-ranked of the complaint's keys already known — not a
#: customer with another account when the complaint names one —, `chosen` that customer or a new one, and
#: `learnt` the complaint's keys not yet known, now the chosen customer's (only when the complaint is inserted).
#: `found` looks each key up through the primary key (LATERAL ... LIMIT 1) rather than joining the table: the plan
#: Postgres caches for the statement after five runs is made from the statistics of that moment, and on new, empty
#: tables a join read `customer_keys` whole for every submission until autovacuum's first ANALYZE
#: (tests/service/test_intake_store_plan.py).
_STORE = f"""
WITH earlier AS (
    (SELECT {_COLUMNS}, 1 AS rank FROM intake.complaints WHERE channel = $2 AND idempotency_key = $4)
    UNION ALL
    (SELECT {_COLUMNS}, 2 AS rank FROM intake.complaints WHERE channel = $2 AND channel_ticket_id = $3)
    ORDER BY rank LIMIT 1
), wanted AS (
    SELECT kind, key, rank FROM unnest($11::text[], $12::text[], $13::int[]) AS w(kind, key, rank)
    WHERE NOT EXISTS (SELECT FROM earlier)
), found AS (
    SELECT k.customer_id, w.kind FROM wanted w
    CROSS JOIN LATERAL (
        SELECT customer_id FROM intake.customer_keys k WHERE k.kind = w.kind AND k.key = w.key LIMIT 1) k
    WHERE w.kind = 'account' OR NOT ($14::boolean AND EXISTS (
        SELECT FROM intake.customer_keys a WHERE a.customer_id = k.customer_id AND a.kind = 'account'))
    ORDER BY w.rank LIMIT 1
), chosen AS (
    SELECT coalesce((SELECT customer_id FROM found), $15::uuid) AS customer_id
), inserted AS (
    INSERT INTO intake.complaints ({_COLUMNS}, customer_id)
    SELECT $1::uuid, intake.reference_no($10::date, intake.next_reference_sequence($10::date)), $2, $3, $4,
        $5::text, $6::timestamptz, $7::timestamptz, $8::text, $9::jsonb, (SELECT customer_id FROM chosen)
    WHERE NOT EXISTS (SELECT FROM earlier)
    ON CONFLICT DO NOTHING
    RETURNING {_COLUMNS}
), learnt AS (
    INSERT INTO intake.customer_keys (kind, key, customer_id, first_seen_at)
    SELECT w.kind, w.key, c.customer_id, $7::timestamptz FROM wanted w CROSS JOIN chosen c
    WHERE EXISTS (SELECT FROM inserted)
    ON CONFLICT (kind, key) DO NOTHING
    RETURNING kind
), keyed AS (
    INSERT INTO intake.subject_keys (customer_id, key, created_at)
    SELECT c.customer_id, $16::bytea, $7::timestamptz FROM chosen c
    WHERE EXISTS (SELECT FROM inserted)
    ON CONFLICT (customer_id) DO NOTHING
    RETURNING key
)
SELECT {_COLUMNS}, false AS replayed, (SELECT customer_id FROM chosen) AS customer_id,
    (SELECT kind FROM found) AS matched_by, (SELECT count(*) FROM learnt) AS learnt,
    coalesce((SELECT key FROM keyed),
        (SELECT key FROM intake.subject_keys WHERE customer_id = (SELECT customer_id FROM chosen))) AS subject_key
FROM inserted
UNION ALL
SELECT {_COLUMNS}, true AS replayed, NULL::uuid, NULL::text, 0::bigint, NULL::bytea FROM earlier
"""

#: The customer's sealing key, made when they have none (a customer matched before issue 25, or the rare race of
#: two first complaints of one customer, where `_STORE`'s snapshot did not see the other's key).
_SUBJECT_KEY = """
WITH made AS (
    INSERT INTO intake.subject_keys (customer_id, key, created_at) VALUES ($1, $2, now())
    ON CONFLICT (customer_id) DO NOTHING RETURNING key
)
SELECT key FROM made UNION ALL SELECT key FROM intake.subject_keys WHERE customer_id = $1 LIMIT 1
"""

#: A complaint's keys met a concurrent complaint's new customer (it took some of them first): the complaint joins
#: that customer after all — its best-ranked key's, as `found` would have chosen had it been committed — if that key
#: ranks above the one it was matched by (`$7`; a new customer: any).
_REMATCH = """
WITH found AS (
    SELECT k.customer_id, w.kind FROM intake.customer_keys k
    JOIN unnest($2::text[], $3::text[], $4::int[]) AS w(kind, key, rank) ON k.kind = w.kind AND k.key = w.key
    WHERE k.customer_id <> $5 AND w.rank < $7 AND (w.kind = 'account' OR NOT ($6::boolean AND EXISTS (
        SELECT FROM intake.customer_keys a WHERE a.customer_id = k.customer_id AND a.kind = 'account')))
    ORDER BY w.rank LIMIT 1
), moved AS (
    UPDATE intake.complaints SET customer_id = (SELECT customer_id FROM found)
    WHERE complaint_id = $1 AND EXISTS (SELECT FROM found)
)
SELECT customer_id, kind FROM found
"""


def _key_arrays(customer: CustomerKeys) -> tuple[list[str], list[str], list[int]]:
    """The keys as the statements' three arrays (kind, key, rank)."""
    return (
        [kind for kind, _ in customer.keys],
        [key for _, key in customer.keys],
        [RANKS[kind] for kind, _ in customer.keys],
    )


def _row(record: asyncpg.Record | None) -> StoredComplaint | None:
    return StoredComplaint(**dict(record)) if record is not None else None


_CASE_COLUMNS = "complaint_id, reference_no, channel, received_at, accepted_at, closed_at, submission"
_MESSAGE_COLUMNS = "message_id, complaint_id, channel, kind, score, text, received_at"

#: Customers still holding a key, none of whose cases is open or closed after `$1`.
_EXPIRED = """
SELECT k.customer_id FROM intake.subject_keys k
WHERE EXISTS (SELECT FROM intake.complaints c WHERE c.customer_id = k.customer_id)
  AND NOT EXISTS (
    SELECT FROM intake.complaints c WHERE c.customer_id = k.customer_id AND (c.closed_at IS NULL OR c.closed_at >= $1))
ORDER BY k.customer_id LIMIT $2
"""


class PostgresPrivacyQueries:
    """The SQL of personal-data requests (mixed into `PostgresIntakeRepository`; a class of its own to stay small)."""

    conn: asyncpg.Connection

    async def customer_by_key(self, kind: str, key: str) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.conn.fetchval(
            "SELECT customer_id FROM intake.customer_keys WHERE kind = $1 AND key = $2", kind, key
        )
        return found

    async def cases_of(self, customer_id: uuid.UUID) -> list[SubjectCase]:
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLUMNS} FROM intake.complaints WHERE customer_id = $1 ORDER BY accepted_at, complaint_id",
            customer_id,
        )
        found = await self.conn.fetch(
            f"SELECT {_MESSAGE_COLUMNS} FROM intake.customer_messages WHERE complaint_id = ANY($1::uuid[]) "
            "ORDER BY received_at, message_id",
            [row["complaint_id"] for row in rows],
        )
        messages: dict[uuid.UUID, list[CustomerMessage]] = {}
        for m in found:
            messages.setdefault(m["complaint_id"], []).append(CustomerMessage(**dict(m)))
        return [SubjectCase(**dict(row), messages=tuple(messages.get(row["complaint_id"], ()))) for row in rows]

    async def add_customer_message(self, message: CustomerMessage) -> None:
        m = message
        await self.conn.execute(
            f"INSERT INTO intake.customer_messages ({_MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (message_id) DO NOTHING",
            m.message_id,
            m.complaint_id,
            m.channel,
            m.kind,
            m.score,
            m.text,
            m.received_at,
        )

    async def forget_messages(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        await self.conn.execute(
            "DELETE FROM intake.customer_messages WHERE complaint_id = ANY($1::uuid[])", list(complaint_ids)
        )

    async def subject_key(self, customer_id: uuid.UUID) -> bytes | None:
        key = await self.conn.fetchval("SELECT key FROM intake.subject_keys WHERE customer_id = $1", customer_id)
        return bytes(key) if key is not None else None

    async def replace_submission(self, complaint_id: uuid.UUID, submission: dict[str, Any]) -> None:
        await self.conn.execute(
            "UPDATE intake.complaints SET submission = $2 WHERE complaint_id = $1", complaint_id, submission
        )

    async def schedule_ingress_scrub(self, customer_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(_SCHEDULE_SCRUB, customer_id, at)

    async def pending_ingress_scrubs(self, limit: int) -> list[PendingScrub]:
        rows = await self.conn.fetch(
            "SELECT customer_id, phone_keys, accounts FROM intake.ingress_scrubs ORDER BY requested_at LIMIT $1", limit
        )
        return [PendingScrub(r["customer_id"], tuple(r["phone_keys"]), tuple(r["accounts"])) for r in rows]

    async def settle_ingress_scrubs(self, customer_ids: Sequence[uuid.UUID], outcome: str | None) -> None:
        if outcome is None:
            await self.conn.execute("DELETE FROM intake.ingress_scrubs WHERE customer_id = ANY($1)", customer_ids)
            return
        await self.conn.execute(
            "UPDATE intake.ingress_scrubs SET attempts = attempts + 1, last_outcome = $2 WHERE customer_id = ANY($1)",
            customer_ids,
            outcome,
        )

    async def forget_customer(self, customer_id: uuid.UUID) -> None:
        await self.conn.execute("DELETE FROM intake.subject_keys WHERE customer_id = $1", customer_id)
        await self.conn.execute("DELETE FROM intake.customer_keys WHERE customer_id = $1", customer_id)

    async def rekey_customer(self, customer_id: uuid.UUID, old: tuple[str, str], new: tuple[str, str]) -> None:
        await self.conn.execute(
            "DELETE FROM intake.customer_keys WHERE kind = $1 AND key = $2 AND customer_id = $3", *old, customer_id
        )
        await self.conn.execute(
            "INSERT INTO intake.customer_keys (kind, key, customer_id, first_seen_at) VALUES ($1, $2, $3, now()) "
            "ON CONFLICT (kind, key) DO NOTHING",
            *new,
            customer_id,
        )

    async def log_privacy(self, entry: PrivacyLogEntry) -> None:
        await self.conn.execute(
            "INSERT INTO intake.privacy_log (action, customer_id, subject, actor, reason, complaint_ids, at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            entry.action,
            entry.customer_id,
            entry.subject,
            entry.actor,
            entry.reason,
            list(entry.complaint_ids),
            entry.at,
        )

    async def mark_closed(self, complaint_id: uuid.UUID, closed_at: datetime) -> None:
        await self.conn.execute(
            "UPDATE intake.complaints SET closed_at = greatest(closed_at, $2) WHERE complaint_id = $1",
            complaint_id,
            closed_at,
        )

    async def expired_customers(self, closed_before: datetime, limit: int) -> list[uuid.UUID]:
        return [row["customer_id"] for row in await self.conn.fetch(_EXPIRED, closed_before, limit)]


class PostgresIntakeRepository(PostgresPrivacyQueries):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def find_existing(
        self, *, channel: str, idempotency_key: str | None, channel_ticket_id: str | None
    ) -> StoredComplaint | None:
        if idempotency_key is not None:
            found = await self.conn.fetchrow(
                f"SELECT {_COLUMNS} FROM intake.complaints WHERE channel = $1 AND idempotency_key = $2",
                channel,
                idempotency_key,
            )
            if found is not None:
                return _row(found)
        if channel_ticket_id is None:
            return None
        return _row(
            await self.conn.fetchrow(
                f"SELECT {_COLUMNS} FROM intake.complaints WHERE channel = $1 AND channel_ticket_id = $2",
                channel,
                channel_ticket_id,
            )
        )

    async def store(self, complaint: NewComplaint, customer: CustomerKeys) -> Submitted | None:
        c = complaint
        kinds, keys, ranks = _key_arrays(customer)
        found = await self.conn.fetchrow(
            _STORE,
            c.complaint_id,
            c.channel,
            c.channel_ticket_id,
            c.idempotency_key,
            c.request_fingerprint,
            c.received_at,
            c.accepted_at,
            c.correlation_id,
            c.submission,
            c.day,
            kinds,
            keys,
            ranks,
            customer.has_account,
            customer.new_customer_id,
            customer.new_subject_key,
        )
        if found is None:
            return None
        stored = dict(found)
        replayed = stored.pop("replayed")
        customer_id, matched_by, learnt = stored.pop("customer_id"), stored.pop("matched_by"), stored.pop("learnt")
        subject_key = stored.pop("subject_key")
        complaint_stored = StoredComplaint(**stored)
        if replayed:
            return Submitted(complaint_stored, replayed=True)
        matched = MatchedCustomer(customer_id, matched_by or "new", subject_key)
        # A key it brought was not learnt, and a better one than it was matched by is among them: a concurrent
        # first complaint may hold it (a repeat caller's keys, all its customer's already, ask nothing more).
        if learnt < len(kinds) and (matched_by is None or RANKS[matched_by] > min(ranks)):
            matched = await self._rematch(complaint_stored.complaint_id, customer, matched)
        if matched.subject_key is None:
            key = await self.conn.fetchval(_SUBJECT_KEY, matched.customer_id, customer.new_subject_key)
            matched = MatchedCustomer(matched.customer_id, matched.matched_by, key)
        return Submitted(complaint_stored, replayed=False, customer=matched)

    async def _rematch(
        self, complaint_id: uuid.UUID, customer: CustomerKeys, started: MatchedCustomer
    ) -> MatchedCustomer:
        """A concurrent complaint started a customer with some of these keys first: join it (`_REMATCH`) when its key
        ranks above the one this complaint was matched by.

        Why also when matched: this complaint's statement may have matched by the address (its household there)
        while a concurrent first complaint, not yet committed, took the phone for a new customer. Serially, either
        the phone would have matched first or the address's customer would have learnt the phone; without this the
        two complaints of one caller stay apart, and an erasure by that phone finds one of them (CI61)."""
        kinds, keys, ranks = _key_arrays(customer)
        rank = RANKS.get(started.matched_by, len(RANKS) + 1)  # "new": any key ranks above
        found = await self.conn.fetchrow(
            _REMATCH, complaint_id, kinds, keys, ranks, started.customer_id, customer.has_account, rank
        )
        # The customer joined has their own key (the one `_STORE` made for the started customer stays unused).
        return MatchedCustomer(found["customer_id"], found["kind"]) if found is not None else started

    async def by_id(self, complaint_id: uuid.UUID) -> StoredComplaint | None:
        return _row(
            await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM intake.complaints WHERE complaint_id = $1", complaint_id)
        )

    async def by_reference(self, reference_no: str) -> StoredComplaint | None:
        return _row(
            await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM intake.complaints WHERE reference_no = $1", reference_no)
        )


async def outbox_pending(pool: asyncpg.Pool) -> int:
    """Events accepted but not yet on Kafka: readiness reports it, an operator watches it during an outage."""
    return int(await pool.fetchval("SELECT count(*) FROM intake.outbox"))
