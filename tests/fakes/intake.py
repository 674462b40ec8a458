"""An in-memory `IntakeRepository` and the `Transactions` that hand it out, for unit tests of intake's use cases
without a database or a broker.

Like the real unit of work (`CopyOnCommit`), a transaction works on a copy of the state and replaces the state
only when the door commits. The unique indexes of `intake.complaints` are kept: a complaint whose Idempotency-Key
or (channel, channel ticket id) is taken is not inserted. The days' reference sequences are, as in Postgres, not
transactional: a number taken by a unit that rolls back stays taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, cast

from services.intake.customers import RANKS, CustomerKeys, MatchedCustomer
from services.intake.model import NewComplaint, StoredComplaint, Submitted
from services.intake.privacy import CustomerMessage, PendingScrub, PrivacyLogEntry, SubjectCase
from services.intake.reference import format_reference
from shared.contracts import Event
from shared.contracts.complaint import CustomerMatch
from tests.fakes.transactions import CopyOnCommit


class ReferenceSequences(dict[date, int]):
    """The days' sequences: shared by every copy of the state (a rollback gives no number back)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> ReferenceSequences:
        return self

    def next(self, day: date) -> int:
        self[day] = self.get(day, 0) + 1
        return self[day]


@dataclass
class IntakeState:
    """Intake's tables, in memory."""

    complaints: dict[uuid.UUID, StoredComplaint] = field(default_factory=dict)
    reference_sequences: ReferenceSequences = field(default_factory=ReferenceSequences)
    outbox: list[Event] = field(default_factory=list)
    processed: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    #: `intake.customer_keys`: (kind, key) → the customer it belongs to.
    customer_keys: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    #: `intake.subject_keys`: customer → their sealing key.
    subject_keys: dict[uuid.UUID, bytes] = field(default_factory=dict)
    #: `intake.complaints.customer_id` and `.closed_at`.
    complaint_customers: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    closed_at: dict[uuid.UUID, datetime] = field(default_factory=dict)
    #: `intake.customer_messages`: message id → the message.
    customer_messages: dict[uuid.UUID, CustomerMessage] = field(default_factory=dict)
    #: `intake.privacy_log`.
    privacy_log: list[PrivacyLogEntry] = field(default_factory=list)
    #: `intake.ingress_scrubs`: erased customer → the scrub waiting for them, and its last outcome.
    ingress_scrubs: dict[uuid.UUID, tuple[PendingScrub, str | None]] = field(default_factory=dict)

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.outbox]


