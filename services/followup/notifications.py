"""Notification requests: a template id, parameters, the rendered text, the customer's every address and how
urgent the message is. Followup decides *what* to say and to whom; notify (`services/notify/`) delivers it,
holds routine messages through quiet hours and applies the per-customer daily cap (it moved there with issue
21: only the service that sends knows what was sent). Every request is recorded here (`notifications`), so a
failed delivery can be turned into an agent's task with the text the customer should have read."""

from __future__ import annotations

import string
import tomllib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, NotRequired, TypedDict, Unpack
from zoneinfo import ZoneInfo

from services.followup import events
from services.followup.metrics import MESSAGES_PAST_HORIZON
from services.followup.model import Caller, Contact, NotificationRecord
from services.followup.repository import FollowupRepository
from shared.contracts import Event, Recipient
from shared.handling import cause_at
from shared.logging import get_logger
from shared.subject_keys import NO_KEYS, KeyRing, sealed_recipient

log = get_logger(__name__)

TEMPLATES_PATH = Path(__file__).with_name("templates.toml")
Locale = Literal["zh", "en"]
Urgency = Literal["routine", "urgent"]
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
#: Customer messages that never wait for the morning: an outage's cause and ETA, a new ETA, "fixed".
URGENT_TEMPLATES = frozenset({"group_joined", "group_joined_no_eta", "eta_changed", "fault_fixed"})
#: Every message about a case of this severity is urgent (danger to life or property).
URGENT_SEVERITY = "emergency"


def urgency(template_id: str, recipient: Recipient, severity: str | None = None) -> Urgency:
    """Staff messages (a duty manager called, an escalation) and the outage messages go at once, and so does
    anything about an emergency; the rest is routine (notify may hold it through quiet hours)."""
    if recipient.kind == "staff" or template_id in URGENT_TEMPLATES or severity == URGENT_SEVERITY:
        return "urgent"
    return "routine"


def customer_recipient(contact: Contact | None) -> Recipient | None:
    """The customer with every address they gave and how they prefer to be reached; None when there is no way
    to reach them by message (no phone, email or WeChat id yet)."""
    if contact is None or not (contact.phone or contact.email or contact.wechat_openid):
        return None
    preferred = contact.preferred_contact if contact.preferred_contact in ("phone", "sms", "email", "wechat") else None
    return Recipient(
        kind="customer",
        phone=contact.phone,
        email=contact.email,
        wechat_openid=contact.wechat_openid,
        preferred_contact=preferred,  # type: ignore[arg-type]
        customer_id=contact.customer_id,
    )


