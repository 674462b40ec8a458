"""The events dispatch publishes (through its outbox), built from its own rows: the one place that knows their
shapes. `complaint.routed`/`complaint.linked` go to everyone; the full work order goes to its department's topic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from services.dispatch.model import (
    SYSTEM,
    Actor,
    Case,
    CorrectiveAction,
    Crew,
    Finding,
    Incident,
    Outage,
    Photo,
    SeriousProposal,
    WorkOrder,
)
from shared.contracts import (
    Category,
    CauseAnalysis,
    Channel,
    ComplaintAwaitingTriage,
    ComplaintAwaitingTriagePayload,
    ComplaintEtaChanged,
    ComplaintEtaChangedPayload,
    ComplaintFaultFixed,
    ComplaintFaultFixedPayload,
    ComplaintInvalid,
    ComplaintInvalidPayload,
    ComplaintJoined,
    ComplaintJoinedPayload,
    ComplaintLinked,
    ComplaintLinkedPayload,
    ComplaintResolvedOnContact,
    ComplaintResolvedOnContactPayload,
    ComplaintRouted,
    ComplaintRoutedPayload,
    CorrectiveActionCompleted,
    CorrectiveActionCompletedPayload,
    CorrectiveActionFacts,
    CorrectiveActionSet,
    CustomerAcceptance,
    CustomerPublic,
    DeadlinesPayload,
    Department,
    Event,
    IncidentComplaintLinked,
    IncidentComplaintLinkedPayload,
    IncidentEtaUpdated,
    IncidentEtaUpdatedPayload,
    IncidentOpened,
    IncidentOpenedPayload,
    IncidentResolved,
    IncidentResolvedPayload,
    OutageComplaintLinked,
    OutageComplaintLinkedPayload,
    OutageDeclared,
    OutageDeclaredPayload,
    OutageEnded,
    OutageEndedPayload,
    OutageUpdated,
    OutageUpdatedPayload,
    ReceivedLocation,
    RootCause,
    SeriousCaseApproved,
    SeriousCaseApprovedPayload,
    SeriousCaseFacts,
    SeriousCaseProposed,
    SeriousCaseSentBack,
    SeriousCaseSentBackPayload,
    Severity,
    TriageSuggestion,
    WorkOrderAcknowledged,
    WorkOrderAcknowledgedPayload,
    WorkOrderAppointmentAgreed,
    WorkOrderAppointmentPayload,
    WorkOrderAssigned,
    WorkOrderAssignedPayload,
    WorkOrderCrewAssigned,
    WorkOrderCrewAssignedPayload,
    WorkOrderFindingsPayload,
    WorkOrderFindingsRecorded,
    WorkOrderNoteAdded,
    WorkOrderNotePayload,
    WorkOrderPhotoAdded,
    WorkOrderPhotoPayload,
    WorkOrderReassigned,
    WorkOrderReassignedPayload,
    WorkOrderResolved,
    WorkOrderResolvedPayload,
    WorkOrderReturned,
    WorkOrderReturnedPayload,
    WorkOrderStarted,
    WorkOrderStartedPayload,
    WorkOrderVisitMissed,
    WorkOrderVisitMissedPayload,
    new_event,
)
from shared.privacy import mask_name

PRODUCER = "dispatch"
#: Why a work order was opened, as `complaint.routed` tells it.
RouteReason = Literal["new", "returned", "reclassified", "reopened"]


def _deadlines(order: WorkOrder) -> DeadlinesPayload:
    return DeadlinesPayload(
        starts_at=order.starts_at,
        acknowledge_by=order.acknowledge_by,
        on_site_by=order.on_site_by,
        resolve_by=order.resolve_by,
        interim_reply_by=order.interim_reply_by,
        callback_limit=order.callback_limit,
        policy_id=order.policy_id,
    )


def _facts(order: WorkOrder, case: Case, actor: Actor, at: datetime) -> dict[str, Any]:
    """What every work-order event says: which work order, its status after the step, and who took the step (a
    person's staff id and name; a credential's name twice)."""
    return {
        "work_order_id": order.work_order_id,
        "complaint_id": order.complaint_id,
        "reference_no": case.reference_no,
        "department": order.department,
        "cycle": order.cycle,
        "status": order.status,
        "actor": actor.name,
        "actor_name": actor.label,
        "at": at,
    }


def _envelope(case: Case, causation_id: uuid.UUID | None, at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": case.complaint_id,
        "producer": PRODUCER,
        "correlation_id": case.correlation_id,
        "causation_id": causation_id,
        "occurred_at": at,
    }


def routed(
    case: Case, order: WorkOrder, reasons: list[str], reason: RouteReason, causation_id: uuid.UUID | None, at: datetime
) -> list[Event]:
    """`complaint.routed` for everyone, and the full work order on the department's topic."""
    routed_event = new_event(
        ComplaintRouted,
        payload=ComplaintRoutedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            work_order_id=order.work_order_id,
            cycle=order.cycle,
            department=Department(order.department),
            category=Category(order.category),
            severity=Severity(order.severity),
            priority=order.priority,
            valid=case.valid,
            invalid_reason=case.invalid_reason,
            reasons=reasons,
            deadlines=_deadlines(order),
            channel=Channel(case.channel),
            district=case.district,
            account_no=case.account_no,
            routed_at=at,
            reason=reason,
            previous_work_order_id=order.previous_work_order_id,
        ),
        **_envelope(case, causation_id, at),
    )
    return [routed_event, assigned(case, order, reasons, reason, routed_event.event_id, at)]


