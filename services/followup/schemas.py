"""HTTP models of followup."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contracts import CallbackOutcome
from shared.contracts.followup import CallbackMethod

Score = Annotated[int, Field(ge=1, le=5)]
#: How an agent reached the customer (`sms` is the customer's own reply, recorded by followup, never by a person).
AgentCallbackMethod = Literal["phone", "letter", "visit"]


class ScoresCreate(BaseModel):
    """The survey's 1-5 marks (5 best), each optional; billing only when billing was involved."""

    model_config = ConfigDict(extra="forbid")

    supply: Score | None = Field(default=None, description="Quality of heating or supply.")
    attitude: Score | None = Field(default=None, description="Staff attitude.")
    speed: Score | None = Field(default=None, description="Speed of repair or handling.")
    billing: Score | None = Field(default=None, description="Billing, when billing was involved.")

    def given(self) -> dict[str, int]:
        return self.model_dump(exclude_none=True)


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: CallbackOutcome
    method: AgentCallbackMethod = Field(default="phone", description="How the customer was contacted.")
    note: str | None = Field(default=None, max_length=2000)
    scores: ScoresCreate | None = Field(default=None, description="The survey, when the customer answered it.")

    @model_validator(mode="after")
    def _survey_needs_an_answer(self) -> OutcomeCreate:
        if self.scores is not None and self.scores.given() and self.outcome == "unreachable":
            raise ValueError("scores: an unreachable customer answered no survey")
        return self


class DutyAcknowledgementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    manager: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Staff id of the duty manager who came. Required with an API key; a signed-in person is "
        "recorded themselves (left out, or their own staff id).",
    )
    note: str | None = Field(default=None, max_length=2000)


class DutyCallRead(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str
    reason: str
    called_at: datetime
    acknowledge_by: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None = Field(description="Staff id of who acknowledged (or the manager a key named).")
    acknowledged_by_name: str | None = Field(default=None, description="Their display name, when a person did.")
    late: bool = Field(description="Acknowledged after the limit (the case was escalated).")


class DutyCallStatusRead(BaseModel):
    """A duty manager's call as the duty page shows it (issue 24): the case by reference, why, and the steps."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    reason: str
    called_at: datetime
    go_by: datetime = Field(description="By when the duty manager must arrive (`[duty_manager] acknowledge`).")
    on_the_way_at: datetime | None
    on_the_way_by: str | None
    on_the_way_by_name: str | None
    arrived_at: datetime | None
    arrived_by: str | None
    arrived_by_name: str | None
    status: Literal["called", "on_the_way", "arrived"]
    late: bool = Field(description="Arrived after `go_by`, or not arrived and `go_by` has passed.")


class DutyCallList(BaseModel):
    items: list[DutyCallStatusRead]


class ContactRead(BaseModel):
    name: str | None
    phone: str | None
    email: str | None
    wechat_openid: str | None
    preferred_contact: str


class CallbackRead(BaseModel):
    callback_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    department: str
    cycle: int
    resolution: str | None
    due_at: datetime
    overdue: bool
    status: str
    attempts: int
    next_attempt_at: datetime
    last_note: str | None
    last_agent: str | None = Field(
        default=None, description="Who made the latest attempt: a person's staff id, or a credential's name."
    )
    last_agent_name: str | None = Field(default=None, description="Their display name, when a person did.")
    last_method: CallbackMethod | None = Field(default=None, description="How the latest attempt reached out.")
    owner: str | None = Field(description="Staff id the call is for: the case's owner.")
    scores: dict[str, int] | None = Field(description="The survey's 1-5 marks, once recorded.")
    survey_score: int | None = Field(
        default=None, description="The 1-5 mark the customer answered our survey SMS with, once they did."
    )
    contact: ContactRead | None = Field(description="Who to call; only agents and supervisors see it.")
    kind: str = Field(
        default="callback",
        description="callback (after a resolution), or notification_failed: phone a customer no message reached.",
    )
    reason: str | None = Field(default=None, description="Why the task is there (notification_failed).")
    template_id: str | None = Field(default=None, description="A task's undelivered message template.")
    message: str | None = Field(default=None, description="A task's undelivered message: what to tell the customer.")


class Worklist(BaseModel):
    items: list[CallbackRead]
    page: int
    page_size: int
    total: int


class TimerRead(BaseModel):
    kind: str
    stage: str
    level: int
    due_at: datetime
    deadline: datetime | None
    fired_at: datetime | None
    cancelled_at: datetime | None


class EscalationRead(BaseModel):
    stage: str
    level: int
    escalated_to: str
    reason: str
    at: datetime
    ladder: str | None
    escalation_id: uuid.UUID | None = Field(
        default=None, description="Issue 24: the escalation to answer (`/v1/escalations/{escalation_id}/...`)."
    )
    status: str | None = Field(default=None, description="Where its answer stands: open, acknowledged, ...")


class EscalationAcknowledgementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000)


class EscalationAnswerCreate(BaseModel):
    """The department's answer: what it is doing, and by when it will be done."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # `pattern`: the schema says what the stripping means — a text of spaces alone is no answer (the fuzz sent "\r").
    action: str = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="What the department is doing about it."
    )
    by: AwareDatetime = Field(description="By when it will be done (in the future).")


class EscalationSendBackCreate(BaseModel):
    """Back to the department: what it is to do, and by when it must answer again."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    instruction: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="What the department is to do.")
    deadline: AwareDatetime = Field(
        description="By when it must answer again (in the future); unanswered, the next rung hears of it then."
    )


class EscalationCaseRead(BaseModel):
    """One escalation and where its answer stands."""

    escalation_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    department: str
    work_order_id: uuid.UUID | None
    stage: str
    level: int
    escalated_to: str = Field(description="The rung it reached (a role of the ladder).")
    ladder: str | None
    reason: str
    escalated_at: datetime
    deadline: datetime | None = Field(description="The limit that ran out.")
    answer_by: datetime | None = Field(description="By when the department must answer (then the next rung hears).")
    overdue: bool = Field(description="Not answered and past `answer_by`.")
    status: Literal["open", "acknowledged", "answered", "sent_back"]
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_by_name: str | None
    action: str | None = Field(description="The answer: what the department is doing.")
    promised_by: datetime | None = Field(description="The answer: by when.")
    answered_at: datetime | None
    answered_by: str | None
    answered_by_name: str | None
    late: bool = Field(description="Answered after `answer_by`.")
    instruction: str | None = Field(description="The latest instruction it was sent back with.")
    sent_back_at: datetime | None
    sent_back_by: str | None
    sent_back_by_name: str | None


class EscalationList(BaseModel):
    items: list[EscalationCaseRead]


class SlaRead(BaseModel):
    complaint_id: uuid.UUID
    timers: list[TimerRead]
    escalations: list[EscalationRead]
