"""The partner pushes' tables in memory (`PartnerPushStore` of `services/channels/repository/partner_pushes.py`),
a mixin of `tests/fakes/channels.py`'s `FakeChannelsRepository`: pushes kept in `seq` order, the worker's claim
taking the oldest open push of each ticket, as the SQL does; held states in `state.partner_held_states`."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from services.channels.pushes import NewPush, PartnerTicket, Push, PushResult, TicketState

if TYPE_CHECKING:
    from tests.fakes.channels import ChannelsState


class FakePartnerPushStore:
    state: ChannelsState

    async def register_partner_ticket(self, ticket: PartnerTicket, at: datetime) -> bool:
        if ticket.complaint_id in self.state.partner_tickets:
            return False
        self.state.partner_tickets[ticket.complaint_id] = ticket
        return True

    async def partner_ticket(self, complaint_id: uuid.UUID) -> PartnerTicket | None:
        return self.state.partner_tickets.get(complaint_id)

    async def partner_ticket_by_reference(self, reference_no: str) -> PartnerTicket | None:
        return next((t for t in self.state.partner_tickets.values() if t.reference_no == reference_no), None)

    async def add_push(self, push: NewPush, at: datetime) -> bool:
        pushes = self.state.partner_pushes
        if any(p.push_id == push.push_id for p in pushes):
            return False
        ticket = self.state.partner_tickets[push.complaint_id]
        seq = max((p.seq for p in pushes), default=0) + 1
        fields = dict(push.fields)
        values = dataclasses.asdict(push) | {"fields": fields, "reference_no": ticket.reference_no}
        pushes.append(Push(seq=seq, status="pending", attempts=0, next_attempt_at=at, **values))
        return True

    async def claim_pushes(
        self, partners: Sequence[str], now: datetime, lease_until: datetime, limit: int
    ) -> list[Push]:
        heads: dict[tuple[str, str], Push] = {}
        for push in self.state.partner_pushes:  # in seq order
            if push.status == "pending" and push.partner in partners:
                heads.setdefault((push.partner, push.ticket_id), push)
        leases = self.state.partner_push_leases
        due = [
            p
            for p in heads.values()
            if p.next_attempt_at <= now and (p.push_id not in leases or leases[p.push_id] <= now)
        ]
        claimed = sorted(due, key=lambda p: p.next_attempt_at)[:limit]
        for push in claimed:
            leases[push.push_id] = lease_until
        return sorted(claimed, key=lambda p: p.seq)

    async def record_attempt(self, result: PushResult) -> None:
        pushes = self.state.partner_pushes
        for index, push in enumerate(pushes):
            if push.push_id == result.push_id and push.status == "pending":
                changes = dataclasses.asdict(result)
                del changes["push_id"]
                pushes[index] = dataclasses.replace(push, **changes)
                self.state.partner_push_leases.pop(push.push_id, None)

    async def pushes_of(self, complaint_id: uuid.UUID) -> list[Push]:
        return [p for p in self.state.partner_pushes if p.complaint_id == complaint_id]

    async def hold_partner_state(self, state: TicketState, at: datetime) -> None:
        self.state.partner_held_states.setdefault(state.push_id, state)

    async def release_partner_states(self, complaint_id: uuid.UUID) -> list[TicketState]:
        held = self.state.partner_held_states
        taken = [held.pop(s.push_id) for s in list(held.values()) if s.complaint_id == complaint_id]
        return sorted(taken, key=lambda s: (s.occurred_at, s.kind != "reply"))

    async def expire_partner_states(self, before: datetime) -> int:
        held = self.state.partner_held_states
        old = [push_id for push_id, s in held.items() if s.occurred_at < before]
        for push_id in old:
            del held[push_id]
        return len(old)