def _on_topic(location: dict[str, Any]) -> ReceivedLocation:
    """The work order's place on its topic (workorder.assigned v4): a customer's exact address and coordinates
    sealed as complaint.received v5 brought them; an incident's place, or a case from before v5, as kept."""
    place = ReceivedLocation.model_validate(location)
    if place.sealed is None:
        return place
    return place.model_copy(update={"address": None, "coordinates": None})


def assigned(
    case: Case, order: WorkOrder, reasons: list[str], reason: RouteReason, causation_id: uuid.UUID | None, at: datetime
) -> Event:
    """The full work order on its department's topic (an incident's work order has only this: no complaint is
    routed for it)."""
    return new_event(
        WorkOrderAssigned,
        payload=WorkOrderAssignedPayload(
            **_facts(order, case, SYSTEM, at),
            category=Category(order.category),
            severity=Severity(order.severity),
            priority=order.priority,
            deadlines=_deadlines(order),
            text=case.text,
            location=_on_topic(case.location),
            customer=CustomerPublic.model_validate(case.customer),
            channel=Channel(case.channel),
            reasons=reasons,
            reopened=reason == "reopened",
            role=order.role,
            lead_work_order_id=order.lead_work_order_id,
            owner=case.owner,
            area_class=order.area_class,
        ),
        **_envelope(case, causation_id, at),
    )


def invalid(case: Case, causation_id: uuid.UUID | None, at: datetime, decided_by: Actor = SYSTEM) -> Event:
    """Closed as invalid, no work order: the customer is told `case.invalid_reason`; v2 names who decided."""
    assert case.invalid_reason is not None and case.invalid_by is not None
    return new_event(
        ComplaintInvalid,
        payload=ComplaintInvalidPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            reason=case.invalid_reason,
            category=Category(case.category),
            channel=Channel(case.channel),
            district=case.district,
            account_no=case.account_no,
            owner=case.owner,
            decided_by=case.invalid_by,
            decided_by_name=decided_by.label,
            invalid_at=at,
        ),
        **_envelope(case, causation_id, at),
    )


def resolved_on_contact(
    case: Case, *, department: str, callback_limit: str, causation_id: uuid.UUID | None, at: datetime
) -> Event:
    """Settled at first contact: no work order; followup still calls the customer back."""
    assert case.resolution_id is not None and case.owner is not None and case.handled_on_contact is not None
    return new_event(
        ComplaintResolvedOnContact,
        payload=ComplaintResolvedOnContactPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            resolution_id=case.resolution_id,
            category=Category(case.category),
            severity=Severity(case.severity),
            department=Department(department),
            channel=Channel(case.channel),
            district=case.district,
            account_no=case.account_no,
            owner=case.owner,
            handled_on_contact=case.handled_on_contact,
            callback_limit=callback_limit,
            resolved_at=at,
        ),
        **_envelope(case, causation_id, at),
    )


