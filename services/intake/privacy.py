"""PIPL requests on a customer's data (issue 25): who the request is about, what it does, and what is logged.

Pure values and rules: the subject is named by a phone or an account number (the keys a customer is found by,
`customers.py`); only a supervisor asks; every request is logged with who asked and why, the subject written masked
(the log must not become one more copy of the number).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.intake.customers import phone_hash
from shared.errors import Forbidden, Invalid
from shared.http.person import Person
from shared.privacy import mask_phone, mask_phones_in_text

#: Who may export, correct or erase a customer's data.
PRIVACY_ROLES = ("supervisor",)
#: The contact fields a correction may change (the same that are sealed: `events.contact_fields`).
CORRECTABLE = ("name", "phone", "email", "wechat_openid")

PrivacyAction = Literal["export", "correction", "erasure"]


@dataclass(frozen=True)
class Subject:
    """Whom a request is about: by phone (digits) or by account number."""

    phone: str | None = None
    account_no: str | None = None

    def lookup_key(self, secret: str) -> tuple[str, str]:
        """The `intake.customer_keys` key the customer is found by."""
        if self.phone:
            return "phone", phone_hash(self.phone, secret)
        return "account", (self.account_no or "").strip().upper()

    def masked(self) -> str:
        """The subject as the log writes it."""
        return f"phone {mask_phone(self.phone)}" if self.phone else f"account {self.account_no}"


def subject_of(phone: str | None, account_no: str | None) -> Subject:
    """Exactly one of phone and account number (422 naming them otherwise)."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if bool(digits) == bool(account_no):
        raise Invalid(
            "name the subject by exactly one of phone and account_no",
            errors=[{"field": "phone", "message": "exactly one of phone and account_no"}],
        )
    return Subject(phone=digits or None, account_no=account_no or None)


def authorize_privacy(caller: object) -> Person:
    """A signed-in supervisor; nobody else (channel keys included) reads or changes a person's data wholesale."""
    if not isinstance(caller, Person) or not caller.has(*PRIVACY_ROLES):
        raise Forbidden("only a signed-in supervisor handles requests on a person's data")
    return caller


@dataclass(frozen=True)
class ExportSubject:
    subject: Subject
    actor: str
    reason: str


@dataclass(frozen=True)
class EraseSubject:
    """Erase one customer: found by `subject` (a request), or named by `customer_id` (the retention sweep)."""

    actor: str
    reason: str
    subject: Subject | None = None
    customer_id: uuid.UUID | None = None
    kind: Literal["request", "retention"] = "request"


@dataclass(frozen=True)
class CorrectSubject:
    subject: Subject
    actor: str
    reason: str
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerMessage:
    """What the customer wrote on a case after the complaint (a reply the channels service took)."""

    message_id: uuid.UUID
    complaint_id: uuid.UUID
    channel: str
    kind: str
    score: int | None
    text: str
    received_at: datetime


@dataclass(frozen=True)
class SubjectCase:
    """One case of the customer as intake holds it: the submission (what they told us) and its dates."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    received_at: datetime
    accepted_at: datetime
    closed_at: datetime | None
    submission: dict[str, Any]
    #: The customer's messages on the case, oldest first.
    messages: tuple[CustomerMessage, ...] = ()


@dataclass(frozen=True)
class PrivacyLogEntry:
    action: PrivacyAction
    customer_id: uuid.UUID | None
    subject: str
    actor: str
    reason: str
    at: datetime
    complaint_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class PendingScrub:
    """An erased customer whose clear copies on the ingress topics are still to be taken out: the keys they were
    found by (the phone's keyed hash, the account number)."""

    customer_id: uuid.UUID
    phone_keys: tuple[str, ...]
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class SubjectExport:
    customer_id: uuid.UUID
    cases: tuple[SubjectCase, ...]


@dataclass(frozen=True)
class SubjectErasure:
    customer_id: uuid.UUID
    complaint_ids: tuple[uuid.UUID, ...]
    erased_at: datetime


def corrected(submission: dict[str, Any], fields: dict[str, str | None]) -> dict[str, Any]:
    """The submission with the customer's contact fields corrected (only the correctable ones)."""
    unknown = sorted(set(fields) - set(CORRECTABLE))
    if unknown or not fields:
        raise Invalid(
            f"a correction changes some of {', '.join(CORRECTABLE)}",
            errors=[{"field": name, "message": "not correctable"} for name in unknown or ["fields"]],
        )
    return {**submission, "customer": {**submission.get("customer", {}), **fields}}


#: Free text of a submission, where a caller may have written their number.
FREE_TEXT = ("text", "handled_on_contact")


def erased(submission: dict[str, Any]) -> dict[str, Any]:
    """The submission without the person: contact fields and account emptied, phone numbers in its free text masked
    (the case itself — what, where, when — stays)."""
    customer = {**submission.get("customer", {}), **dict.fromkeys((*CORRECTABLE, "account_no"))}
    texts = {k: mask_phones_in_text(v) for k in FREE_TEXT if isinstance(v := submission.get(k), str)}
    return {**submission, **texts, "customer": customer}
