"""An in-memory `ChannelsRepository` and the `Transactions` that hand it out, for unit tests of channels' use cases
without a database or a broker. Like the real unit of work, a transaction works on a copy of the state and replaces
it only when the door commits; the unique (provider, provider's id) of `inbound_messages` is kept.

Composed like the repository (`services/channels/repository/`): one fake mixin per area over `self.state`, one
line each in `FakeChannelsRepository`'s bases, and the area's tables as fields of `ChannelsState` (one line each).
`tests/fakes/protocols.py` checks the composition against `ChannelsRepository` (mypy names a missing method).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.channels.model import Case, SentMessage, StoredAttachment, StoredMessage
from services.channels.pushes import PartnerTicket, Push, TicketState
from services.channels.repository.mail import MailboxPosition
from services.channels.repository.open311 import Open311Request, RequestQuery, ServiceRequestView, select_in_memory
from services.channels.repository.wechat import PendingMessage, WechatCustomer, senders
from shared.contracts import Event
from tests.fakes.channel_partner_pushes import FakePartnerPushStore
from tests.fakes.transactions import CopyOnCommit


@dataclass
class ChannelsState:
    """Channels' tables, in memory (one field per table; areas add theirs)."""

    outbox: list[Event] = field(default_factory=list)
    processed: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    messages: dict[uuid.UUID, StoredMessage] = field(default_factory=dict)
    raw_bodies: dict[uuid.UUID, tuple[str, bytes]] = field(default_factory=dict)
    attachments: dict[uuid.UUID, tuple[StoredAttachment, bytes]] = field(default_factory=dict)
    attachment_reads: list[tuple[uuid.UUID, str, datetime]] = field(default_factory=list)
    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    case_messages: dict[uuid.UUID, tuple[uuid.UUID, SentMessage]] = field(default_factory=dict)
    mailbox_positions: dict[str, MailboxPosition] = field(default_factory=dict)
    partner_tickets: dict[uuid.UUID, PartnerTicket] = field(default_factory=dict)
    partner_pushes: list[Push] = field(default_factory=list)
    partner_push_leases: dict[uuid.UUID, datetime] = field(default_factory=dict)
    partner_held_states: dict[uuid.UUID, TicketState] = field(default_factory=dict)
    open311_requests: dict[uuid.UUID, Open311Request] = field(default_factory=dict)
    wechat_customers: dict[str, WechatCustomer] = field(default_factory=dict)
    wechat_pending: dict[str, PendingMessage] = field(default_factory=dict)

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.outbox]


class FakeHandlingStore:
    state: ChannelsState

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {i for i in event_ids if (consumer, i) not in self.state.processed}
        self.state.processed.update((consumer, i) for i in fresh)
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.state.outbox.extend(events)

    async def outbox_pending(self) -> int:
        return len(self.state.outbox)


class FakeInboundStore:
    state: ChannelsState

    async def insert_message(self, message: StoredMessage, *, content_type: str, raw_body: bytes) -> bool:
        if await self.message_by_provider_id(message.provider, message.provider_message_id) is not None:
            return False
        self.state.messages[message.message_id] = message
        self.state.raw_bodies[message.message_id] = (content_type, raw_body)
        return True

    async def message_by_provider_id(self, provider: str, provider_message_id: str) -> StoredMessage | None:
        for m in self.state.messages.values():
            if (m.provider, m.provider_message_id) == (provider, provider_message_id):
                return await self.message(m.message_id)
        return None

    async def message(self, message_id: uuid.UUID) -> StoredMessage | None:
        m = self.state.messages.get(message_id)
        if m is None:
            return None
        files = tuple(a for a, _ in self.state.attachments.values() if a.message_id == message_id)
        case = self.state.cases.get(m.complaint_id) if m.complaint_id else None
        reference = m.reference_no or (case.reference_no if case else None)
        return dataclasses.replace(m, attachments=files, reference_no=reference)

    async def add_attachment(self, attachment: StoredAttachment, content: bytes) -> None:
        self.state.attachments[attachment.attachment_id] = (attachment, content)

    async def attachment(self, attachment_id: uuid.UUID) -> tuple[StoredAttachment, bytes] | None:
        return self.state.attachments.get(attachment_id)

    async def record_attachment_read(self, attachment_id: uuid.UUID, read_by: str, at: datetime) -> None:
        self.state.attachment_reads.append((attachment_id, read_by, at))


