"""Notify run in-process behind an httpx client, with providers and a staff directory the test controls.

The fake providers implement `services.notify.providers.base.Provider` as a vendor would behave: each keeps what it
accepted (keyed by our notification id, as the vendors' idempotency keys are), so a test counts sends at the
"vendor" and `find_sent` answers from that record.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.notify import consumers
from services.notify.bootstrap import create_app
from services.notify.providers.base import (
    Channel,
    Outgoing,
    PermanentError,
    Receipt,
    ReceiptAnswer,
    ReceiptRefused,
    Sent,
    TransientError,
)
from services.notify.providers.catalog import Catalog
from services.notify.settings import NotifySettings
from shared.contracts import new_event
from shared.contracts.followup import NotificationRequested, Recipient
from shared.http.person import PersonTokens
from tests.support.apps import running_app
from tests.support.kafka import start_groups_at_end

MACHINE = {"X-API-Key": "dev-only-notify-key"}


@dataclass
class FakeProvider:
    """A vendor: fails transiently `transient_failures` times, or always permanently (`permanent`), or takes
    `delay_s` to answer; then accepts. `sends` counts calls, `accepted` is what the vendor took."""

    name: str
    channel: Channel
    transient_failures: int = 0
    permanent: str | None = None
    delay_s: float = 0.0
    delivered: bool = False
    can_tell: bool = True
    sends: list[Outgoing] = field(default_factory=list)
    accepted: dict[uuid.UUID, str] = field(default_factory=dict)
    finds: list[uuid.UUID] = field(default_factory=list)
    _failures: dict[uuid.UUID, int] = field(default_factory=dict)

    async def send(self, message: Outgoing) -> Sent:
        self.sends.append(message)
        if self.permanent:
            raise PermanentError("refused by the vendor", code=self.permanent)
        failed = self._failures.get(message.notification_id, 0)
        if failed < self.transient_failures:
            self._failures[message.notification_id] = failed + 1
            raise TransientError("vendor unavailable")
        # The vendor takes it, then answers (slowly): a caller that gives up waiting does not undo the send.
        message_id = self.accepted.setdefault(message.notification_id, f"{self.name}-{uuid.uuid4().hex[:12]}")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return Sent(provider_message_id=message_id, delivered=self.delivered)

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        self.finds.append(message.notification_id)
        if not self.can_tell:
            # The protocol's answer of a vendor with no way to ask (`Provider.find_sent`), as SMTP's: not a stub.
            raise NotImplementedError("this fake vendor offers no way to ask (can_tell=False)")
        return self.accepted.get(message.notification_id)

    async def aclose(self) -> None:
        return None

    def sends_of(self, notification_id: uuid.UUID) -> int:
        return sum(1 for m in self.sends if m.notification_id == notification_id)


@dataclass
class FakeReceipts:
    """A vendor's status callbacks: JSON `[{"id": ..., "status": ...}]` behind a `token` query parameter."""

    name: str
    token: str = "receipt-token"
    content_types: list[str] = field(default_factory=list)

    def parse(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> list[Receipt]:
        import json

        self.content_types.append(headers.get("content-type", ""))
        if query.get("token") != self.token:
            raise ReceiptRefused("wrong token", status=401)
        try:
            items = json.loads(body)
        except ValueError:
            raise ReceiptRefused("body is not JSON", status=400) from None
        return [
            Receipt(
                status=i["status"],
                notification_id=uuid.UUID(i["notification_id"]) if i.get("notification_id") else None,
                provider_message_id=i.get("id"),
                error_code=i.get("code"),
            )
            for i in items
        ]

    def answer(self) -> ReceiptAnswer:
        return ReceiptAnswer(body=b'{"code": 0, "msg": "\xe6\x88\x90\xe5\x8a\x9f"}')


@dataclass(frozen=True)
class StaffAddress:
    staff_id: str
    display_name: str
    phone: str | None
    email: str | None


@dataclass
class FakeDirectory:
    """`directory.StaffDirectory`: role (and department) or staff id → the person to reach."""

    people: dict[str, StaffAddress] = field(default_factory=dict)
    asked: list[Recipient] = field(default_factory=list)

    async def resolve(self, recipient: Recipient) -> StaffAddress | None:
        self.asked.append(recipient)
        if recipient.staff_id:
            return self.people.get(recipient.staff_id)
        return self.people.get(f"{recipient.role}/{recipient.department}")


def catalog(*providers: FakeProvider, receipts: Mapping[str, FakeReceipts] | None = None) -> Catalog:
    from services.notify.providers.catalog import fixed

    return fixed(*providers, receipts=receipts)


def request(
    recipient: Recipient,
    *,
    template_id: str = "interim_reply",
    urgency: str = "routine",
    requested_at: datetime | None = None,
    complaint_id: uuid.UUID | None = None,
    notification_id: uuid.UUID | None = None,
) -> NotificationRequested:
    complaint_id = complaint_id or uuid.uuid4()
    reference = f"TS-20260310-{uuid.uuid4().hex[:6].upper()}"
    at = requested_at or datetime.now(UTC)
    return new_event(
        NotificationRequested,
        complaint_id=complaint_id,
        producer="test",
        correlation_id=f"notify-test-{uuid.uuid4().hex[:8]}",
        payload={
            "notification_id": notification_id or uuid.uuid4(),
            "complaint_id": complaint_id,
            "template_id": template_id,
            "locale": "zh",
            "recipient": recipient,
            "params": {"reference_no": reference},
            "text": f"您好！您反映的问题（受理号 {reference}）正在处理中。",
            "requested_at": at,
            "urgency": urgency,
            "reference_no": reference,
        },
    )


def phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


@asynccontextmanager
async def running_notify(
    database_url: str,
    bootstrap: str,
    *,
    providers: Catalog,
    directory: FakeDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Notify with its own consumer group, started at the topic's end (it reads only what the test sends), fast
    polls and short retries unless the test says otherwise."""
    group = f"notify-test-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(bootstrap, consumers.SUBSCRIPTIONS, group)
    settings = {
        "notify_poll_ms": 50,
        "notify_retry_base_s": 0.05,
        "notify_retry_max_s": 0.2,
        "notify_send_timeout_s": 5,
        "notify_lease_s": 10,
        "notify_quiet_hours": "",
        "notify_consumer_group": group,
        **overrides,
    }
    async with running_app(
        create_app,
        NotifySettings,
        name="notify",
        database_url=database_url,
        bootstrap=bootstrap,
        create_kwargs={
            "clock": clock,
            "persons": persons,
            "catalog": providers,
            "directory": directory or FakeDirectory(),
        },
        **settings,
    ) as running:
        yield running
