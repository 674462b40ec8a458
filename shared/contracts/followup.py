"""Contracts of followup: SLA warnings and escalations, callbacks, closing, notification requests."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.complaint import SealedContact
from shared.contracts.dispatch import Department
from shared.contracts.envelope import Contract, Event

#: v2 adds the duty manager's acknowledgement (counter complaints not settled, agitated customers) and the
#: corrective actions of serious cases.
Stage = Literal["acknowledge", "on_site", "resolve", "callback", "satisfaction", "duty_manager", "corrective_action"]


class SlaWarningPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    department: Department
    stage: Stage
    deadline: AwareDatetime
    warned_at: AwareDatetime
    share: float = Field(description="Share of the limit used when the warning went out, e.g. 0.8.")
    corrective_action_id: uuid.UUID | None = Field(default=None, description="v2: stage corrective_action.")


class SlaWarning(Event):
    """A limit is close to running out (a configurable share of it has passed). v2: more stages."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["complaint.sla_warning"] = "complaint.sla_warning"
    schema_version: Literal[1, 2] = 2
    payload: SlaWarningPayload


class ComplaintEscalatedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None
    department: Department
    stage: Stage
    level: int = Field(ge=1, description="1 = first rung of the ladder.")
    escalated_to: str = Field(
        description="A role of the ladder that applied (SLA policy): supervisor, duty_manager, department_manager, "
        "project_manager, general_manager, leadership."
    )
    deadline: AwareDatetime | None
    reason: str
    escalated_at: AwareDatetime
    ladder: str | None = Field(default=None, description="v2: the policy's ladder that was climbed.")
    corrective_action_id: uuid.UUID | None = Field(default=None, description="v2: stage corrective_action.")


class ComplaintEscalated(Event):
    """A limit was breached (or the customer stayed dissatisfied): one rung up the ladder. v2: more stages,
    the ladder named."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["complaint.escalated"] = "complaint.escalated"
    schema_version: Literal[1, 2] = 2
    payload: ComplaintEscalatedPayload


CallbackOutcome = Literal["satisfied", "dissatisfied", "unreachable"]


class CallbackFacts(Contract):
    callback_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID = Field(
        description="The work order resolved; v2: for a complaint settled at first contact, its resolution_id."
    )
    department: Department
    cycle: int
    due_at: AwareDatetime
    at: AwareDatetime
    owner: str | None = Field(default=None, description="v2: staff id the call is for: the case's owner.")


class CallbackScheduled(Event):
    """A resolved work order (or a complaint settled at first contact): the customer is to be called back by
    `due_at`. v2: the owner the call is for."""

    TOPIC: ClassVar[str] = topics.CALLBACK_EVENTS
    event_type: Literal["callback.scheduled"] = "callback.scheduled"
    schema_version: Literal[1, 2] = 2
    payload: CallbackFacts


Score = Annotated[int, Field(ge=1, le=5)]


class SurveyScores(Contract):
    """The satisfaction survey's 1-5 marks (5 best); each optional, billing only when billing was involved."""

    supply: Score | None = Field(default=None, description="Quality of heating or supply.")
    attitude: Score | None = Field(default=None, description="Staff attitude.")
    speed: Score | None = Field(default=None, description="Speed of repair or handling.")
    billing: Score | None = Field(default=None, description="Billing, when billing was involved.")


#: How the customer was contacted for a callback (the utilities' rule: by phone, by letter, or by a visit); v4: or
#: the customer answered our message themselves, by SMS, email or WeChat (`complaint.customer_replied`: "还是不热"
#: after the resolution is a dissatisfied callback by SMS).
CallbackMethod = Literal["phone", "letter", "visit", "sms", "email", "wechat"]


