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

from services.followup import events
from services.followup.metrics import NotificationSuppressed
from services.followup.model import Caller, NotificationRecord
from services.followup.repository import FollowupRepository
from shared.contracts import Event, Recipient
from shared.logging import get_logger
from shared.observability import committed

log = get_logger(__name__)
TEMPLATES_PATH = Path(__file__).with_name("templates.toml")
Locale = Literal["zh", "en"]
#: How a stage reads in a staff message.
STAGE_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "acknowledge": "签收",
        "on_site": "到场",
        "resolve": "办结",
        "callback": "回访",
        "satisfaction": "满意度",
        "duty_manager": "值班经理到场",
        "corrective_action": "整改措施",
    },
    "en": {
        "acknowledge": "acknowledgement",
        "on_site": "on-site",
        "resolve": "resolution",
        "callback": "callback",
        "satisfaction": "satisfaction",
        "duty_manager": "duty manager",
        "corrective_action": "corrective action",
    },
}


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

    def parameters(self, template_id: str) -> frozenset[str]:
        text = self.texts[template_id]["zh"]
        return frozenset(f for _, f, _, _ in string.Formatter().parse(text) if f)

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

    def stage_params(
        self, *, reference_no: str, department: str, stage: str, deadline: datetime | None
    ) -> dict[str, str]:
        """Parameters of the staff messages about a clock (`sla_warning`, `escalation`)."""
        return {
            "reference_no": reference_no,
            "department": department,
            "stage": STAGE_LABELS[self.locale].get(stage, stage),
            "deadline": deadline.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M") if deadline else "-",
        }

    def caller_params(self, caller: Caller, template_id: str) -> dict[str, str]:
        """Parameters of a linked caller's messages: their reference, the cause in the message's language, the ETA
        in local time — only those the template uses."""
        cause = (caller.cause_en if self.locale == "en" and caller.cause_en else caller.cause) or ""
        eta = caller.eta.astimezone(self.timezone).strftime("%m-%d %H:%M") if caller.eta else "-"
        params = {"reference_no": caller.reference_no, "cause": cause, "eta": eta}
        used = self.templates.parameters(template_id)
        return {k: v for k, v in params.items() if k in used}

    async def request(
        self,
        repo: FollowupRepository,
        *,
        complaint_id: uuid.UUID,
        correlation_id: str,
        template_id: str,
        recipient: Recipient,
        params: dict[str, str],
        at: datetime,
    ) -> list[Event]:
        """The notification event, or nothing when this customer's number reached today's cap.

        Every request is recorded, sent or suppressed, in the caller's transaction."""
        key = phone_key(recipient.phone) if recipient.kind == "customer" and recipient.phone else None
        day = at.astimezone(self.timezone).date()
        suppressed = False
        if key is not None:
            suppressed = await repo.customer_messages_sent(key, day) >= self.daily_cap
        record = NotificationRecord(
            notification_id=uuid.uuid4(),
            complaint_id=complaint_id,
            template_id=template_id,
            recipient_kind=recipient.kind,
            phone_key=key,
            local_day=day,
            suppressed=suppressed,
            at=at,
        )
        await repo.add_notification(record)
        if suppressed:
            committed.note([NotificationSuppressed(template_id)])
            log.info("notification suppressed: daily cap reached", template_id=template_id, cap=self.daily_cap)
            return []
        text = self.templates.render(template_id, self.locale, params)
        return [
            events.notification_requested(
                record, correlation_id=correlation_id, locale=self.locale, recipient=recipient, params=params, text=text
            )
        ]