def linked(case: Case, order: WorkOrder, reasons: list[str], causation_id: uuid.UUID, at: datetime) -> Event:
    return new_event(
        ComplaintLinked,
        payload=ComplaintLinkedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            linked_to_complaint_id=order.complaint_id,
            work_order_id=order.work_order_id,
            department=Department(order.department),
            category=Category(order.category),
            reasons=reasons,
            linked_at=at,
        ),
        **_envelope(case, causation_id, at),
    )


def acknowledged(order: WorkOrder, case: Case, actor: Actor, at: datetime) -> Event:
    return new_event(
        WorkOrderAcknowledged,
        payload=WorkOrderAcknowledgedPayload(**_facts(order, case, actor, at), owner=case.owner),
        **_envelope(case, None, at),
    )


def started(order: WorkOrder, case: Case, actor: Actor, at: datetime) -> Event:
    """On site: v2 names who arrived and their crew (followup's on-site clock stops on it)."""
    return new_event(
        WorkOrderStarted,
        payload=WorkOrderStartedPayload(**_facts(order, case, actor, at), crew=order.crew),
        **_envelope(case, None, at),
    )


def note_added(order: WorkOrder, case: Case, actor: Actor, at: datetime, note: str) -> Event:
    return new_event(
        WorkOrderNoteAdded,
        payload=WorkOrderNotePayload(**_facts(order, case, actor, at), note=note),
        **_envelope(case, None, at),
    )


def resolved(
    order: WorkOrder, case: Case, actor: Actor, at: datetime, *, cause: RootCause | None, case_resolved: bool
) -> Event:
    """v2: the catalogue entry (`cause`) beside its code, the note, the cause analysis of a serious case, and
    whether the whole (coordinated) case is resolved with this work order; v3: the customer's acceptance."""
    analysis = (
        CauseAnalysis(summary=order.cause_analysis, analysed_by=order.cause_analysed_by or actor.name)
        if order.cause_analysis
        else None
    )
    return new_event(
        WorkOrderResolved,
        payload=WorkOrderResolvedPayload(
            **_facts(order, case, actor, at),
            resolution=order.resolution or "",
            root_cause=order.root_cause or "",
            root_cause_detail=cause,
            root_cause_note=order.root_cause_note,
            cause_analysis=analysis,
            case_resolved=case_resolved,
            acceptance=_masked_acceptance(order.acceptance),
        ),
        **_envelope(case, None, at),
    )


def _masked_acceptance(acceptance: dict[str, Any] | None) -> CustomerAcceptance | None:
    """The customer's acceptance as shared topics may carry it: their name masked, like every name there (the
    real one stays in dispatch's own table, for the staff who may read it)."""
    if not acceptance:
        return None
    accepted = CustomerAcceptance.model_validate(acceptance)
    return accepted.model_copy(update={"customer_name": mask_name(accepted.customer_name)})


def returned(order: WorkOrder, case: Case, actor: Actor, at: datetime, reason: str, new_order: WorkOrder) -> Event:
    return new_event(
        WorkOrderReturned,
        payload=WorkOrderReturnedPayload(
            **_facts(order, case, actor, at),
            reason=reason,
            rerouted_to=Department(new_order.department),
            new_work_order_id=new_order.work_order_id,
        ),
        **_envelope(case, None, at),
    )


def reassigned(order: WorkOrder, case: Case, actor: Actor, at: datetime, reason: str, new_order: WorkOrder) -> Event:
    return new_event(
        WorkOrderReassigned,
        payload=WorkOrderReassignedPayload(
            **_facts(order, case, actor, at),
            reason=reason,
            new_category=Category(new_order.category),
            new_severity=Severity(new_order.severity),
            new_department=Department(new_order.department),
            new_work_order_id=new_order.work_order_id,
        ),
        **_envelope(case, None, at),
    )


# --- field work ------------------------------------------------------------------------------------------------


def crew_assigned(
    order: WorkOrder, case: Case, actor: Actor, at: datetime, crew: Crew, previous: str | None, note: str | None
) -> Event:
    return new_event(
        WorkOrderCrewAssigned,
        payload=WorkOrderCrewAssignedPayload(
            **_facts(order, case, actor, at),
            crew=crew.crew,
            crew_name_zh=crew.name_zh,
            crew_name_en=crew.name_en,
            previous_crew=previous,
            note=note,
        ),
        **_envelope(case, None, at),
    )


