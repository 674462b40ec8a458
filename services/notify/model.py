"""Notify's rules, pure: which channels a message tries and in what order, when quiet hours hold it, when the
daily cap (or the ceiling per number) suppresses it, how long to wait before a retry, and what each provider
answer does to a delivery.

No I/O and no clock of its own: `handlers.py` and `sending.py` pass the time in and apply what comes back.

A delivery's life (one per `notification_id`)::

    queued ──send accepted──▶ sent ──receipt delivered──▶ delivered
      │  ▲                     │
      │  └──next channel◀──────┴── permanent error / attempts used up / receipt failed
      │                                   │ (no channel left)
      ├──accepted as delivered──▶ delivered          ▼
      └──(on arrival) daily cap──▶ suppressed      failed
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from shared.contracts.followup import Recipient
from shared.contracts.notify import DeliveryChannel, DeliveryStatus
from shared.privacy import mask_phone

Urgency = Literal["routine", "urgent"]
#: Channels a routine customer message waits on during quiet hours (a phone buzzes); email does not wake anyone.
HELD_CHANNELS: frozenset[str] = frozenset({"sms", "wechat"})
_PREFERRED: dict[str, DeliveryChannel] = {"phone": "sms", "sms": "sms", "email": "email", "wechat": "wechat"}


@dataclass(frozen=True)
class Candidate:
    """One way to reach the recipient: a channel, the address there, the provider that sends on it."""

    channel: DeliveryChannel
    address: str
    provider: str


class StaffContact(Protocol):
    """What notify needs of a resolved staff member (`directory.StaffAddress` has it)."""

    @property
    def staff_id(self) -> str: ...

    @property
    def phone(self) -> str | None: ...

    @property
    def email(self) -> str | None: ...


def customer_plan(recipient: Recipient, providers: Mapping[str, str]) -> list[Candidate]:
    """The customer's preferred channel, then SMS, then email — skipping those without an address or without a
    configured provider (`providers`: channel → provider name)."""
    addresses: dict[str, str | None] = {
        "sms": recipient.phone,
        "email": recipient.email,
        "wechat": recipient.wechat_openid,
    }
    preferred = _PREFERRED.get(recipient.preferred_contact or "")
    order: list[DeliveryChannel] = []
    for channel in (preferred, "sms", "email"):
        if channel is not None and channel not in order:
            order.append(channel)
    return [
        Candidate(channel, address, providers[channel])
        for channel in order
        if (address := (addresses.get(channel) or "").strip()) and channel in providers
    ]


def role_address(role: str | None, department: str | None) -> str | None:
    """The console inbox's address of a role nobody could be resolved to: whoever holds it (there) sees it."""
    return f"role:{role}:{department or ''}" if role else None


def role_addresses(roles: Sequence[str], department: str | None) -> list[str]:
    """The role addresses a signed-in person reads: each of their roles, in their department and in none."""
    found = [f"role:{r}:" for r in roles]
    if department:
        found += [f"role:{r}:{department}" for r in roles]
    return sorted(found)


def _staff_addresses(person: StaffContact) -> tuple[tuple[DeliveryChannel, str | None], ...]:
    """A staff member's channels outside the console, in the order they are tried."""
    return (("sms", person.phone), ("email", person.email))


def staff_plan(
    person: StaffContact | None, providers: Mapping[str, str], *, unresolved: str | None = None
) -> list[Candidate]:
    """A staff member's phone (SMS), email, and always finally the console inbox. Nobody resolved: the console
    inbox by role (`unresolved`, see `role_address`), or nothing when there is not even a role."""
    if person is None:
        return [Candidate("console", unresolved, providers.get("console", "console"))] if unresolved else []
    plan = [
        Candidate(channel, address, providers[channel])
        for channel, address in _staff_addresses(person)
        if address and channel in providers
    ]
    return [*plan, Candidate("console", person.staff_id, providers.get("console", "console"))]


@dataclass(frozen=True)
class QuietHours:
    """A local time window, possibly across midnight (21:00-08:00), when routine customer SMS and WeChat wait."""

    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz: str | ZoneInfo) -> QuietHours | None:
        """`HH:MM-HH:MM`, or empty for none."""
        text = text.strip()
        if not text:
            return None
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
        if not match:
            raise ValueError(f"quiet hours must look like 21:00-08:00, not {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
            raise ValueError(f"quiet hours {text!r}: two different times of day")
        return cls(time(h1, m1), time(h2, m2), tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, at: datetime) -> datetime:
        """The first end of the window after `at` (today's or tomorrow's, local time)."""
        local = at.astimezone(self.tz)
        end = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.tz)
        return end