class FakeCaseStore:
    state: ChannelsState

    def _with_messages(self, case: Case | None) -> Case | None:
        if case is None:
            return None
        sent = sorted(
            (m for cid, m in self.state.case_messages.values() if cid == case.complaint_id),
            key=lambda m: (m.at, m.notification_id),
        )
        return dataclasses.replace(case, messages=tuple(sent))

    async def case(self, complaint_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        return self._with_messages(self.state.cases.get(complaint_id))

    async def case_by_reference(self, reference_no: str) -> Case | None:
        found = [c for c in self.state.cases.values() if c.reference_no == reference_no]
        return self._with_messages(found[0] if found else None)

    async def case_last_messaged(self, phone_hash: str) -> Case | None:
        found = [c for c in self.state.cases.values() if c.phone_hash == phone_hash and c.last_message_at]
        found.sort(key=lambda c: c.last_message_at or datetime.min, reverse=True)
        return self._with_messages(found[0] if found else None)

    async def add_case_if_absent(self, case: Case) -> None:
        self.state.cases.setdefault(case.complaint_id, dataclasses.replace(case, messages=()))

    async def save_case(self, case: Case) -> None:
        self.state.cases[case.complaint_id] = dataclasses.replace(case, messages=())

    async def forget_customer(self, complaint_ids: list[uuid.UUID]) -> None:
        for complaint_id in complaint_ids:
            case = self.state.cases.get(complaint_id)
            if case is not None:
                self.state.cases[complaint_id] = dataclasses.replace(
                    case,
                    phone_hash=None,
                    phone_last4_hash=None,
                    email_hash=None,
                    wechat_openid_hash=None,
                    latitude=None,
                    longitude=None,
                )
        for message_id, message in self.state.messages.items():
            if message.complaint_id in complaint_ids:
                content_type, _ = self.state.raw_bodies[message_id]
                self.state.raw_bodies[message_id] = (content_type, b"")

    async def record_sent(self, complaint_id: uuid.UUID, message: SentMessage) -> None:
        earlier = self.state.case_messages.get(message.notification_id)
        if earlier is None or earlier[1].at <= message.at:
            channel = message.channel or (earlier[1].channel if earlier else None)
            self.state.case_messages[message.notification_id] = (
                complaint_id,
                dataclasses.replace(message, channel=channel),
            )


class FakeMailReaderStore:
    state: ChannelsState

    async def mailbox_position(self, mailbox: str) -> MailboxPosition | None:
        return self.state.mailbox_positions.get(mailbox)

    async def advance_mailbox(self, position: MailboxPosition, at: datetime) -> None:
        known = self.state.mailbox_positions.get(position.mailbox)
        if known is None or known.uidvalidity != position.uidvalidity or known.last_uid < position.last_uid:
            self.state.mailbox_positions[position.mailbox] = position


class FakeOpen311Store:
    state: ChannelsState

    async def add_open311_request(self, request: Open311Request) -> None:
        self.state.open311_requests.setdefault(request.message_id, request)

    def _open311_view(self, request: Open311Request) -> ServiceRequestView:
        case = self.state.cases.get(request.complaint_id) if request.complaint_id else None
        return ServiceRequestView(
            request=request,
            reference_no=case.reference_no if case else None,
            case_status=case.status if case else None,
            status_notes=case.status_notes if case else None,
            department=case.department if case else None,
            updated_at=case.updated_at if case else None,
            eta=case.eta if case else None,
        )

    async def open311_request(self, message_id: uuid.UUID) -> ServiceRequestView | None:
        request = self.state.open311_requests.get(message_id)
        return self._open311_view(request) if request else None

    async def open311_requests(self, query: RequestQuery) -> list[ServiceRequestView]:
        return select_in_memory([self._open311_view(r) for r in self.state.open311_requests.values()], query)


class FakeWechatStore:
    state: ChannelsState

    async def wechat_customer(self, openid: str) -> WechatCustomer | None:
        return self.state.wechat_customers.get(openid)

    async def save_wechat_customer(self, customer: WechatCustomer) -> None:
        self.state.wechat_customers[customer.openid] = customer

    async def add_pending(self, message: PendingMessage) -> PendingMessage:
        return self.state.wechat_pending.setdefault(message.msg_id, message)

    async def open_form_token(self, openid: str, now: datetime) -> str | None:
        waiting = [
            m
            for m in self.state.wechat_pending.values()
            if m.openid == openid and m.message_id is None and m.expires_at > now
        ]
        return max(waiting, key=lambda m: m.received_at).form_token if waiting else None

    async def pending_by_token(self, form_token: str) -> list[PendingMessage]:
        found = [m for m in self.state.wechat_pending.values() if m.form_token == form_token]
        return sorted(found, key=lambda m: (m.received_at, m.msg_id))

    async def mark_pending_taken(self, form_token: str, message_id: uuid.UUID) -> None:
        for msg_id, m in list(self.state.wechat_pending.items()):
            if m.form_token == form_token and m.message_id is None:
                self.state.wechat_pending[msg_id] = dataclasses.replace(m, message_id=message_id)

    async def forget_wechat_customers(self, complaint_ids: list[uuid.UUID]) -> None:
        taken = {
            message_id
            for message_id, m in self.state.messages.items()
            if m.provider == "wechat" and m.complaint_id in complaint_ids
        }
        openids = {m.openid for m in self.state.wechat_pending.values() if m.message_id in taken}
        openids |= {s for message_id in taken for s in senders(self.state.raw_bodies[message_id][1])}
        self.state.wechat_pending = {k: m for k, m in self.state.wechat_pending.items() if m.openid not in openids}
        self.state.wechat_customers = {k: c for k, c in self.state.wechat_customers.items() if k not in openids}


class FakeChannelsRepository(
    FakeHandlingStore,
    FakeInboundStore,
    FakeCaseStore,
    FakeMailReaderStore,
    FakeOpen311Store,
    FakePartnerPushStore,
    FakeWechatStore,
):
    def __init__(self, state: ChannelsState) -> None:
        self.state = state


class FakeTransactions(CopyOnCommit[ChannelsState, FakeChannelsRepository]):
    def __init__(self, state: ChannelsState | None = None) -> None:
        super().__init__(state or ChannelsState(), FakeChannelsRepository)


__all__ = ["ChannelsState", "FakeChannelsRepository", "FakeTransactions"]