class CallbackAttemptPayload(CallbackFacts):
    outcome: CallbackOutcome
    attempt: int = Field(ge=1)
    agent: str = Field(
        description="Who made the call: a signed-in person's staff id (v3, with agent_name), else the name of the "
        "credential used."
    )
    final: bool = Field(description="No further attempt will be made.")
    scores: SurveyScores | None = Field(default=None, description="v2: the survey, when the customer answered it.")
    method: CallbackMethod | None = Field(
        default=None,
        description="v3: how the customer was contacted: phone, letter or visit (null before v3); v4: or sms, email or "
        "wechat: the customer's own reply to our message.",
    )
    agent_name: str | None = Field(
        default=None, description="v3: the display name of the signed-in person who made it (null for a credential)."
    )


class CallbackAttempted(Event):
    """An agent called the customer and recorded the outcome. v2: the survey's scores. v3: the method (phone,
    letter, visit) and, when a signed-in person recorded it, `agent` is their staff id and `agent_name` their
    display name. v4: methods `sms`, `email`, `wechat`: the customer's own reply to our message (agent `customer`)."""

    TOPIC: ClassVar[str] = topics.CALLBACK_EVENTS
    event_type: Literal["callback.attempted"] = "callback.attempted"
    schema_version: Literal[1, 2, 3, 4] = 4
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
    """Who a message is for. v3: a customer's every address and their preferred channel (notify picks the channel:
    preferred → SMS → email); staff by role and department are resolved to the person on duty by notify."""

    kind: Literal["customer", "staff"]
    #: Customers: the real number, for the SMS gateway only (restricted topic, like complaint.contact).
    phone: str | None = None
    role: str | None = Field(default=None, description="Staff: a role of an escalation ladder, e.g. supervisor.")
    staff_id: str | None = Field(default=None, description="Staff: the person, when it is one (a case's owner).")
    department: Department | None = None
    email: str | None = Field(default=None, description="v3, customers: an email address they gave.")
    wechat_openid: str | None = Field(default=None, description="v3, customers: their openid at our official account.")
    preferred_contact: Literal["phone", "sms", "email", "wechat"] | None = Field(
        default=None, description="v3, customers: how they asked to be reached (phone and sms both mean SMS)."
    )
    customer_id: uuid.UUID | None = Field(default=None, description="v4, customers: whose key seals `sealed`.")
    sealed: SealedContact | None = Field(
        default=None,
        description="v4, customers: phone, email and WeChat openid sealed with the customer's key (crypto-shredding: "
        "an erased customer's requests no longer open); the clear fields are then null.",
    )


class NotificationRequestedPayload(Contract):
    notification_id: uuid.UUID
    complaint_id: uuid.UUID
    template_id: str
    locale: Literal["zh", "en"]
    recipient: Recipient
    params: dict[str, str]
    text: str = Field(description="The template rendered with its parameters, in `locale`.")
    requested_at: AwareDatetime
    urgency: Literal["routine", "urgent"] = Field(
        default="routine",
        description="v3: urgent messages (emergencies, outage ETAs, fixed, staff calls) are not held by quiet hours.",
    )
    reference_no: str | None = Field(default=None, description="v3: the case's reference number, when there is one.")


class NotificationRequested(Event):
    """Ask notify to deliver a message (SMS, WeChat, email, the console inbox). Restricted topic.
    v2: a staff recipient may be one person (`staff_id`). v3: a customer's email, WeChat id and preferred channel;
    the message's urgency (quiet hours) and the case's reference number. v4: a customer's addresses sealed with
    their key (`recipient.sealed`)."""

    TOPIC: ClassVar[str] = topics.NOTIFICATION_REQUESTED
    event_type: Literal["notification.requested"] = "notification.requested"
    schema_version: Literal[1, 2, 3, 4] = 4
    payload: NotificationRequestedPayload


class EscalationStep(Contract):
    """Issue 24: a step of an escalation's answer, on the escalation it answers (`complaint.escalated` names the same
    complaint, stage and level)."""

    escalation_id: uuid.UUID = Field(description="The escalation, as followup's `GET /v1/escalations` lists it.")
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None
    corrective_action_id: uuid.UUID | None = Field(default=None, description="Stage corrective_action.")
    department: Department = Field(description="The case's department: the one that answers.")
    stage: Stage
    level: int = Field(ge=1)
    escalated_to: str = Field(description="The rung the escalation reached (a role of the ladder).")
    ladder: str | None
    actor: str = Field(description="Who took the step: a person's staff id, or a credential's name.")
    actor_name: str | None = Field(description="The person's display name (None for a credential).")
    at: AwareDatetime


