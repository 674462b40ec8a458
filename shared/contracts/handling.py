"""Contracts of how a case is handled besides work orders (published by dispatch): a complaint closed as
invalid, a complaint settled at first contact, and the corrective actions of serious cases (proposed by the lead
department, approved or sent back by leadership, then set).

The first two travel on `complaint.routed` with every other "where did this complaint go" event; corrective
actions on their own topic (`corrective-actions`), keyed by the complaint id like every event of the case.
"""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.complaint import Category, Channel
from shared.contracts.dispatch import Department, Severity
from shared.contracts.envelope import Contract, Event
from shared.privacy import MaskedText


class ComplaintInvalidPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    reason: MaskedText = Field(description="Why it is not a complaint we act on, as the customer is told.")
    category: Category = Field(description="What the classifier made of it anyway.")
    channel: Channel
    district: str
    account_no: str | None
    owner: str | None = Field(description="Staff id of who took it, if an agent did.")
    decided_by: str = Field(
        description="'dispatch' (the classifier) or the supervisor who closed it (a person's staff id)."
    )
    decided_by_name: str | None = Field(
        default=None, description="v2: the display name of who decided ('dispatch' for the classifier)."
    )
    invalid_at: AwareDatetime


class ComplaintInvalid(Event):
    """Not ours, not a complaint, a test call, outside the service area: closed as invalid, no work order; the
    customer is told why. A supervisor may overturn it (then `complaint.routed`, reason `reclassified`). v2: who
    decided, by name (`decided_by_name`)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.invalid"] = "complaint.invalid"
    schema_version: Literal[1, 2] = 2
    payload: ComplaintInvalidPayload


class ComplaintResolvedOnContactPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    resolution_id: uuid.UUID = Field(description="Stands where a work order would: the callback names it.")
    category: Category
    severity: Severity
    department: Department = Field(description="Whose staff settled it (the agent's: customer service).")
    channel: Channel
    district: str
    account_no: str | None
    owner: str = Field(description="Staff id of the agent who settled it: the case's owner.")
    handled_on_contact: MaskedText = Field(description="What was explained or done on the call or at the counter.")
    callback_limit: str = Field(description="Limit for the callback, e.g. 24h or 2wd.")
    resolved_at: AwareDatetime


class ComplaintResolvedOnContact(Event):
    """Settled at first contact (on the call, at the counter): no work order, but still called back."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.resolved_on_contact"] = "complaint.resolved_on_contact"
    schema_version: Literal[1] = 1
    payload: ComplaintResolvedOnContactPayload


class CorrectiveActionFacts(Contract):
    """A corrective action as it stands after the event."""

    action_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None = Field(description="The work order whose resolution set it, if one did.")
    department: Department
    severity: Severity
    description: MaskedText
    owner: str = Field(description="Who carries it out (a person or a unit).")
    deadline: AwareDatetime
    status: Literal["open", "done"]
    actor: str = Field(description="Who set or completed it.")
    at: AwareDatetime


class CorrectiveActionSet(Event):
    """Leadership set a corrective action with a deadline for a serious case; followup holds it to the deadline."""

    TOPIC: ClassVar[str] = topics.CORRECTIVE_ACTIONS
    event_type: Literal["corrective_action.set"] = "corrective_action.set"
    schema_version: Literal[1] = 1
    payload: CorrectiveActionFacts


class CorrectiveActionCompletedPayload(CorrectiveActionFacts):
    outcome: MaskedText = Field(description="What was done.")


class CorrectiveActionCompleted(Event):
    """A corrective action was carried out: its clock stops."""

    TOPIC: ClassVar[str] = topics.CORRECTIVE_ACTIONS
    event_type: Literal["corrective_action.completed"] = "corrective_action.completed"
    schema_version: Literal[1] = 1
    payload: CorrectiveActionCompletedPayload


class ProposedAction(Contract):
    """A corrective action as the department proposes it (set only once leadership approves)."""

    description: MaskedText
    owner: str = Field(description="Who would carry it out (a person or a unit).")
    deadline: AwareDatetime


class SeriousCaseFacts(Contract):
    """A serious or emergency case's proposal (cause analysis and corrective actions) as it stands after the event.

    The lead work order's department proposes; leadership (or HR/administration) approves it or sends it back with a
    reason; the lead work order resolves only once it is approved (`dispatch/serious_cases.py`)."""

    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID = Field(description="The case's lead work order, which resolves once this is approved.")
    department: Department
    severity: Severity
    round: int = Field(ge=1, description="1 for the first proposal, one more after each sending back.")
    cause_analysis: MaskedText
    corrective_actions: list[ProposedAction]
    status: Literal["proposed", "sent_back", "approved"]
    proposed_by: str = Field(description="Staff id (or credential) of who proposed it.")
    proposed_by_name: str | None = None
    actor: str = Field(description="Who took this step.")
    actor_name: str | None = None
    at: AwareDatetime


class SeriousCaseProposed(Event):
    """The lead department proposed the cause analysis and corrective actions of a serious or emergency case; they
    wait for leadership's approval."""

    TOPIC: ClassVar[str] = topics.CORRECTIVE_ACTIONS
    event_type: Literal["serious_case.proposed"] = "serious_case.proposed"
    schema_version: Literal[1] = 1
    payload: SeriousCaseFacts


class SeriousCaseSentBackPayload(SeriousCaseFacts):
    reason: MaskedText = Field(description="Why leadership sent it back: what the department must do again.")


class SeriousCaseSentBack(Event):
    """Leadership sent the proposal back to the department with a reason; the department proposes again."""

    TOPIC: ClassVar[str] = topics.CORRECTIVE_ACTIONS
    event_type: Literal["serious_case.sent_back"] = "serious_case.sent_back"
    schema_version: Literal[1] = 1
    payload: SeriousCaseSentBackPayload


class SeriousCaseApprovedPayload(SeriousCaseFacts):
    note: MaskedText | None = Field(default=None, description="Leadership's words with the approval, if any.")


class SeriousCaseApproved(Event):
    """Leadership approved the proposal: the lead work order may now resolve, and its resolution sets the approved
    corrective actions. The project manager and the technical department are told (followup)."""

    TOPIC: ClassVar[str] = topics.CORRECTIVE_ACTIONS
    event_type: Literal["serious_case.approved"] = "serious_case.approved"
    schema_version: Literal[1] = 1
    payload: SeriousCaseApprovedPayload


AnyCorrectiveActionEvent = Annotated[
    CorrectiveActionSet | CorrectiveActionCompleted | SeriousCaseProposed | SeriousCaseSentBack | SeriousCaseApproved,
    Field(discriminator="event_type"),
]
