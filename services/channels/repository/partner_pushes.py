"""The partner hotlines' tickets and the states pushed to them (tables `partner_tickets`, `partner_pushes`): pushes
are added by the use cases of `handlers/partner_pushes.py`, and the delivery worker leases the oldest open push of
each ticket, so a ticket's states go strictly in order and different tickets side by side. States that cannot be
queued yet (their ticket unknown, a 回访 before its 办结) wait in `partner_held_states`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.channels.pushes import NewPush, PartnerTicket, Push, PushResult, TicketState

_PUSH_COLUMNS = (
    "p.push_id, p.seq, p.complaint_id, p.partner, p.ticket_id, t.reference_no, p.kind, p.fields, p.occurred_at, "
    "p.status, p.attempts, p.next_attempt_at, p.answer_status, p.answer_body, p.receipt_id, p.last_error, "
    "p.answered_at"
)


class PartnerPushStore(Protocol):
    async def register_partner_ticket(self, ticket: PartnerTicket, at: datetime) -> bool:
        """Keep a complaint as a partner's ticket; False when it was kept already."""
        ...

    async def partner_ticket(self, complaint_id: uuid.UUID) -> PartnerTicket | None: ...

    async def partner_ticket_by_reference(self, reference_no: str) -> PartnerTicket | None: ...

    async def add_push(self, push: NewPush, at: datetime) -> bool:
        """Queue a state for the partner, after every push of its ticket so far; False when this push (its id)
        was queued already."""
        ...

    async def claim_pushes(
        self, partners: Sequence[str], now: datetime, lease_until: datetime, limit: int
    ) -> list[Push]:
        """Of these `partners`' tickets: lease the oldest open push of each ticket whose next try is due and that no
        live lease holds (at most `limit`, the longest waiting first); a ticket whose oldest open push is not due
        yet sends nothing."""
        ...

    async def record_attempt(self, result: PushResult) -> None:
        """What one attempt got (the partner's answer), and the push's lease released."""
        ...

    async def pushes_of(self, complaint_id: uuid.UUID) -> list[Push]:
        """Every push of the case's ticket, in order."""
        ...

    async def hold_partner_state(self, state: TicketState, at: datetime) -> None:
        """Keep a state until it can be queued (held once: the same push id again changes nothing)."""
        ...

    async def release_partner_states(self, complaint_id: uuid.UUID) -> list[TicketState]:
        """Take out every state held for this complaint, in the order they happened."""
        ...

    async def expire_partner_states(self, before: datetime) -> int:
        """Drop the held states that happened before `before`; how many."""
        ...


def push_from_row(row: Any) -> Push:
    return Push(**dict(row))


class PostgresPartnerPushStore:
    conn: asyncpg.Connection

    async def register_partner_ticket(self, ticket: PartnerTicket, at: datetime) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO channels.partner_tickets (complaint_id, partner, ticket_id, reference_no, registered_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
            ticket.complaint_id,
            ticket.partner,
            ticket.ticket_id,
            ticket.reference_no,
            at,
        )
        return bool(inserted)

    async def partner_ticket(self, complaint_id: uuid.UUID) -> PartnerTicket | None:
        row = await self.conn.fetchrow(
            "SELECT complaint_id, partner, ticket_id, reference_no FROM channels.partner_tickets "
            "WHERE complaint_id = $1",
            complaint_id,
        )
        return PartnerTicket(**dict(row)) if row else None

    async def partner_ticket_by_reference(self, reference_no: str) -> PartnerTicket | None:
        row = await self.conn.fetchrow(
            "SELECT complaint_id, partner, ticket_id, reference_no FROM channels.partner_tickets "
            "WHERE reference_no = $1",
            reference_no,
        )
        return PartnerTicket(**dict(row)) if row else None

    async def add_push(self, push: NewPush, at: datetime) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO channels.partner_pushes (push_id, complaint_id, partner, ticket_id, kind, fields, "
            "occurred_at, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
            "ON CONFLICT (push_id) DO NOTHING RETURNING true",
            push.push_id,
            push.complaint_id,
            push.partner,
            push.ticket_id,
            push.kind,
            dict(push.fields),
            push.occurred_at,
            at,
        )
        return bool(inserted)

    async def claim_pushes(
        self, partners: Sequence[str], now: datetime, lease_until: datetime, limit: int
    ) -> list[Push]:
        # A push leased by another worker re-checks its lease when this UPDATE meets its row (READ COMMITTED's
        # recheck of the WHERE on the newest row version): two workers never both take it.
        rows = await self.conn.fetch(
            "WITH heads AS (SELECT DISTINCT ON (partner, ticket_id) push_id, next_attempt_at, leased_until "
            "FROM channels.partner_pushes WHERE status = 'pending' AND partner = ANY($4::text[]) "
            "ORDER BY partner, ticket_id, seq), "
            "due AS (SELECT push_id FROM heads WHERE next_attempt_at <= $1 "
            "AND (leased_until IS NULL OR leased_until <= $1) ORDER BY next_attempt_at LIMIT $3), "
            "leased AS (UPDATE channels.partner_pushes p SET leased_until = $2 FROM due "
            "WHERE p.push_id = due.push_id AND p.status = 'pending' "
            "AND (p.leased_until IS NULL OR p.leased_until <= $1) "
            "RETURNING p.*) "
            f"SELECT {_PUSH_COLUMNS} FROM leased p JOIN channels.partner_tickets t USING (complaint_id) ORDER BY p.seq",
            now,
            lease_until,
            limit,
            list(partners),
        )
        return [push_from_row(r) for r in rows]

    async def record_attempt(self, result: PushResult) -> None:
        await self.conn.execute(
            "UPDATE channels.partner_pushes SET status = $2, attempts = $3, next_attempt_at = $4, answer_status = $5, "
            "answer_body = $6, receipt_id = $7, last_error = $8, answered_at = $9, leased_until = NULL "
            "WHERE push_id = $1 AND status = 'pending'",
            result.push_id,
            result.status,
            result.attempts,
            result.next_attempt_at,
            result.answer_status,
            result.answer_body,
            result.receipt_id,
            result.last_error,
            result.answered_at,
        )

    async def pushes_of(self, complaint_id: uuid.UUID) -> list[Push]:
        rows = await self.conn.fetch(
            f"SELECT {_PUSH_COLUMNS} FROM channels.partner_pushes p JOIN channels.partner_tickets t "
            "USING (complaint_id) WHERE p.complaint_id = $1 ORDER BY p.seq",
            complaint_id,
        )
        return [push_from_row(r) for r in rows]

    async def hold_partner_state(self, state: TicketState, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO channels.partner_held_states (push_id, complaint_id, kind, fields, occurred_at, held_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (push_id) DO NOTHING",
            state.push_id,
            state.complaint_id,
            state.kind,
            dict(state.fields),
            state.occurred_at,
            at,
        )

    async def release_partner_states(self, complaint_id: uuid.UUID) -> list[TicketState]:
        rows = await self.conn.fetch(
            "DELETE FROM channels.partner_held_states WHERE complaint_id = $1 "
            "RETURNING push_id, complaint_id, kind, fields, occurred_at",
            complaint_id,
        )
        return sorted((TicketState(**dict(r)) for r in rows), key=lambda s: (s.occurred_at, s.kind != "reply"))

    async def expire_partner_states(self, before: datetime) -> int:
        dropped = await self.conn.fetchval(
            "WITH dropped AS (DELETE FROM channels.partner_held_states WHERE occurred_at < $1 RETURNING 1) "
            "SELECT count(*) FROM dropped",
            before,
        )
        return int(dropped)
