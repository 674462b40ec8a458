"""Contracts of "one fault, many callers": incidents (published by dispatch), outage notices (declared by
operators or the utility's outage/SCADA systems, published by dispatch), and what happens to each caller linked
to one of them.

Incident and outage events travel on their own topics (`incident.events`, `outage.events`) keyed by the
incident or outage id, which the envelope's `complaint_id` carries: every event of one incident stays in order,
and a department can follow a storm from that topic alone. Each event carries the whole current state of its
incident or outage (`IncidentFacts`, `OutageFacts`), so a read model only ever upserts the latest.

What each caller is told and when they are called back travels per caller on `complaint.routed`, keyed by their
complaint id like every other event of their case: `complaint.joined`, `complaint.eta_changed`,
`complaint.fault_fixed`.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.complaint import Category
from shared.contracts.dispatch import ComplaintAwaitingTriage, ComplaintLinked, ComplaintRouted, Department, Severity
from shared.contracts.envelope import Contract, Event
from shared.contracts.handling import ComplaintInvalid, ComplaintResolvedOnContact
from shared.privacy import MaskedText


# What failed, as customers feel it: an incident or outage groups the complaints of one family about one asset
# or area. Low temperature and no heat are one family: a failing station causes both.
class Family(StrEnum):
    NO_HEAT = "no_heat"
    POWER_OUTAGE = "power_outage"
    WATER_OUTAGE = "water_outage"
    GAS_OUTAGE = "gas_outage"


# The network assets of the registry: what serves a compound or building.
class AssetKind(StrEnum):
    HEAT_EXCHANGE_STATION = "heat_exchange_station"
    FEEDER = "feeder"
    WATER_MAIN = "water_main"
    GAS_LINE = "gas_line"


class AssetRef(Contract):
    type: AssetKind
    id: str = Field(min_length=1, max_length=64)


class IncidentFacts(Contract):
    """An incident as it stands after the event."""

    incident_id: uuid.UUID
    reference_no: str = Field(description="Read out to operators and crews, e.g. INC-20261126-3F2A9C.")
    family: Family
    asset: AssetRef | None = Field(description="The failed asset; null when only the area is known.")
    district: str
    compound: str | None = Field(description="The area without an asset: the compound's normalised name.")
    department: Department
    category: Category = Field(description="Category of the incident's work order.")
    work_order_id: uuid.UUID = Field(description="The one work order for the fault.")
    status: Literal["open", "resolved"]
    severity: Severity = Field(description="Rises with the number of households.")
    complaint_count: int = Field(ge=0, description="Complaints linked to it (including merged ones).")
    households: int = Field(ge=0, description="Distinct accounts (or callers without one) affected.")
    eta: AwareDatetime | None = Field(description="When the supply is expected back, as last announced.")
    description: MaskedText


class IncidentOpenedPayload(IncidentFacts):
    opened_by: Literal["threshold", "operator"]
    actor: str
    opened_at: AwareDatetime


class IncidentOpened(Event):
    """Complaints of one family about one asset passed the threshold, or an operator declared a fault."""

    TOPIC: ClassVar[str] = topics.INCIDENT_EVENTS
    event_type: Literal["incident.opened"] = "incident.opened"
    schema_version: Literal[1] = 1
    payload: IncidentOpenedPayload


class IncidentComplaintLinkedPayload(IncidentFacts):
    complaint_id: uuid.UUID = Field(description="The caller's complaint.")
    complaint_reference_no: str
    merged_work_order_id: uuid.UUID | None = Field(
        description="The caller's own work order, closed as merged into the incident's (earlier callers)."
    )
    linked_at: AwareDatetime


class IncidentComplaintLinked(Event):
    """One more caller about the fault: linked, no work order of their own."""

    TOPIC: ClassVar[str] = topics.INCIDENT_EVENTS
    event_type: Literal["incident.complaint_linked"] = "incident.complaint_linked"
    schema_version: Literal[1] = 1
    payload: IncidentComplaintLinkedPayload


class IncidentEtaUpdatedPayload(IncidentFacts):
    previous_eta: AwareDatetime | None
    note: MaskedText | None
    actor: str
    updated_at: AwareDatetime


class IncidentEtaUpdated(Event):
    TOPIC: ClassVar[str] = topics.INCIDENT_EVENTS
    event_type: Literal["incident.eta_updated"] = "incident.eta_updated"
    schema_version: Literal[1] = 1
    payload: IncidentEtaUpdatedPayload


class IncidentResolvedPayload(IncidentFacts):
    resolution: MaskedText
    root_cause: str
    actor: str
    opened_at: AwareDatetime
    resolve_by: AwareDatetime = Field(description="The work order's resolution deadline (its SLA).")
    resolved_at: AwareDatetime


class IncidentResolved(Event):
    """The incident's work order was resolved: every linked caller is told and gets a callback."""

    TOPIC: ClassVar[str] = topics.INCIDENT_EVENTS
    event_type: Literal["incident.resolved"] = "incident.resolved"
    schema_version: Literal[1] = 1
    payload: IncidentResolvedPayload


class OutageFacts(Contract):
    """An outage notice as it stands after the event."""

    outage_id: uuid.UUID
    reference_no: str = Field(description="e.g. OUT-20261126-7C01D2.")
    kind: Literal["planned", "unplanned"]
    family: Family
    asset: AssetRef | None
    district: str | None
    compound: str | None
    starts_at: AwareDatetime
    expected_end: AwareDatetime | None = Field(description="The ETA customers are told.")
    description: str = Field(description="The cause, as customers are told it (Chinese).")
    description_en: str | None
    status: Literal["active", "ended"]
    complaint_count: int = Field(ge=0)
    source: str = Field(description="Who declared it: a supervisor's or the outage system's credential name.")