def hold_until(quiet: QuietHours | None, channel: str, *, kind: str, urgency: Urgency, at: datetime) -> datetime | None:
    """When a message may go on `channel`, if quiet hours hold it now: routine customer SMS and WeChat only."""
    if quiet is None or kind != "customer" or urgency != "routine" or channel not in HELD_CHANNELS:
        return None
    return quiet.end_after(at) if quiet.contains(at) else None


def backoff_seconds(attempt: int, *, base: float, cap: float, draw: float) -> float:
    """Exponential backoff with full jitter: uniformly in [0, min(cap, base·2^(attempt-1))), `draw` in [0, 1).

    Full jitter spreads the retries of a burst (a gateway back after 30 s) instead of returning them together."""
    ceiling: float = min(cap, base * 2 ** max(0, attempt - 1))
    return max(0.0, min(draw, 1.0)) * ceiling


def cap_key(recipient: Recipient) -> str | None:
    """Who the daily cap counts for, without storing who: a hash of the customer's number (else email, else
    openid). None for staff (never capped)."""
    if recipient.kind != "customer":
        return None
    if recipient.phone:
        identity = "phone:" + re.sub(r"\D", "", recipient.phone).removeprefix("0086").removeprefix("86")
    elif recipient.email:
        identity = "email:" + recipient.email.strip().lower()
    elif recipient.wechat_openid:
        identity = "wechat:" + recipient.wechat_openid
    else:
        return None
    return hashlib.sha256(identity.encode()).hexdigest()


def capped(sent_today: int, cap: int, urgency: Urgency) -> bool:
    """Over the cap: suppressed, unless urgent (an emergency, an outage ETA, "fixed" always go, and count)."""
    return urgency != "urgent" and sent_today >= cap


def mask_address(channel: str | None, address: str | None) -> str | None:
    """What staff screens and the API show of an address: 138******78, z***@example.com, oAbC***."""
    if not address:
        return None
    if channel == "sms":
        return mask_phone(address)
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if channel == "wechat":
        return f"{address[:4]}***"
    return address  # the console: a staff id is no personal data


@dataclass(frozen=True)
class Delivery:
    """One message and what became of it. `plan` is every way to reach the recipient, `step` the one in use."""

    notification_id: uuid.UUID
    complaint_id: uuid.UUID
    correlation_id: str
    template_id: str
    locale: Literal["zh", "en"]
    recipient_kind: Literal["customer", "staff"]
    urgency: Urgency
    params: Mapping[str, str]
    text: str
    requested_at: datetime
    plan: Sequence[Candidate]
    status: DeliveryStatus = "queued"
    step: int = 0
    reason: str | None = None
    reference_no: str | None = None
    staff_id: str | None = None
    attempts: int = 0
    channel_attempts: int = 0
    channels_tried: Sequence[DeliveryChannel] = field(default_factory=tuple)
    provider_message_id: str | None = None
    due_at: datetime | None = None
    in_doubt: bool = False
    attempt_started_at: datetime | None = None
    cap_key: str | None = None
    local_day: date | None = None
    updated_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None

    @property
    def current(self) -> Candidate | None:
        return self.plan[self.step] if self.step < len(self.plan) else None

    @property
    def shown(self) -> Candidate | None:
        """The candidate a delivery shows: the one in use, the last one tried once failed, none when suppressed."""
        if self.status == "suppressed" or not self.plan:
            return None
        return self.current or self.plan[min(self.step, len(self.plan)) - 1]

    @property
    def channel(self) -> DeliveryChannel | None:
        return self.current.channel if self.current else None

    @property
    def provider(self) -> str | None:
        return self.current.provider if self.current else None

    @property
    def address(self) -> str | None:
        return self.current.address if self.current else None


@dataclass(frozen=True)
class Rules:
    """The delivery rules of a deployment (from the settings)."""

    daily_cap: int = 3
    #: Messages to one customer's number per local day that nothing passes, not even an urgent one: whatever path
    #: asks for messages (an invalid complaint texts the number it names), the number gets at most this many.
    number_limit: int = 10
    quiet: QuietHours | None = None
    retry_base_s: float = 2.0
    retry_max_s: float = 300.0
    max_attempts: int = 6

    def hold(self, delivery: Delivery, channel: str, at: datetime) -> datetime | None:
        return hold_until(self.quiet, channel, kind=delivery.recipient_kind, urgency=delivery.urgency, at=at)