class EscalationAcknowledgedPayload(EscalationStep):
    note: str | None = Field(default=None, max_length=2000)


class EscalationAcknowledged(Event):
    """The case's department has seen an escalation (its rung still climbs unless answered in time)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["escalation.acknowledged"] = "escalation.acknowledged"
    schema_version: Literal[1] = 1
    payload: EscalationAcknowledgedPayload


class EscalationAnsweredPayload(EscalationStep):
    action: str = Field(min_length=1, max_length=2000, description="What the department is doing about it.")
    promised_by: AwareDatetime = Field(description="By when the department promises it is done.")
    answer_by: AwareDatetime | None = Field(description="The limit the answer was due by (SLA policy, or sent back).")
    late: bool = Field(description="Answered after `answer_by`.")


class EscalationAnswered(Event):
    """The case's department answered an escalation: what it is doing, by when. The rung climbs no further."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["escalation.answered"] = "escalation.answered"
    schema_version: Literal[1] = 1
    payload: EscalationAnsweredPayload


class EscalationSentBackPayload(EscalationStep):
    instruction: str = Field(min_length=1, max_length=2000, description="What the department is to do.")
    deadline: AwareDatetime = Field(description="By when it must answer again, or the next rung hears of it.")


class EscalationSentBack(Event):
    """Whom the escalation reached sent it back to the department with an instruction and a new deadline."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["escalation.sent_back"] = "escalation.sent_back"
    schema_version: Literal[1] = 1
    payload: EscalationSentBackPayload


class DutyCallStep(Contract):
    """Issue 24: the duty manager's call to a counter complaint not settled on the spot or an agitated customer, and
    the duty manager's own steps (on the way, arrived); no customer data — the case is read by its reference."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str = Field(description="The complaint's channel (the counter, or any for an agitated customer).")
    reason: str = Field(description="Why the duty manager was called, e.g. 'customer agitated'.")
    called_at: AwareDatetime
    go_by: AwareDatetime = Field(description="By when the duty manager must be there (`[duty_manager] acknowledge`).")


class DutyManagerCalledPayload(DutyCallStep):
    pass


class DutyManagerCalled(Event):
    """The duty manager is called to a case; their clock runs until they arrive (else the duty ladder climbs)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["duty_manager.called"] = "duty_manager.called"
    schema_version: Literal[1] = 1
    payload: DutyManagerCalledPayload


class DutyManagerStepPayload(DutyCallStep):
    actor: str = Field(description="The duty manager's staff id (or a supervisor credential's name, arrivals only).")
    actor_name: str | None = Field(description="The person's display name (None for a credential).")
    at: AwareDatetime
    late: bool = Field(description="Taken after `go_by`.")


class DutyManagerOnTheWay(Event):
    """The duty manager, signed in themself, is on the way (their clock still runs until they arrive)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["duty_manager.on_the_way"] = "duty_manager.on_the_way"
    schema_version: Literal[1] = 1
    payload: DutyManagerStepPayload


class DutyManagerArrived(Event):
    """The duty manager has arrived (or taken the case over): their clock stops, the duty ladder climbs no more."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ESCALATED
    event_type: Literal["duty_manager.arrived"] = "duty_manager.arrived"
    schema_version: Literal[1] = 1
    payload: DutyManagerStepPayload


AnyEscalationEvent = Annotated[
    SlaWarning
    | ComplaintEscalated
    | EscalationAcknowledged
    | EscalationAnswered
    | EscalationSentBack
    | DutyManagerCalled
    | DutyManagerOnTheWay
    | DutyManagerArrived,
    Field(discriminator="event_type"),
]
AnyCallbackEvent = Annotated[CallbackScheduled | CallbackAttempted, Field(discriminator="event_type")]
