"""What a partner hotline (12345, 95598) is told about its ticket, as pure rules: the five states it expects, the
order they go in, the idempotency key of each, how an answer is read and when a refused delivery is tried again.

The hotline's own clock runs on these states: 签收 (`accept`, we took the ticket), 退单 (`return`, not ours, with
the reason), 延期 (`extend`, staff ask for a later deadline, with the reason), 办结 (`reply`, the case is resolved:
the resolution text), 回访 (`visit`, the callback's result). Each becomes a push row the moment its event is handled
(in the same transaction as the processed mark: an event is never half-pushed), and a worker delivers them:

    pending ──partner answers code 0──▶ delivered
       │ └────partner refuses (code ≠ 0, HTTP 4xx)──▶ refused   (final: recorded, the next push goes on)
       └──down, 5xx, 429, timeout──▶ pending again after `retry_delay` (1 s, 2 s, 4 s … capped)

**In order per ticket**: a push is delivered only once every earlier push of its ticket (by `seq`, the order the
events were handled in) is delivered or refused — the worker only ever takes the oldest open push of a ticket.
**Once**: the push's id is the `Idempotency-Key` the partner dedupes on, derived from the event that caused it
(`push_id`), so a redelivered event, a retry after a lost answer or a worker dying mid-call sends the same key and
the hotline records the state once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.contracts.complaint import Channel

PushKind = Literal["accept", "return", "extend", "reply", "visit"]
PushStatus = Literal["pending", "delivered", "refused"]
#: How the hotlines name them (their forms and our console).
LABELS: dict[str, str] = {"accept": "签收", "return": "退单", "extend": "延期", "reply": "办结", "visit": "回访"}
#: The partner a ticket's channel names (the hotline's code in its API and our settings).
PARTNERS: dict[Channel, str] = {Channel.PARTNER_12345: "12345", Channel.PARTNER_95598: "95598"}
#: Names the push ids (uuid5 of the causing event and the kind).
_PUSH_IDS = uuid.UUID("0c6f1f57-3f0e-4a4f-9d1e-2b5a3f7c9e12")
#: An answer body is kept up to this many characters (enough for any documented answer).
ANSWER_MAX_CHARS = 2000
#: HTTP statuses that mean "not now" rather than "no".
_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class PartnerTicket:
    """A complaint that came from a partner hotline: the ticket its pushes are about."""

    complaint_id: uuid.UUID
    partner: str
    ticket_id: str
    reference_no: str


@dataclass(frozen=True)
class NewPush:
    """A state to tell the partner, before it is stored (`seq` is given on insert: the handling order)."""

    push_id: uuid.UUID
    complaint_id: uuid.UUID
    partner: str
    ticket_id: str
    kind: PushKind
    fields: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class Push:
    """A push as stored: what to send, and what became of it so far."""

    push_id: uuid.UUID
    seq: int
    complaint_id: uuid.UUID
    partner: str
    ticket_id: str
    reference_no: str
    kind: PushKind
    fields: Mapping[str, Any]
    occurred_at: datetime
    status: PushStatus
    attempts: int
    next_attempt_at: datetime
    answer_status: int | None = None
    answer_body: str | None = None
    receipt_id: str | None = None
    last_error: str | None = None
    answered_at: datetime | None = None

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass(frozen=True)
class TicketState:
    """A state an event told about a complaint, before it is a push. It waits as it is (held) while its ticket is not
    known — the 签收 that registers it read in a later batch — or, a 回访, while its 办结 is not queued yet."""

    push_id: uuid.UUID
    complaint_id: uuid.UUID
    kind: PushKind
    fields: Mapping[str, Any]
    occurred_at: datetime

    def push(self, ticket: PartnerTicket) -> NewPush:
        where = (ticket.complaint_id, ticket.partner, ticket.ticket_id)
        return NewPush(self.push_id, *where, self.kind, self.fields, self.occurred_at)


def ticket_state(complaint_id: uuid.UUID, kind: PushKind, cause: uuid.UUID, at: datetime, **fields: Any) -> TicketState:
    return TicketState(push_id(cause, kind), complaint_id, kind, fields, at)


def visit_may_go(told: list[str]) -> bool:
    """A 回访 reports the callback on a 办结: it goes once the ticket was told more 办结 than 回访 (a case reopened by
    its callback is answered and called back again)."""
    return told.count("reply") > told.count("visit")


def push_id(cause: uuid.UUID, kind: PushKind) -> uuid.UUID:
    """The push's id and `Idempotency-Key`: the same event always makes the same push."""
    return uuid.uuid5(_PUSH_IDS, f"{kind}:{cause}")