@dataclass
class FakeIntakeRepository:
    state: IntakeState

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {i for i in event_ids if (consumer, i) not in self.state.processed}
        self.state.processed.update((consumer, i) for i in fresh)
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.state.outbox.extend(events)

    async def find_existing(
        self, *, channel: str, idempotency_key: str | None, channel_ticket_id: str | None
    ) -> StoredComplaint | None:
        complaints = [c for c in self.state.complaints.values() if c.channel == channel]
        if idempotency_key is not None:
            for complaint in complaints:
                if complaint.idempotency_key == idempotency_key:
                    return complaint
        if channel_ticket_id is not None:
            for complaint in complaints:
                if complaint.channel_ticket_id == channel_ticket_id:
                    return complaint
        return None

    async def store(self, complaint: NewComplaint, customer: CustomerKeys) -> Submitted | None:
        earlier = await self.find_existing(
            channel=complaint.channel,
            idempotency_key=complaint.idempotency_key,
            channel_ticket_id=complaint.channel_ticket_id,
        )
        if earlier is not None:
            return Submitted(earlier, replayed=True)
        day = complaint.day
        stored = complaint.numbered(format_reference(day, self.state.reference_sequences.next(day)))
        if any(_same_key(stored, other) for other in self.state.complaints.values()):
            return None
        self.state.complaints[stored.complaint_id] = stored
        matched = self._match(customer)
        self.state.complaint_customers[stored.complaint_id] = matched.customer_id
        key = self.state.subject_keys.setdefault(matched.customer_id, customer.new_subject_key)
        return Submitted(stored, replayed=False, customer=replace(matched, subject_key=key))

    def _match(self, customer: CustomerKeys) -> MatchedCustomer:
        """The best-ranked known key's customer (not one with another account when the complaint names one),
        else a new one; the keys not yet known are learnt for it."""
        keys = self.state.customer_keys
        matched = MatchedCustomer(customer.new_customer_id, "new")
        for kind, key in sorted(customer.keys, key=lambda k: RANKS[k[0]]):
            owner = keys.get((kind, key))
            if owner is None or (kind != "account" and customer.has_account and self._has_account(owner)):
                continue
            matched = MatchedCustomer(owner, cast(CustomerMatch, kind))
            break
        for kind_key in customer.keys:
            keys.setdefault(kind_key, matched.customer_id)
        return matched

    def _has_account(self, customer_id: uuid.UUID) -> bool:
        return any(kind == "account" and owner == customer_id for (kind, _), owner in self.state.customer_keys.items())

    async def by_id(self, complaint_id: uuid.UUID) -> StoredComplaint | None:
        return self.state.complaints.get(complaint_id)

    async def by_reference(self, reference_no: str) -> StoredComplaint | None:
        return next((c for c in self.state.complaints.values() if c.reference_no == reference_no), None)

    async def customer_by_key(self, kind: str, key: str) -> uuid.UUID | None:
        return self.state.customer_keys.get((kind, key))

    async def cases_of(self, customer_id: uuid.UUID) -> list[SubjectCase]:
        owned = [c for i, c in self.state.complaints.items() if self.state.complaint_customers.get(i) == customer_id]
        return [
            SubjectCase(
                c.complaint_id,
                c.reference_no,
                c.channel,
                c.received_at,
                c.accepted_at,
                self.state.closed_at.get(c.complaint_id),
                c.submission,
                tuple(
                    sorted(
                        (m for m in self.state.customer_messages.values() if m.complaint_id == c.complaint_id),
                        key=lambda m: (m.received_at, m.message_id),
                    )
                ),
            )
            for c in sorted(owned, key=lambda c: (c.accepted_at, c.complaint_id))
        ]

    async def subject_key(self, customer_id: uuid.UUID) -> bytes | None:
        return self.state.subject_keys.get(customer_id)

    async def add_customer_message(self, message: CustomerMessage) -> None:
        self.state.customer_messages.setdefault(message.message_id, message)

    async def forget_messages(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        for message_id, message in list(self.state.customer_messages.items()):
            if message.complaint_id in complaint_ids:
                del self.state.customer_messages[message_id]

    async def replace_submission(self, complaint_id: uuid.UUID, submission: dict[str, Any]) -> None:
        stored = self.state.complaints[complaint_id]
        self.state.complaints[complaint_id] = replace(stored, submission=submission)

    async def schedule_ingress_scrub(self, customer_id: uuid.UUID, at: datetime) -> None:
        keys = [kk for kk, owner in self.state.customer_keys.items() if owner == customer_id]
        phones = tuple(k for kind, k in keys if kind == "phone")
        accounts = tuple(k for kind, k in keys if kind == "account")
        if (phones or accounts) and customer_id not in self.state.ingress_scrubs:
            self.state.ingress_scrubs[customer_id] = (PendingScrub(customer_id, phones, accounts), None)

    async def pending_ingress_scrubs(self, limit: int) -> list[PendingScrub]:
        return [pending for pending, _ in self.state.ingress_scrubs.values()][:limit]

    async def settle_ingress_scrubs(self, customer_ids: Sequence[uuid.UUID], outcome: str | None) -> None:
        for customer_id in customer_ids:
            if outcome is None:
                self.state.ingress_scrubs.pop(customer_id, None)
            elif customer_id in self.state.ingress_scrubs:
                self.state.ingress_scrubs[customer_id] = (self.state.ingress_scrubs[customer_id][0], outcome)

    async def forget_customer(self, customer_id: uuid.UUID) -> None:
        self.state.subject_keys.pop(customer_id, None)
        for kind_key, owner in list(self.state.customer_keys.items()):
            if owner == customer_id:
                del self.state.customer_keys[kind_key]

    async def rekey_customer(self, customer_id: uuid.UUID, old: tuple[str, str], new: tuple[str, str]) -> None:
        if self.state.customer_keys.get(old) == customer_id:
            del self.state.customer_keys[old]
        self.state.customer_keys.setdefault(new, customer_id)

    async def log_privacy(self, entry: PrivacyLogEntry) -> None:
        self.state.privacy_log.append(entry)

    async def mark_closed(self, complaint_id: uuid.UUID, closed_at: datetime) -> None:
        if complaint_id in self.state.complaints:
            earlier = self.state.closed_at.get(complaint_id)
            self.state.closed_at[complaint_id] = max(closed_at, earlier) if earlier else closed_at

    async def expired_customers(self, closed_before: datetime, limit: int) -> list[uuid.UUID]:
        by_customer: dict[uuid.UUID, list[datetime | None]] = {}
        for complaint_id, customer_id in self.state.complaint_customers.items():
            by_customer.setdefault(customer_id, []).append(self.state.closed_at.get(complaint_id))
        expired = [
            customer_id
            for customer_id, closed in by_customer.items()
            if customer_id in self.state.subject_keys and all(c is not None and c < closed_before for c in closed)
        ]
        return sorted(expired)[:limit]


def _same_key(new: StoredComplaint, old: StoredComplaint) -> bool:
    """The unique indexes: complaint id, reference number, and per channel the key and the ticket id."""
    if new.complaint_id == old.complaint_id or new.reference_no == old.reference_no:
        return True
    if new.channel != old.channel:
        return False
    same_key = new.idempotency_key is not None and new.idempotency_key == old.idempotency_key
    same_ticket = new.channel_ticket_id is not None and new.channel_ticket_id == old.channel_ticket_id
    return same_key or same_ticket


class FakeTransactions(CopyOnCommit[IntakeState, FakeIntakeRepository]):
    """`Transactions[IntakeRepository]` in memory: `state` is what has been committed so far."""

    def __init__(self, state: IntakeState | None = None) -> None:
        super().__init__(state or IntakeState(), FakeIntakeRepository)