class OutageDeclaredPayload(OutageFacts):
    declared_at: AwareDatetime


class OutageDeclared(Event):
    TOPIC: ClassVar[str] = topics.OUTAGE_EVENTS
    event_type: Literal["outage.declared"] = "outage.declared"
    schema_version: Literal[1] = 1
    payload: OutageDeclaredPayload


class OutageComplaintLinkedPayload(OutageFacts):
    complaint_id: uuid.UUID
    complaint_reference_no: str
    linked_at: AwareDatetime


class OutageComplaintLinked(Event):
    """A caller in the notice's area: told the cause and ETA, no work order."""

    TOPIC: ClassVar[str] = topics.OUTAGE_EVENTS
    event_type: Literal["outage.complaint_linked"] = "outage.complaint_linked"
    schema_version: Literal[1] = 1
    payload: OutageComplaintLinkedPayload


class OutageUpdatedPayload(OutageFacts):
    previous_expected_end: AwareDatetime | None
    note: MaskedText | None
    actor: str
    updated_at: AwareDatetime


class OutageUpdated(Event):
    """A new ETA."""

    TOPIC: ClassVar[str] = topics.OUTAGE_EVENTS
    event_type: Literal["outage.updated"] = "outage.updated"
    schema_version: Literal[1] = 1
    payload: OutageUpdatedPayload


class OutageEndedPayload(OutageFacts):
    actor: str
    ended_at: AwareDatetime


class OutageEnded(Event):
    """Supply restored: every linked caller is told and gets a callback."""

    TOPIC: ClassVar[str] = topics.OUTAGE_EVENTS
    event_type: Literal["outage.ended"] = "outage.ended"
    schema_version: Literal[1] = 1
    payload: OutageEndedPayload


class ComplaintJoinedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    incident_id: uuid.UUID | None = Field(description="Set when joined to an incident.")
    outage_id: uuid.UUID | None = Field(description="Set when joined to an outage notice.")
    family: Family
    asset: AssetRef | None
    district: str
    category: Category
    severity: Severity
    department: Department | None = Field(description="Who works on the fault; null for an outage notice.")
    work_order_id: uuid.UUID | None = Field(description="The incident's work order; null for an outage notice.")
    merged_work_order_id: uuid.UUID | None = Field(description="The caller's own work order, closed as merged.")
    eta: AwareDatetime | None = Field(description="The ETA the customer is told now, when known.")
    cause: str = Field(description="What the customer is told the fault is (Chinese).")
    cause_en: str | None
    reasons: list[str]
    joined_at: AwareDatetime


class ComplaintJoined(Event):
    """A caller's complaint belongs to an incident or outage: no work order of its own, told the cause and ETA."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.joined"] = "complaint.joined"
    schema_version: Literal[1] = 1
    payload: ComplaintJoinedPayload


class ComplaintEtaChangedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    incident_id: uuid.UUID | None
    outage_id: uuid.UUID | None
    eta: AwareDatetime
    previous_eta: AwareDatetime | None
    note: MaskedText | None
    changed_at: AwareDatetime


class ComplaintEtaChanged(Event):
    """The ETA of the caller's incident or outage changed: the customer is told."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.eta_changed"] = "complaint.eta_changed"
    schema_version: Literal[1] = 1
    payload: ComplaintEtaChangedPayload


class ComplaintFaultFixedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    incident_id: uuid.UUID | None
    outage_id: uuid.UUID | None
    linked_to_complaint_id: uuid.UUID | None = Field(description="Set for a same-account duplicate.")
    work_order_id: uuid.UUID | None = Field(description="The work order that fixed it; null for an outage notice.")
    department: Department
    category: Category
    severity: Severity
    resolution: MaskedText
    callback_limit: str = Field(description="Limit for this caller's callback, e.g. 24h or 1wd.")
    fixed_at: AwareDatetime
    owner: str | None = Field(
        None,
        description="v2: the caller's own case owner (the agent who took the call, or the supervisor who triaged "
        "it): their callback is theirs. Null when nobody took it (a web form).",
    )


class ComplaintFaultFixed(Event):
    """What the caller complained about was fixed with their group (incident, outage, or the case they
    duplicated): they are told, and get their own callback. v2: for the caller's owner."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.fault_fixed"] = "complaint.fault_fixed"
    schema_version: Literal[1, 2] = 2
    payload: ComplaintFaultFixedPayload


AnyIncidentEvent = Annotated[
    IncidentOpened | IncidentComplaintLinked | IncidentEtaUpdated | IncidentResolved,
    Field(discriminator="event_type"),
]
AnyOutageEvent = Annotated[
    OutageDeclared | OutageComplaintLinked | OutageUpdated | OutageEnded,
    Field(discriminator="event_type"),
]
AnyCallerEvent = Annotated[
    ComplaintJoined | ComplaintEtaChanged | ComplaintFaultFixed, Field(discriminator="event_type")
]
#: Everything on `complaint.routed`: routing, triage, duplicates, and the callers of incidents and outages.
AnyRoutingEvent = Annotated[
    ComplaintRouted
    | ComplaintAwaitingTriage
    | ComplaintLinked
    | ComplaintJoined
    | ComplaintEtaChanged
    | ComplaintFaultFixed
    | ComplaintInvalid
    | ComplaintResolvedOnContact,
    Field(discriminator="event_type"),
]