#: How a department and a rung of the ladder read in a staff message (the events keep the codes).
DEPARTMENT_LABELS: dict[str, dict[str, str]] = {
    "zh": {"repair": "维修部门", "billing": "营业收费部门", "customer_service": "客户服务中心"},
    "en": {"repair": "repair", "billing": "billing", "customer_service": "customer service"},
}
ROLE_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "supervisor": "主管",
        "duty_manager": "值班经理",
        "department_manager": "部门经理",
        "project_manager": "项目经理",
        "general_manager": "总经理",
        "leadership": "公司领导",
    },
    "en": {
        "supervisor": "the supervisor",
        "duty_manager": "the duty manager",
        "department_manager": "the department manager",
        "project_manager": "the project manager",
        "general_manager": "the general manager",
        "leadership": "leadership",
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


class Message(TypedDict):
    """What a message request names (`Notifier.request` and `Notifier.prepare` take the same)."""

    complaint_id: uuid.UUID
    correlation_id: str
    template_id: str
    recipient: Recipient
    params: dict[str, str]
    at: datetime
    #: The case's severity, when followup knows it (an emergency is urgent).
    severity: NotRequired[str | None]
    #: The case's reference number, when the template's parameters do not carry it.
    reference_no: NotRequired[str | None]


@dataclass(frozen=True)
class Requested:
    """A message requested: its audit row and its `notification.requested` event."""

    record: NotificationRecord
    event: Event


@dataclass(frozen=True)
class Notifier:
    templates: Templates
    locale: Locale
    timezone: ZoneInfo
    #: Customers' keys: a customer's addresses leave followup sealed with theirs (`notification.requested` v4).
    keys: KeyRing = NO_KEYS
    #: A customer is not written to about an event older than this (`FOLLOWUP_CUSTOMER_MESSAGE_HORIZON_HOURS`): a
    #: new consumer group reads the topics' kept history, and last month's complaints must not text anyone now.
    customer_horizon: timedelta | None = None

    def local(self, at: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return at.astimezone(self.timezone).strftime(fmt)

    def stage_params(
        self, *, reference_no: str, department: str, stage: str, deadline: datetime | None
    ) -> dict[str, str]:
        """Parameters of the staff messages about a clock (`sla_warning`, `escalation`)."""
        return {
            "reference_no": reference_no,
            "department": self.department_label(department),
            "stage": STAGE_LABELS[self.locale].get(stage, stage),
            "deadline": self.local(deadline) if deadline else "-",
        }

    def department_label(self, department: str) -> str:
        return DEPARTMENT_LABELS[self.locale].get(department, department)

    def role_label(self, role: str) -> str:
        """A rung of the ladder (`department_manager`) as the message's reader says it."""
        return ROLE_LABELS[self.locale].get(role, role)

    def caller_params(self, caller: Caller, template_id: str) -> dict[str, str]:
        """Parameters of a linked caller's messages: their reference, the cause in the message's language, the ETA
        in local time — only those the template uses."""
        cause = (caller.cause_en if self.locale == "en" and caller.cause_en else caller.cause) or ""
        eta = self.local(caller.eta, "%m-%d %H:%M") if caller.eta else "-"
        params = {"reference_no": caller.reference_no, "cause": cause, "eta": eta}
        used = self.templates.parameters(template_id)
        return {k: v for k, v in params.items() if k in used}

    def window(self, start: datetime, end: datetime) -> str:
        """A visit window in local time: `11-25 14:00-16:00`, or both ends dated when it spans midnight."""
        if start.astimezone(self.timezone).date() == end.astimezone(self.timezone).date():
            return f"{self.local(start, '%m-%d %H:%M')}-{self.local(end, '%H:%M')}"
        return f"{self.local(start, '%m-%d %H:%M')} - {self.local(end, '%m-%d %H:%M')}"

    def _past_horizon(self, template_id: str, complaint_id: uuid.UUID, at: datetime) -> bool:
        """The event being handled (`shared.handling.cause_at`) happened longer ago than the horizon."""
        cause = cause_at()
        if self.customer_horizon is None or cause is None or at - cause <= self.customer_horizon:
            return False
        log.info("customer message past its horizon not sent", template_id=template_id, complaint_id=str(complaint_id))
        MESSAGES_PAST_HORIZON.labels(template_id).inc()
        return True

    async def request(self, repo: FollowupRepository, **message: Unpack[Message]) -> list[Event]:
        """The notification event, recorded in the caller's transaction (notify decides whether and when it goes:
        quiet hours, the daily cap). `severity`: the case's, when followup knows it (an emergency is urgent). Nothing
        for an erased customer (their key is gone: there is nobody to write to)."""
        requested = await self.prepare(**message)
        if requested is None:
            return []
        await repo.add_notifications([requested.record])
        return [requested.event]

    async def prepare(self, **message: Unpack[Message]) -> Requested | None:
        """`request` without the write, for a caller that records a batch's messages in one statement
        (`repo.add_notifications`) and emits their events."""
        complaint_id, template_id, recipient = message["complaint_id"], message["template_id"], message["recipient"]
        params, at, correlation_id = message["params"], message["at"], message["correlation_id"]
        if recipient.kind == "customer" and self._past_horizon(template_id, complaint_id, at):
            return None
        sealed = await sealed_recipient(recipient, self.keys)
        if sealed is None:
            return None
        text = self.templates.render(template_id, self.locale, params)
        record = NotificationRecord(
            notification_id=uuid.uuid4(),
            complaint_id=complaint_id,
            template_id=template_id,
            recipient_kind=recipient.kind,
            urgency=urgency(template_id, recipient, message.get("severity")),
            reference_no=message.get("reference_no") or params.get("reference_no"),
            correlation_id=correlation_id,
            text=text,
            at=at,
        )
        event = events.notification_requested(
            record, correlation_id=correlation_id, locale=self.locale, recipient=sealed, params=params, text=text
        )
        return Requested(record, event)
