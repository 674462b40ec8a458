"""A customer is more than an account: the keys a complaint is matched to a customer (household) by.

Most 12345 tickets carry no account number, only a phone and an address, so an account alone cannot say that
this caller complained last week. Intake keeps every key it has seen for a customer (`intake.customer_keys`,
migrations/003) and matches a new complaint by account, else phone, else normalised address — in that order,
the most certain first. The complaint's other keys are then learnt for that customer, so the next complaint is
found by whichever of them it carries. Each key belongs to the first customer seen with it (a shared phone
stays with the customer it first named).

One guard: a complaint that names an account is never put with a customer who has another account (two
accounts are two households, whatever phone or address they share); it starts a new customer, or joins the
account's own.

What is stored: the account as written (it is on the public topic anyway), the phone only as a keyed HMAC
(`phone_hash`: the key is a setting, so the table alone gives no number back), and the address as the key
`shared.addresses.dwelling_key` makes of it — and only an address down to the room (a compound or a street
number alone is many households).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field

from shared.addresses import dwelling_key
from shared.contracts.complaint import CustomerMatch
from shared.shredding import new_key

#: Ranks of the kinds of key, most certain first: the match takes the best-ranked key found.
RANKS: dict[str, int] = {"account": 1, "phone": 2, "address": 3}


@dataclass(frozen=True)
class CustomerKeys:
    """A complaint's keys, each `(kind, key)`, best-ranked first; `new_customer_id` is the customer they start
    when none of them is known yet, `new_subject_key` the sealing key the customer gets when they have none yet
    (issue 25: `intake.subject_keys`)."""

    keys: tuple[tuple[str, str], ...]
    new_customer_id: uuid.UUID
    new_subject_key: bytes = field(default=b"", compare=False, repr=False)

    @property
    def has_account(self) -> bool:
        return any(kind == "account" for kind, _ in self.keys)


@dataclass(frozen=True)
class MatchedCustomer:
    """The customer a complaint was matched to, and by which key ("new": none was known); `subject_key` seals
    their contact fields (None only where no key could be had: the contact then leaves intake without them)."""

    customer_id: uuid.UUID
    matched_by: CustomerMatch
    subject_key: bytes | None = field(default=None, compare=False, repr=False)


def phone_hash(phone: str, secret: str) -> str:
    """A keyed hash of the phone (digits only, as intake stores them), comparable without keeping the number."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return hmac.new(secret.encode(), digits.encode(), hashlib.sha256).hexdigest()


def customer_keys(
    *, account_no: str | None, phone: str | None, address: str, district: str, secret: str
) -> CustomerKeys:
    """The keys of one complaint's customer (none may be there: a complaint without any starts a customer)."""
    keys: list[tuple[str, str]] = []
    if account_no:
        keys.append(("account", account_no.strip().upper()))
    if phone:
        keys.append(("phone", phone_hash(phone, secret)))
    dwelling = dwelling_key(address, district)
    if dwelling:
        keys.append(("address", dwelling))
    return CustomerKeys(tuple(keys), uuid.uuid4(), new_key())