def new_push(ticket: PartnerTicket, kind: PushKind, cause: uuid.UUID, at: datetime, **fields: Any) -> NewPush:
    return NewPush(push_id(cause, kind), ticket.complaint_id, ticket.partner, ticket.ticket_id, kind, fields, at)


def wire_body(push: Push) -> dict[str, Any]:
    """The JSON the partner's feedback API takes (see `partners/client.py` for the request around it)."""
    return {
        "ticket_id": push.ticket_id,
        "action": push.kind,
        "seq": push.seq,
        "occurred_at": push.occurred_at.isoformat(),
        "reference_no": push.reference_no,
        **push.fields,
    }


Outcome = Literal["delivered", "refused", "retry"]


@dataclass(frozen=True)
class Answer:
    """What one delivery attempt got: the HTTP status and body (None: no answer at all, `error` says why)."""

    status_code: int | None
    body: str = ""
    error: str | None = None

    @property
    def json(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def outcome(self) -> Outcome:
        """Down, overloaded or no answer: try again. `{"code": 0}`: delivered (also a replay of a key the partner
        had: it answers as the first time). Any other code, or a 4xx: the partner refuses this push — final."""
        if self.status_code is None or self.status_code >= 500 or self.status_code in _RETRY_STATUSES:
            return "retry"
        document = self.json
        if 200 <= self.status_code < 300 and document is not None and str(document.get("code")) == "0":
            return "delivered"
        return "refused"

    @property
    def receipt_id(self) -> str | None:
        document = self.json or {}
        value = document.get("receipt_id")
        return str(value)[:128] if value is not None else None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts: `first` after the first failure, doubling, never more than `cap`."""

    first: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int) -> timedelta:
        """After `attempts` failed attempts (1 = the first failed)."""
        exponent = max(0, min(attempts - 1, 30))
        delay: timedelta = min(self.first * (2**exponent), self.cap)
        return delay


@dataclass(frozen=True)
class PushResult:
    """What an attempt changes on its push row."""

    push_id: uuid.UUID
    status: PushStatus
    attempts: int
    next_attempt_at: datetime
    answer_status: int | None
    answer_body: str | None
    receipt_id: str | None
    last_error: str | None
    answered_at: datetime


def after_attempt(push: Push, answer: Answer, now: datetime, policy: RetryPolicy) -> PushResult:
    """The push after one more attempt: delivered, refused, or pending until its next try."""
    attempts = push.attempts + 1
    outcome = answer.outcome
    status: PushStatus = "pending" if outcome == "retry" else outcome
    next_at = now + policy.delay(attempts) if outcome == "retry" else now
    error = answer.error or (None if outcome == "delivered" else _summary(answer))
    return PushResult(
        push_id=push.push_id,
        status=status,
        attempts=attempts,
        next_attempt_at=next_at,
        answer_status=answer.status_code,
        answer_body=answer.body[:ANSWER_MAX_CHARS] if answer.body else None,
        receipt_id=answer.receipt_id if outcome == "delivered" else None,
        last_error=error,
        answered_at=now,
    )


def _summary(answer: Answer) -> str:
    document = answer.json or {}
    message = document.get("message") or document.get("msg") or answer.body[:200]
    code = document.get("code")
    where = f"HTTP {answer.status_code}" + (f" code {code}" if code is not None else "")
    return f"{where}: {message}" if message else where
