"""Followup's domain: what it tracks (work orders' clocks, callbacks, contacts) and the callback rules.

Everything here is pure: no I/O, no clock of its own. `decide_outcome` is the one place that says what
a recorded callback outcome does to the case; `handlers/outcomes.py` applies the decision. Its refusals are
`shared.errors` (404 and 409 problem answers, mapped once in `shared/`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from shared.contracts import CallbackOutcome, Severity
from shared.contracts.followup import CallbackMethod
from shared.errors import Conflict, NotFound


class CallbackNotFound(NotFound):
    """No callback of this id."""


class CallbackClosed(Conflict):
    """The outcome of this callback was already recorded."""


@dataclass(frozen=True)
class TrackedWorkOrder:
    """Followup's copy of an assigned work order: its deadlines and which steps are done."""

    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    department: str
    cycle: int
    category: str
    severity: str
    channel: str
    starts_at: datetime
    acknowledge_by: datetime
    on_site_by: datetime | None
    resolve_by: datetime
    interim_reply_by: datetime | None
    callback_limit: str
    correlation_id: str
    status: str = "assigned"
    #: v2: the case's owner (staff id), lead or assisting in a coordinated case, the district.
    owner: str | None = None
    role: str = "lead"
    district: str | None = None
    #: The ladder (SLA policy) its clocks climb, from the rule its category, severity and district match.
    ladder: str = "default"
    #: An assisting work order's lead (a coordinated case's callback follows the lead).
    lead_work_order_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Contact:
    """Restricted contact data (complaint.contact): for callbacks and customer notifications only."""

    complaint_id: uuid.UUID
    name: str | None
    phone: str | None
    email: str | None
    wechat_openid: str | None
    preferred_contact: str
    #: Whose contact it is (complaint.contact v2): their key seals the messages to them. None for v1 contacts.
    customer_id: uuid.UUID | None = None
    #: When the contact event happened: a later one (a correction) replaces an earlier one, never the reverse.
    contact_at: datetime | None = None


@dataclass(frozen=True)
class TimerPlan:
    """A timer to schedule; the same (subject, kind, stage, level) is only ever scheduled once."""

    complaint_id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    stage: str
    due_at: datetime
    deadline: datetime | None = None
    level: int = 0
    #: The escalation ladder (SLA policy) a breach of this clock climbs.
    ladder: str = "default"


@dataclass(frozen=True)
class Timer:
    """A claimed, due timer."""

    timer_id: int
    complaint_id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    stage: str
    level: int
    due_at: datetime
    deadline: datetime | None
    ladder: str = "default"

    @property
    def occurred_at(self) -> datetime:
        """When what this timer stands for came due: its customer message is judged by it as an event's is by its
        own time (`Notifier.customer_horizon`, issue 26). An interim reply promised 30 days ago, scheduled by a new
        consumer group reading history, is not sent now. The promised time (`deadline`, which the retries waiting
        for a contact keep), else the time it was due."""
        return self.deadline or self.due_at


@dataclass(frozen=True)
class TimerState:
    """A timer as the SLA view shows it."""

    kind: str
    stage: str
    level: int
    due_at: datetime
    deadline: datetime | None
    fired_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class Subject:
    """What a firing timer needs to know about the work order or callback it watches."""

    complaint_id: uuid.UUID
    reference_no: str
    department: str
    correlation_id: str
    status: str
    phone: str | None
    #: The work order the clock watches, when there is one (a duty manager's clock or an action has none of
    #: its own); and whom the clock is about (a corrective action's owner).
    work_order_id: uuid.UUID | None = None
    owner: str | None = None
    #: The work order's severity, when the clock watches one (an emergency's customer messages are urgent).
    severity: str | None = None


#: Rungs held within one department (its manager's): only that department's holder sees them and sends its answers
#: back; other rungs (supervisor, duty manager, leadership) are held across departments.
DEPARTMENT_RUNGS = frozenset({"department_manager"})


@dataclass(frozen=True)
class EscalationRecord:
    """One rung of the ladder as it was climbed; `timer_id` is unique, so a timer escalates once."""

    complaint_id: uuid.UUID
    subject_id: uuid.UUID | None
    stage: str
    level: int
    escalated_to: str
    reason: str
    timer_id: int | None
    at: datetime
    deadline: datetime | None = None
    ladder: str | None = None
    #: Issue 24: how the rung is named to whoever answers it, the case it is about, and by when its department
    #: must answer (then the next rung hears of it). Rows from before issue 24 have none of these.
    escalation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    department: str | None = None
    reference_no: str | None = None
    correlation_id: str | None = None
    work_order_id: uuid.UUID | None = None
    answer_by: datetime | None = None