def appointment_agreed(order: WorkOrder, case: Case, actor: Actor, at: datetime, note: str | None) -> Event:
    assert order.appointment_start is not None and order.appointment_end is not None
    return new_event(
        WorkOrderAppointmentAgreed,
        payload=WorkOrderAppointmentPayload(
            **_facts(order, case, actor, at),
            window_start=order.appointment_start,
            window_end=order.appointment_end,
            note=note,
        ),
        **_envelope(case, None, at),
    )


def findings_recorded(order: WorkOrder, case: Case, actor: Actor, finding: Finding) -> Event:
    return new_event(
        WorkOrderFindingsRecorded,
        payload=WorkOrderFindingsPayload(
            **_facts(order, case, actor, finding.at),
            finding_id=finding.finding_id,
            indoor_temperature_c=finding.indoor_temperature_c,
            note=finding.note,
        ),
        **_envelope(case, None, finding.at),
    )


def photo_added(order: WorkOrder, case: Case, actor: Actor, photo: Photo) -> Event:
    return new_event(
        WorkOrderPhotoAdded,
        payload=WorkOrderPhotoPayload(
            **_facts(order, case, actor, photo.at),
            photo_id=photo.photo_id,
            content_type=photo.content_type,
            size_bytes=photo.size_bytes,
        ),
        **_envelope(case, None, photo.at),
    )


def visit_missed(
    order: WorkOrder, case: Case, actor: Actor, at: datetime, missed: WorkOrder, note: str | None
) -> Event:
    """The customer was not at home: `missed` is the work order before (its appointment the one missed), `order`
    after (its appointment the next visit)."""
    assert order.appointment_start is not None and order.appointment_end is not None
    return new_event(
        WorkOrderVisitMissed,
        payload=WorkOrderVisitMissedPayload(
            **_facts(order, case, actor, at),
            crew=order.crew,
            missed_window_start=missed.appointment_start,
            missed_window_end=missed.appointment_end,
            next_window_start=order.appointment_start,
            next_window_end=order.appointment_end,
            note=note,
        ),
        **_envelope(case, None, at),
    )


# --- incidents, outage notices and their callers -------------------------------------------------------------


def _incident_facts(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "reference_no": incident.reference_no,
        "family": incident.family,
        "asset": incident.asset,
        "district": incident.district,
        "compound": incident.compound,
        "department": incident.department,
        "category": incident.category,
        "work_order_id": incident.work_order_id,
        "status": incident.status,
        "severity": incident.severity,
        "complaint_count": incident.complaint_count,
        "households": incident.households,
        "eta": incident.eta,
        "description": incident.description,
    }


def _outage_facts(outage: Outage) -> dict[str, Any]:
    return {
        "outage_id": outage.outage_id,
        "reference_no": outage.reference_no,
        "kind": outage.kind,
        "family": outage.family,
        "asset": outage.asset,
        "district": outage.district,
        "compound": outage.compound,
        "starts_at": outage.starts_at,
        "expected_end": outage.expected_end,
        "description": outage.description,
        "description_en": outage.description_en,
        "status": outage.status,
        "complaint_count": outage.complaint_count,
        "source": outage.source,
    }


def _group_envelope(
    group_id: uuid.UUID, correlation_id: str, causation_id: uuid.UUID | None, at: datetime
) -> dict[str, Any]:
    """Incident and outage events are keyed by their own id (in the envelope's `complaint_id`)."""
    return {
        "complaint_id": group_id,
        "producer": PRODUCER,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "occurred_at": at,
    }


def incident_opened(incident: Incident, at: datetime) -> Event:
    return new_event(
        IncidentOpened,
        payload=IncidentOpenedPayload(
            **_incident_facts(incident), opened_by=incident.opened_by, actor=incident.actor, opened_at=at
        ),
        **_group_envelope(incident.incident_id, incident.correlation_id, None, at),
    )


def incident_linked(incident: Incident, case: Case, merged: WorkOrder | None, at: datetime) -> Event:
    return new_event(
        IncidentComplaintLinked,
        payload=IncidentComplaintLinkedPayload(
            **_incident_facts(incident),
            complaint_id=case.complaint_id,
            complaint_reference_no=case.reference_no,
            merged_work_order_id=merged.work_order_id if merged else None,
            linked_at=at,
        ),
        **_group_envelope(incident.incident_id, incident.correlation_id, None, at),
    )


