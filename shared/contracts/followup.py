"""Contracts of followup: SLA warnings and escalations, callbacks, closing, notification requests."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.dispatch import Department
from shared.contracts.envelope import Contract, Event

Stage = Literal["acknowledge", "on_site", "resolve", "callback", "satisfaction"]


class SlaWarningPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    department: Department
    stage: Stage
    deadline: AwareDatetime
    warned_at: AwareDatetime
    share: float = Field(description="Share of the limit used when the warning went out, e.g. 0.8.")


class SlaWarning(Event):
    """A limit is close to running out (a configurable share of it has passed)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["complaint.sla_warning"] = "complaint.sla_warning"
    schema_version: Literal[1] = 1
    payload: SlaWarningPayload


class ComplaintEscalatedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None
    department: Department
    stage: Stage
    level: int = Field(ge=1, description="1 = first rung of the ladder.")
    escalated_to: str = Field(description="supervisor, department_manager or general_manager.")
    deadline: AwareDatetime | None
    reason: str
    escalated_at: AwareDatetime


class ComplaintEscalated(Event):
    """A limit was breached (or the customer was dissatisfied twice): one rung up the ladder."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["complaint.escalated"] = "complaint.escalated"
    schema_version: Literal[1] = 1
    payload: ComplaintEscalatedPayload


CallbackOutcome = Literal["satisfied", "dissatisfied", "unreachable"]


class CallbackFacts(Contract):
    callback_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    department: Department
    cycle: int
    due_at: AwareDatetime
    at: AwareDatetime


class CallbackScheduled(Event):
    """A resolved work order: the customer is to be called back by `due_at`."""

    TOPIC: ClassVar[str] = topics.CALLBACK_EVENTS
    event_type: Literal["callback.scheduled"] = "callback.scheduled"
    schema_version: Literal[1] = 1
    payload: CallbackFacts


class CallbackAttemptPayload(CallbackFacts):
    outcome: CallbackOutcome
    attempt: int = Field(ge=1)
    agent: str
    final: bool = Field(description="No further attempt will be made.")


class CallbackAttempted(Event):
    """An agent called the customer and recorded the outcome."""

    TOPIC: ClassVar[str] = topics.CALLBACK_EVENTS
    event_type: Literal["callback.attempted"] = "callback.attempted"
    schema_version: Literal[1] = 1
    payload: CallbackAttemptPayload


class ComplaintClosedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    outcome: Literal["satisfied", "unreachable"]
    cycles: int
    closed_at: AwareDatetime


class ComplaintClosed(Event):
    TOPIC: ClassVar[str] = topics.COMPLAINT_CLOSED
    event_type: Literal["complaint.closed"] = "complaint.closed"
    schema_version: Literal[1] = 1
    payload: ComplaintClosedPayload


class Recipient(Contract):
    kind: Literal["customer", "staff"]
    #: Customers: the real number, for the SMS gateway only (restricted topic, like complaint.contact).
    phone: str | None = None
    role: str | None = Field(default=None, description="Staff: supervisor, department_manager, general_manager.")
    department: Department | None = None


class NotificationRequestedPayload(Contract):
    notification_id: uuid.UUID
    complaint_id: uuid.UUID
    template_id: str
    locale: Literal["zh", "en"]
    recipient: Recipient
    params: dict[str, str]
    text: str = Field(description="The template rendered with its parameters, in `locale`.")
    requested_at: AwareDatetime


class NotificationRequested(Event):
    """Ask the notification gateway (SMS, WeChat, staff app) to send a message. Restricted topic."""

    TOPIC: ClassVar[str] = topics.NOTIFICATION_REQUESTED
    event_type: Literal["notification.requested"] = "notification.requested"
    schema_version: Literal[1] = 1
    payload: NotificationRequestedPayload


AnyEscalationEvent = Annotated[SlaWarning | ComplaintEscalated, Field(discriminator="event_type")]
AnyCallbackEvent = Annotated[CallbackScheduled | CallbackAttempted, Field(discriminator="event_type")]