#: Where an escalation's answer step stands: nobody has reacted (`open`), the department has seen it
#: (`acknowledged`), answered it (`answered`: the rung climbs no further), or the escalated person sent the answer
#: back with an instruction and a new deadline (`sent_back`: the climb resumes from that deadline).
EscalationStatus = Literal["open", "acknowledged", "answered", "sent_back"]


@dataclass(frozen=True)
class EscalationAnswer:
    """The answer step of one escalation: who acknowledged, what the department is doing and by when, and the
    latest instruction it was sent back with. `by` fields are staff ids (or a credential's name), `*_name` the
    person's display name."""

    status: EscalationStatus = "open"
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_by_name: str | None = None
    action: str | None = None
    promised_by: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    answered_by_name: str | None = None
    instruction: str | None = None
    sent_back_at: datetime | None = None
    sent_back_by: str | None = None
    sent_back_by_name: str | None = None


@dataclass(frozen=True)
class Escalation:
    """A rung climbed and where its answer stands."""

    record: EscalationRecord
    answer: EscalationAnswer = EscalationAnswer()

    @property
    def escalation_id(self) -> uuid.UUID:
        return self.record.escalation_id


class EscalationNotFound(NotFound):
    """No escalation of this id."""


@dataclass(frozen=True)
class NotificationRecord:
    """A requested notification, kept for the audit trail and for the agent's task when its delivery fails (the
    text the customer should have read). No address: those stay in `contacts`."""

    notification_id: uuid.UUID
    complaint_id: uuid.UUID
    template_id: str
    recipient_kind: str
    urgency: str
    reference_no: str | None
    correlation_id: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Receipt:
    """A complaint as received, waiting for its contact so the customer gets the reference number once
    (`receipts.py`); `told_at` once the receipt was requested."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    settled: bool
    correlation_id: str
    received_at: datetime
    told_at: datetime | None = None


@dataclass(frozen=True)
class Callback:
    callback_id: uuid.UUID
    complaint_id: uuid.UUID
    work_order_id: uuid.UUID
    reference_no: str
    department: str
    cycle: int
    resolution: str | None
    due_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    completed_at: datetime | None
    last_note: str | None
    last_agent: str | None
    #: A linked caller's own severity and correlation id (their work order is the incident's, or none).
    severity: str | None = None
    correlation_id: str | None = None
    #: v2: whom the call is for (the case's owner), the ladder its clock climbs, the survey's 1-5 scores.
    owner: str | None = None
    ladder: str = "default"
    scores: dict[str, int] | None = None
    #: v3: the display name of the person who made the last attempt (`last_agent` is then their staff id), and how
    #: the customer was contacted (phone, letter, visit).
    last_agent_name: str | None = None
    last_method: CallbackMethod | None = None
    #: Issue 21: `callback` (after a resolution), or `notification_failed`: an agent's task to phone a customer a
    #: message could not reach (`reason`, the message's `template_id` and the `message` to tell them).
    kind: str = "callback"
    reason: str | None = None
    template_id: str | None = None
    message: str | None = None
    #: Issue 23: the 1-5 mark the customer answered our survey SMS with (`complaint.customer_replied`), and when.
    survey_score: int | None = None
    survey_scored_at: datetime | None = None

    @property
    def is_task(self) -> bool:
        """A phone-the-customer task, not a callback after a resolution: recording it changes nothing of the case."""
        return self.kind != "callback"


@dataclass(frozen=True)
class Caller:
    """A caller linked to an incident, an outage notice or the case they duplicate: what they were told."""

    complaint_id: uuid.UUID
    reference_no: str
    group_kind: Literal["incident", "outage", "duplicate"]
    group_id: uuid.UUID
    cause: str | None
    cause_en: str | None
    eta: datetime | None
    correlation_id: str
    joined_at: datetime
    fixed_at: datetime | None = None


@dataclass(frozen=True)
class CallbackPolicy:
    """How often an unreachable customer is tried, and how long to wait between tries (already scaled)."""

    max_attempts: int = 3
    retry_interval: timedelta = timedelta(hours=2)


#: Dissatisfied customers get a new cycle one severity up; emergencies stay emergencies.
#: From this many dissatisfied callbacks on, the case also goes to the top of the escalation ladder.
DISSATISFIED_ESCALATES_AT = 2


class Verdict(StrEnum):
    CLOSE = "close"
    """Satisfied: the complaint is closed."""
    REOPEN = "reopen"
    """Dissatisfied: a new cycle with raised severity."""
    REOPEN_AND_ESCALATE = "reopen_and_escalate"
    """Dissatisfied again: a new cycle, and the general manager (top of the ladder) is told."""
    RETRY = "retry"
    """Unreachable with attempts left: the callback comes back to the worklist after the interval."""
    CLOSE_UNREACHABLE = "close_unreachable"
    """Unreachable on the last attempt: closed as unreachable."""


@dataclass(frozen=True)
class OutcomeDecision:
    """What one recorded call does: the callback as it is afterwards, and what happens to the case."""

    verdict: Verdict
    callback: Callback
    outcome: CallbackOutcome
    attempt: int
    #: No further attempt will be made: the callback's clocks stop.
    final: bool
    #: Set when the case reopens: its new severity and how many times the customer was dissatisfied.
    raised_severity: Severity | None = None
    dissatisfied_count: int | None = None

    @property
    def closes_as(self) -> Literal["satisfied", "unreachable"] | None:
        if self.verdict is Verdict.CLOSE:
            return "satisfied"
        return "unreachable" if self.verdict is Verdict.CLOSE_UNREACHABLE else None

    @property
    def reopens(self) -> bool:
        return self.verdict in (Verdict.REOPEN, Verdict.REOPEN_AND_ESCALATE)


def decide_outcome(
    callback: Callback,
    outcome: CallbackOutcome,
    *,
    agent: str,
    note: str | None,
    now: datetime,
    severity: str,
    dissatisfied_before: int,
    policy: CallbackPolicy,
    scores: dict[str, int] | None = None,
    agent_name: str | None = None,
    method: CallbackMethod = "phone",
) -> OutcomeDecision:
    """The rules of a callback outcome.

    satisfied → close; dissatisfied → reopen one severity up, and from the second time also escalate to
    the top of the ladder; unreachable → retry after the interval until `max_attempts`, then close as
    unreachable. Every call counts as an attempt, whatever its outcome. The survey's scores are only asked of
    a customer who was reached.
    """
    if scores and outcome == "unreachable":
        raise ValueError("an unreachable customer answered no survey: scores need outcome satisfied or dissatisfied")
    if callback.status != "pending":
        raise CallbackClosed(f"callback {callback.callback_id} is already {callback.status}")
    attempt = callback.attempts + 1
    final = outcome != "unreachable" or attempt >= policy.max_attempts
    after = replace(
        callback,
        status=outcome if final else "pending",
        attempts=attempt,
        next_attempt_at=now if final else now + policy.retry_interval,
        last_note=note,
        last_agent=agent,
        last_agent_name=agent_name,
        last_method=method,
        completed_at=now if final else None,
        scores=scores or callback.scores,
    )
    if outcome == "satisfied":
        verdict = Verdict.CLOSE
    elif outcome == "unreachable":
        verdict = Verdict.CLOSE_UNREACHABLE if final else Verdict.RETRY
    else:
        count = dissatisfied_before + 1
        verdict = Verdict.REOPEN_AND_ESCALATE if count >= DISSATISFIED_ESCALATES_AT else Verdict.REOPEN
        return OutcomeDecision(verdict, after, outcome, attempt, final, Severity(severity).raised(), count)
    return OutcomeDecision(verdict, after, outcome, attempt, final)


@dataclass(frozen=True)
class DutyCall:
    """The duty manager called to a counter complaint not settled on the spot, or to an agitated customer."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    reason: str
    correlation_id: str
    called_at: datetime
    acknowledge_by: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    note: str | None = None
    #: The display name of the signed-in person who acknowledged (None when a credential did).
    acknowledged_by_name: str | None = None
    #: The duty manager said "on my way" themself (issue 24); the clock runs on until they arrive (acknowledge).
    on_the_way_at: datetime | None = None
    on_the_way_by: str | None = None
    on_the_way_by_name: str | None = None


class DutyCallNotFound(NotFound):
    """Followup knows nothing of this complaint."""


class DutyCallNotPending(Conflict):
    """No duty manager call is waiting for acknowledgement on this complaint (none, or already acknowledged)."""


@dataclass(frozen=True)
class CorrectiveAction:
    """A serious case's corrective action as followup holds it to its deadline."""

    action_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None
    department: str
    owner: str
    deadline: datetime
    status: str
    correlation_id: str
    set_at: datetime
    completed_at: datetime | None = None
    #: What will change (issue 21: told to the customer with the resolution).
    description: str | None = None


@dataclass(frozen=True)
class InvalidComplaint:
    """A complaint closed as invalid: the customer is told why, once (`told_at`)."""

    complaint_id: uuid.UUID
    reference_no: str
    reason: str
    correlation_id: str
    invalid_at: datetime
    told_at: datetime | None = None
