"""The one interface every delivery provider implements (SMS vendors, WeChat, email, the console inbox).

The sender worker (`services/notify/sending.py`) knows only this: it hands an `Outgoing` message to a provider and
gets a `Sent` back, or one of two errors that decide what happens next — `TransientError` is retried with backoff,
`PermanentError` moves on to the next channel in the fallback order (or fails the delivery). A provider never
retries by itself and never touches the database: the worker owns the attempts, so a crash cannot hide one.

Delivery-status reports (an SMS vendor's callback, a bounce) come back through `POST /v1/receipts/{provider}`; a
provider that has them implements `ReceiptParser`, which checks the caller the way that vendor signs its callbacks
and turns the body into `Receipt`s keyed by our notification id or the vendor's message id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Literal, Protocol

from shared.errors import DomainError

Channel = Literal["sms", "wechat", "email", "console"]


@dataclass(frozen=True)
class Outgoing:
    """One message to one address on one channel.

    `notification_id` is the idempotency key: providers that accept one pass it on (Aliyun `OutId`, Tencent
    `SessionContext`, WeChat `client_msg_id`, the email's Message-ID), so a resend after a crash can be recognised.
    """

    notification_id: uuid.UUID
    channel: Channel
    #: The phone number (E.164 or a mainland number), email address, WeChat openid or staff id.
    address: str
    template_id: str
    params: Mapping[str, str]
    #: The template rendered in `locale`: the email body, the console notice, what a vendor without templates shows.
    text: str
    locale: Literal["zh", "en"]
    #: The case's reference number (受理号), when the message is about a case: in the email's Message-ID and subject.
    reference_no: str | None = None
    complaint_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message. `delivered` is True when acceptance is delivery (the console inbox,
    an SMTP server that took the mail for a local mailbox); otherwise a receipt may come later."""

    provider_message_id: str | None
    delivered: bool = False


class TransientError(Exception):
    """Worth retrying later: the vendor is down, throttles us, a timeout, a 5xx, an expired token refreshed too late."""


class PermanentError(Exception):
    """Retrying this address on this channel cannot help: an invalid number, an unknown openid, a refused mailbox,
    a template the vendor does not know. `code` is the vendor's own error code, kept for the operator."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Provider(Protocol):
    """An adapter for one channel through one vendor."""

    #: Stable name: in metrics labels, in `POST /v1/receipts/{name}`, in the deliveries' `provider` column.
    name: str
    channel: Channel

    async def send(self, message: Outgoing) -> Sent:
        """Send one message; raise `TransientError` or `PermanentError` when it was not accepted."""
        ...

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        """After a crash between claiming an attempt and recording its answer: did the vendor take this message?

        The vendor's message id when its records show our idempotency key (`notification_id`) since `since` (or
        `model.FOUND_BY_OUR_ID` + our id, when those records carry no vendor id); None when they do not (then it is
        safe to send). Raise `TransientError` when the vendor cannot say, and `NotImplementedError` when the vendor
        offers no way to ask (the worker then treats the attempt as sent at most once and leaves it to the receipt or
        to a person)."""
        ...

    async def aclose(self) -> None:
        """Release connections (HTTP clients, SMTP sessions)."""
        ...


ReceiptStatus = Literal["delivered", "failed"]


@dataclass(frozen=True)
class Receipt:
    """One delivery-status report: which message (our id, or the vendor's id when that is all the report carries),
    what became of it, and the vendor's words."""

    status: ReceiptStatus
    notification_id: uuid.UUID | None = None
    provider_message_id: str | None = None
    at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None


class ReceiptRefused(DomainError):
    """The callback is not the vendor's (bad signature, wrong token, stale timestamp) or cannot be read: a 4xx
    naming the problem. `status` is 401 for an authentication failure, 400 or 422 for a body we cannot read.

    Answered as a problem (`shared.http.problems`) whose title is the status's phrase and whose `reason` member
    repeats the detail: vendors' consoles show one or the other."""

    status = 401
    title = "Unauthorized"

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message, reason=message)
        # One refusal, three statuses: the parser knows which one its vendor's console should show.
        vars(self).update(status=status, title=_phrase(status))


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Refused"


@dataclass(frozen=True)
class ReceiptAnswer:
    """What the vendor expects back from its callback (each vendor documents its own acknowledgement body)."""

    body: bytes
    media_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


class ReceiptParser(Protocol):
    """Reads one vendor's delivery-status callbacks. A parser may also have `echo(query) -> str`, for a vendor that
    checks its callback URL with a signed `GET` first (WeChat's server-URL check): `GET /v1/receipts/{name}`
    answers with what it returns, or with its `ReceiptRefused`."""

    name: str

    def parse(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> list[Receipt]:
        """Check the callback is the vendor's, then read it. Raise `ReceiptRefused` otherwise."""
        ...

    def answer(self) -> ReceiptAnswer:
        """The acknowledgement the vendor documents (e.g. Aliyun's `{"code": 0, "msg": "成功"}`)."""
        ...
