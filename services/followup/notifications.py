"""Notification requests: a template id, parameters, the rendered text — and a per-phone daily cap so
no customer is flooded (staff notifications are not capped)."""

from __future__ import annotations

import hashlib
import string
import tomllib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import asyncpg

from shared.contracts import Event, NotificationRequested, NotificationRequestedPayload, Recipient, new_event
from shared.logging import get_logger

log = get_logger(__name__)
TEMPLATES_PATH = Path(__file__).with_name("templates.toml")
Locale = Literal["zh", "en"]


class Templates:
    def __init__(self, path: Path = TEMPLATES_PATH) -> None:
        with path.open("rb") as handle:
            self.texts: dict[str, dict[str, str]] = tomllib.load(handle)
        for template_id, texts in self.texts.items():
            if set(texts) != {"zh", "en"}:
                raise ValueError(f"template {template_id!r} needs exactly a zh and an en text")
            fields = {frozenset(f for _, f, _, _ in string.Formatter().parse(t) if f) for t in texts.values()}
            if len(fields) != 1:
                raise ValueError(f"template {template_id!r}: zh and en use different parameters")

    def render(self, template_id: str, locale: Locale, params: dict[str, str]) -> str:
        return self.texts[template_id][locale].format(**params)


def phone_key(phone: str) -> str:
    """The cap counts per number without storing the number itself."""
    return hashlib.sha256(phone.encode()).hexdigest()


@dataclass(frozen=True)
class Notifier:
    templates: Templates
    locale: Locale
    daily_cap: int
    timezone: ZoneInfo

    async def request(
        self,
        conn: asyncpg.Connection,
        *,
        complaint_id: uuid.UUID,
        correlation_id: str,
        template_id: str,
        recipient: Recipient,
        params: dict[str, str],
        at: datetime,
    ) -> list[Event]:
        """The notification event, or nothing when this customer's number reached today's cap."""
        key = phone_key(recipient.phone) if recipient.kind == "customer" and recipient.phone else None
        day = at.astimezone(self.timezone).date()
        suppressed = False
        if key is not None:
            # Serialise per number so two processes cannot both take the last slot of the day.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('followup-notify:' || $1))", key)
            sent = await conn.fetchval(
                "SELECT count(*) FROM followup.notifications "
                "WHERE phone_key = $1 AND local_day = $2 AND NOT suppressed",
                key,
                day,
            )
            suppressed = sent >= self.daily_cap
        notification_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO followup.notifications (notification_id, complaint_id, template_id, recipient_kind, "
            "phone_key, local_day, suppressed, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            notification_id,
            complaint_id,
            template_id,
            recipient.kind,
            key,
            day,
            suppressed,
            at,
        )
        if suppressed:
            log.info("notification suppressed: daily cap reached", template_id=template_id, cap=self.daily_cap)
            return []
        return [
            new_event(
                NotificationRequested,
                complaint_id=complaint_id,
                producer="followup",
                correlation_id=correlation_id,
                occurred_at=at,
                payload=NotificationRequestedPayload(
                    notification_id=notification_id,
                    complaint_id=complaint_id,
                    template_id=template_id,
                    locale=self.locale,
                    recipient=recipient,
                    params=params,
                    text=self.templates.render(template_id, self.locale, params),
                    requested_at=at,
                ),
            )
        ]