def incident_eta_updated(
    incident: Incident, previous: datetime | None, note: str | None, actor: str, at: datetime
) -> Event:
    return new_event(
        IncidentEtaUpdated,
        payload=IncidentEtaUpdatedPayload(
            **_incident_facts(incident), previous_eta=previous, note=note, actor=actor, updated_at=at
        ),
        **_group_envelope(incident.incident_id, incident.correlation_id, None, at),
    )


def incident_resolved(incident: Incident, order: WorkOrder, actor: str, at: datetime) -> Event:
    return new_event(
        IncidentResolved,
        payload=IncidentResolvedPayload(
            **_incident_facts(incident),
            resolution=order.resolution or "",
            root_cause=order.root_cause or "",
            actor=actor,
            opened_at=incident.opened_at,
            resolve_by=order.resolve_by,
            resolved_at=at,
        ),
        **_group_envelope(incident.incident_id, incident.correlation_id, None, at),
    )


def outage_declared(outage: Outage, at: datetime) -> Event:
    return new_event(
        OutageDeclared,
        payload=OutageDeclaredPayload(**_outage_facts(outage), declared_at=at),
        **_group_envelope(outage.outage_id, _outage_correlation(outage), None, at),
    )


def outage_linked(outage: Outage, case: Case, at: datetime) -> Event:
    return new_event(
        OutageComplaintLinked,
        payload=OutageComplaintLinkedPayload(
            **_outage_facts(outage),
            complaint_id=case.complaint_id,
            complaint_reference_no=case.reference_no,
            linked_at=at,
        ),
        **_group_envelope(outage.outage_id, _outage_correlation(outage), None, at),
    )


def outage_updated(outage: Outage, previous: datetime | None, note: str | None, actor: str, at: datetime) -> Event:
    return new_event(
        OutageUpdated,
        payload=OutageUpdatedPayload(
            **_outage_facts(outage), previous_expected_end=previous, note=note, actor=actor, updated_at=at
        ),
        **_group_envelope(outage.outage_id, _outage_correlation(outage), None, at),
    )


def outage_ended(outage: Outage, actor: str, at: datetime) -> Event:
    return new_event(
        OutageEnded,
        payload=OutageEndedPayload(**_outage_facts(outage), actor=actor, ended_at=at),
        **_group_envelope(outage.outage_id, _outage_correlation(outage), None, at),
    )


def _outage_correlation(outage: Outage) -> str:
    return f"outage-{outage.outage_id}"


def joined(
    case: Case,
    *,
    incident: Incident | None,
    outage: Outage | None,
    merged: WorkOrder | None,
    reasons: list[str],
    causation_id: uuid.UUID | None,
    at: datetime,
) -> Event:
    """`complaint.joined`: the caller's case belongs to an incident or an outage notice now."""
    if incident is not None:
        group: dict[str, Any] = {
            "incident_id": incident.incident_id,
            "outage_id": None,
            "family": incident.family,
            "asset": incident.asset,
            "department": incident.department,
            "work_order_id": incident.work_order_id,
            "eta": incident.eta,
            "cause": incident.description,
            "cause_en": incident.description_en,
        }
    else:
        assert outage is not None
        group = {
            "incident_id": None,
            "outage_id": outage.outage_id,
            "family": outage.family,
            "asset": outage.asset,
            "department": None,
            "work_order_id": None,
            "eta": outage.expected_end,
            "cause": outage.description,
            "cause_en": outage.description_en,
        }
    return new_event(
        ComplaintJoined,
        payload=ComplaintJoinedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            district=case.district,
            category=Category(case.category),
            severity=Severity(case.severity),
            merged_work_order_id=merged.work_order_id if merged else None,
            reasons=reasons,
            joined_at=at,
            **group,
        ),
        **_envelope(case, causation_id, at),
    )


def eta_changed(case: Case, *, eta: datetime, previous: datetime | None, note: str | None, at: datetime) -> Event:
    return new_event(
        ComplaintEtaChanged,
        payload=ComplaintEtaChangedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            incident_id=case.incident_id,
            outage_id=case.outage_id,
            eta=eta,
            previous_eta=previous,
            note=note,
            changed_at=at,
        ),
        **_envelope(case, None, at),
    )