def arrive(delivery: Delivery, rules: Rules, *, sent_today: int, at: datetime) -> Delivery:
    """A new request: suppressed by the cap, failed when no channel reaches the recipient, else queued — now,
    or at the end of quiet hours."""
    if delivery.cap_key is not None and sent_today >= rules.number_limit:
        return replace(delivery, status="suppressed", reason="number_limit", updated_at=at)
    if delivery.cap_key is not None and capped(sent_today, rules.daily_cap, delivery.urgency):
        return replace(delivery, status="suppressed", reason="daily_cap", updated_at=at)
    if not delivery.plan:
        reason = "no_staff_member" if delivery.recipient_kind == "staff" else "no_address"
        return replace(delivery, status="failed", reason=reason, updated_at=at)
    first = delivery.plan[0]
    held = rules.hold(delivery, first.channel, at)
    return replace(
        delivery,
        status="queued",
        reason="quiet_hours" if held else None,
        due_at=held or at,
        updated_at=at,
    )


def accepted(delivery: Delivery, provider_message_id: str | None, *, delivered: bool, at: datetime) -> Delivery:
    """The provider took the message: sent (a receipt may follow), or delivered when acceptance is delivery."""
    return replace(
        delivery,
        status="delivered" if delivered else "sent",
        reason=None,
        provider_message_id=provider_message_id,
        in_doubt=False,
        due_at=None,
        delivered_at=at if delivered else None,
        updated_at=at,
    )


def retry_later(delivery: Delivery, rules: Rules, *, reason: str, draw: float, at: datetime) -> Delivery:
    """A transient error: the same channel again after a backoff, or the next channel once its attempts are
    used up."""
    if delivery.channel_attempts >= rules.max_attempts:
        return next_channel(delivery, rules, reason=reason, at=at)
    wait = backoff_seconds(delivery.channel_attempts, base=rules.retry_base_s, cap=rules.retry_max_s, draw=draw)
    return replace(delivery, reason=reason, in_doubt=False, due_at=at + timedelta(seconds=wait), updated_at=at)


def next_channel(delivery: Delivery, rules: Rules, *, reason: str, at: datetime) -> Delivery:
    """This channel cannot deliver (permanent error, attempts used up, a failed receipt): the next one in the
    plan, held by quiet hours if it must be; failed when none is left."""
    tried = (*delivery.channels_tried, delivery.channel) if delivery.channel else tuple(delivery.channels_tried)
    step = delivery.step + 1
    base = replace(
        delivery,
        step=step,
        channels_tried=tried,
        channel_attempts=0,
        provider_message_id=None,
        in_doubt=False,
        reason=reason,
        updated_at=at,
    )
    if step >= len(delivery.plan):
        return replace(base, status="failed", due_at=None)
    held = rules.hold(delivery, delivery.plan[step].channel, at)
    return replace(base, status="queued", due_at=held or at)


#: How a provider's `find_sent` names a message the vendor's records show under our id (the notification id) but
#: without the vendor's own id — Aliyun's QuerySendDetails rows carry `OutId` and no `BizId`: `OutId:<id>`. It is
#: no vendor id, so no report is told stale by it, and the report's vendor id takes its place.
FOUND_BY_OUR_ID = "OutId:"


def vendor_message_id(delivery: Delivery) -> str | None:
    """The vendor's id of the message out, when the vendor gave one (not the stand-in `find_sent` left)."""
    known = delivery.provider_message_id
    return None if known is None or known.startswith(FOUND_BY_OUR_ID) else known


def receipt_applies(delivery: Delivery, provider: str, provider_message_id: str | None) -> bool:
    """A status report concerns the delivery's current attempt: same provider, same vendor message id when the
    report and the delivery both know one, and the message is out (sent, or an attempt in doubt). A late or
    repeated report of a channel left behind changes nothing. A message found after a crash by our id alone
    (`FOUND_BY_OUR_ID`) takes the report that names it."""
    if delivery.provider != provider:
        return False
    known = vendor_message_id(delivery)
    if provider_message_id and known and provider_message_id != known:
        return False
    return delivery.status == "sent" or (delivery.status == "queued" and delivery.in_doubt)