def fault_fixed(
    case: Case,
    *,
    work_order: WorkOrder | None,
    department: str,
    resolution: str,
    callback_limit: str,
    at: datetime,
) -> Event:
    """`complaint.fault_fixed`: the caller's group was fixed; followup tells them and schedules their callback."""
    return new_event(
        ComplaintFaultFixed,
        payload=ComplaintFaultFixedPayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            incident_id=case.incident_id,
            outage_id=case.outage_id,
            linked_to_complaint_id=case.linked_to if case.incident_id is None and case.outage_id is None else None,
            work_order_id=work_order.work_order_id if work_order else None,
            department=Department(department),
            category=Category(case.category),
            severity=Severity(case.severity),
            resolution=resolution,
            callback_limit=callback_limit,
            fixed_at=at,
            owner=case.owner,
        ),
        **_envelope(case, None, at),
    )


def awaiting_triage(case: Case, causation_id: uuid.UUID | None, at: datetime) -> Event:
    """`complaint.awaiting_triage`: doubtful, waiting for a supervisor with the model's suggestions."""
    return new_event(
        ComplaintAwaitingTriage,
        payload=ComplaintAwaitingTriagePayload(
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            channel=Channel(case.channel),
            district=case.district,
            account_no=case.account_no,
            severity=Severity(case.severity),
            suggestions=[TriageSuggestion.model_validate(s) for s in case.suggestions or []],
            reasons=case.reasons,
            model_version=case.model_version,
            accepted_at=case.accepted_at,
            queued_at=at,
        ),
        **_envelope(case, causation_id, at),
    )


# --- corrective actions (topic corrective-actions, keyed by complaint id) ---------------------------------------


def _action_facts(action: CorrectiveAction, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "complaint_id": action.complaint_id,
        "reference_no": action.reference_no,
        "work_order_id": action.work_order_id,
        "department": action.department,
        "severity": action.severity,
        "description": action.description,
        "owner": action.owner,
        "deadline": action.deadline,
        "status": action.status,
        "actor": actor,
        "at": at,
    }


def _action_envelope(case: Case, at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": case.complaint_id,
        "producer": PRODUCER,
        "correlation_id": case.correlation_id,
        "occurred_at": at,
    }


def corrective_action_set(action: CorrectiveAction, case: Case) -> Event:
    return new_event(
        CorrectiveActionSet,
        payload=CorrectiveActionFacts(**_action_facts(action, action.set_by, action.set_at)),
        **_action_envelope(case, action.set_at),
    )


def corrective_action_completed(action: CorrectiveAction, case: Case) -> Event:
    assert action.completed_at is not None and action.completed_by is not None
    return new_event(
        CorrectiveActionCompleted,
        payload=CorrectiveActionCompletedPayload(
            **_action_facts(action, action.completed_by, action.completed_at),
            outcome=action.outcome or "",
        ),
        **_action_envelope(case, action.completed_at),
    )


# --- serious cases' proposals (topic corrective-actions, keyed by complaint id) ----------------------------------


def _proposal_facts(proposal: SeriousProposal, actor: Actor, at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": proposal.complaint_id,
        "reference_no": proposal.reference_no,
        "work_order_id": proposal.work_order_id,
        "department": proposal.department,
        "severity": proposal.severity,
        "round": proposal.round,
        "cause_analysis": proposal.cause_analysis,
        "corrective_actions": proposal.corrective_actions,
        "status": proposal.status,
        "proposed_by": proposal.proposed_by,
        "proposed_by_name": proposal.proposed_by_name,
        "actor": actor.name,
        "actor_name": actor.label,
        "at": at,
    }


def serious_case_step(proposal: SeriousProposal, case: Case, actor: Actor, at: datetime) -> Event:
    """The event of the step that left `proposal` in its status: proposed, sent back (with the reason) or approved."""
    facts = _proposal_facts(proposal, actor, at)
    envelope = _action_envelope(case, at)
    if proposal.status == "sent_back":
        payload = SeriousCaseSentBackPayload(**facts, reason=proposal.decision_note or "")
        return new_event(SeriousCaseSentBack, payload=payload, **envelope)
    if proposal.status == "approved":
        payload_ok = SeriousCaseApprovedPayload(**facts, note=proposal.decision_note)
        return new_event(SeriousCaseApproved, payload=payload_ok, **envelope)
    return new_event(SeriousCaseProposed, payload=SeriousCaseFacts(**facts), **envelope)
