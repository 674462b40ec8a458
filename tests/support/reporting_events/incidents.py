"""Valid contract events of one fault and its callers (an incident) and of an outage notice, as dispatch and
followup publish them, for reporting's tests: unit (the derivation), service (real Postgres and Kafka) and the
dashboard page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.contracts import (
    CallbackAttempted,
    CallbackScheduled,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintEtaChanged,
    ComplaintFaultFixed,
    ComplaintJoined,
    ComplaintReceived,
    ComplaintRouted,
    CorrectiveActionCompleted,
    CorrectiveActionSet,
    Event,
    IncidentComplaintLinked,
    IncidentEtaUpdated,
    IncidentOpened,
    IncidentResolved,
    OutageComplaintLinked,
    OutageDeclared,
    OutageUpdated,
    SlaWarning,
    WorkOrderAcknowledged,
    WorkOrderAssigned,
    WorkOrderReassigned,
    WorkOrderResolved,
    new_event,
)

STATION = {"type": "heat_exchange_station", "id": "HES-0231"}
#: The catalogue root cause and the cause analysis the incident's work order is resolved with (it is serious).
PUMP = {"code": "repair.pump_failure", "label_zh": "循环泵故障", "label_en": "Circulation pump failure"}
CAUSE_ANALYSIS = "the station's circulation pump bearing was never serviced"
FEEDER = {"type": "feeder", "id": "FDR-10K-07"}
#: The incident's work order must be resolved within this (its SLA), counted from its assignment.
INCIDENT_LIMIT = timedelta(hours=4)


@dataclass
class Caller:
    complaint_id: uuid.UUID
    reference_no: str
    account_no: str


@dataclass
class Storm:
    """Builds the events of one scenario in time order; `t0` is when the first caller called.

    Minutes are counted from `t0`; every builder appends to `events` and returns what it built.
    """

    t0: datetime
    seed: int = 1
    district: str = "heping"
    events: list[Event] = field(default_factory=list)
    incident_id: uuid.UUID = field(init=False)
    incident_ref: str = field(init=False)
    incident_wo: uuid.UUID = field(init=False)
    outage_id: uuid.UUID = field(init=False)
    outage_ref: str = field(init=False)
    callers: list[Caller] = field(default_factory=list)
    linked: list[Caller] = field(default_factory=list)
    eta: datetime | None = None
    opened_at: datetime | None = None
    outage_eta: datetime | None = None
    outage_callers: list[Caller] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.incident_id = self._id(1)
        self.incident_ref = f"INC-20261123-{self.seed:06X}"
        self.incident_wo = self._id(2)
        self.outage_id = self._id(3)
        self.outage_ref = f"OUT-20261123-{self.seed:06X}"

    # -- helpers ------------------------------------------------------------------------------------------

    def _id(self, n: int) -> uuid.UUID:
        return uuid.UUID(int=(self.seed << 64) + (n << 32))

    def at(self, minutes: float) -> datetime:
        return self.t0 + timedelta(minutes=minutes)

    def _emit(self, cls: type[Event], key: uuid.UUID, minutes: float, payload: dict[str, Any]) -> Event:
        event = new_event(
            cls,
            complaint_id=key,
            payload=payload,
            producer="test",
            correlation_id="storm",
            occurred_at=self.at(minutes),
        )
        self.events.append(event)
        return event

    def _incident_facts(self, *, status: str = "open", severity: str = "serious") -> dict[str, Any]:
        callers = len(self.callers)
        return {
            "incident_id": self.incident_id,
            "reference_no": self.incident_ref,
            "family": "no_heat",
            "asset": STATION,
            "district": self.district,
            "compound": None,
            "department": "repair",
            "category": "heating_temperature",
            "work_order_id": self.incident_wo,
            "status": status,
            "severity": severity,
            "complaint_count": callers,
            "households": callers,
            "eta": self.eta,
            "description": "换热站循环泵故障",
        }

    def _outage_facts(self, *, status: str = "active") -> dict[str, Any]:
        return {
            "outage_id": self.outage_id,
            "reference_no": self.outage_ref,
            "kind": "unplanned",
            "family": "power_outage",
            "asset": FEEDER,
            "district": "tiexi",
            "compound": None,
            "starts_at": self.at(-60),
            "expected_end": self.outage_eta,
            "description": "10千伏线路故障抢修",
            "description_en": "10 kV feeder repair",
            "status": status,
            "complaint_count": len(self.outage_callers),
            "source": "scada",
        }

    def _wo_facts(self, wo: uuid.UUID, key: uuid.UUID, ref: str, status: str, minutes: float) -> dict[str, Any]:
        at = self.at(minutes)
        return {
            "work_order_id": wo,
            "complaint_id": key,
            "reference_no": ref,
            "department": "repair",
            "cycle": 1,
            "status": status,
            "actor": "repair",
            "at": at,
        }

    def _deadlines(self, minutes: float, limit: timedelta) -> dict[str, Any]:
        return {
            "starts_at": self.at(minutes),
            "acknowledge_by": self.at(minutes + 30),
            "on_site_by": None,
            "resolve_by": self.at(minutes) + limit,
            "interim_reply_by": None,
            "callback_limit": "24h",
            "policy_id": "test",
        }

    # -- a caller -----------------------------------------------------------------------------------------

    def call(
        self, n: int, minutes: float, *, asset: dict[str, str] | None = None, district: str | None = None
    ) -> Caller:
        """complaint.received (masked customer, the caller's address and, if they named it, an asset)."""
        caller = Caller(self._id(100 + n), f"TS-20261123-{self.seed:02d}{n:04d}", f"HT-{self.seed:02d}{n:04d}")
        location: dict[str, Any] = {"address": f"长青小区{n}号楼", "district": district or self.district}
        if asset is not None:
            location["asset"] = asset
        self._emit(
            ComplaintReceived,
            caller.complaint_id,
            minutes,
            {
                "complaint_id": caller.complaint_id,
                "reference_no": caller.reference_no,
                "channel": "phone",
                "channel_ticket_id": None,
                "received_at": self.at(minutes),
                "accepted_at": self.at(minutes),
                "customer": {
                    "account_no": caller.account_no,
                    "name_masked": "王*",
                    "phone_masked": "139****0000",
                    "preferred_contact": "phone",
                },
                "location": location,
                "text": "暖气不热",
                "category_hint": None,
            },
        )
        return caller

    def route(self, caller: Caller, minutes: float) -> uuid.UUID:
        """complaint.routed and an acknowledgement: the caller's own work order, before any incident."""
        wo = uuid.UUID(int=caller.complaint_id.int + 1)
        deadlines = self._deadlines(minutes, timedelta(hours=24))
        self._emit(
            ComplaintRouted,
            caller.complaint_id,
            minutes,
            {
                "complaint_id": caller.complaint_id,
                "reference_no": caller.reference_no,
                "work_order_id": wo,
                "cycle": 1,
                "department": "repair",
                "category": "heating_temperature",
                "severity": "normal",
                "priority": 3,
                "valid": True,
                "invalid_reason": None,
                "reasons": [],
                "deadlines": deadlines,
                "channel": "phone",
                "district": self.district,
                "account_no": caller.account_no,
                "routed_at": self.at(minutes),
                "reason": "new",
                "previous_work_order_id": None,
            },
        )
        facts = self._wo_facts(wo, caller.complaint_id, caller.reference_no, "acknowledged", minutes + 5)
        self._emit(WorkOrderAcknowledged, caller.complaint_id, minutes + 5, facts)
        return wo

    # -- the incident -------------------------------------------------------------------------------------

    def open_incident(self, minutes: float, callers: list[Caller], *, merged: dict[uuid.UUID, uuid.UUID]) -> None:
        """incident.opened over `callers`, its work order assigned, and each caller linked and told:
        a caller with an own open work order (`merged`: caller -> work order) has it closed as merged first."""
        self.callers = list(callers)
        self.eta = self.at(minutes + 180)
        self.opened_at = self.at(minutes)
        self._emit(
            IncidentOpened,
            self.incident_id,
            minutes,
            {**self._incident_facts(), "opened_by": "threshold", "actor": "dispatch", "opened_at": self.at(minutes)},
        )
        assigned = self._wo_facts(self.incident_wo, self.incident_id, self.incident_ref, "assigned", minutes)
        self._emit(
            WorkOrderAssigned,
            self.incident_id,
            minutes,
            {
                **assigned,
                "category": "heating_temperature",
                "severity": "serious",
                "priority": 2,
                "deadlines": self._deadlines(minutes, INCIDENT_LIMIT),
                "text": "换热站循环泵故障",
                "location": {"address": "长青小区", "district": self.district},
                "customer": {
                    "account_no": None,
                    "name_masked": None,
                    "phone_masked": None,
                    "preferred_contact": "phone",
                },
                "channel": "phone",
                "reasons": ["incident"],
                "reopened": False,
            },
        )
        for caller in callers:
            self.link(caller, minutes, merged=merged.get(caller.complaint_id))

    def link(self, caller: Caller, minutes: float, *, merged: uuid.UUID | None = None) -> None:
        if caller not in self.callers:
            self.callers.append(caller)
        if merged is not None:
            facts = self._wo_facts(merged, caller.complaint_id, caller.reference_no, "reassigned", minutes)
            self._emit(
                WorkOrderReassigned,
                caller.complaint_id,
                minutes,
                {
                    **facts,
                    "reason": f"merged into incident {self.incident_ref}",
                    "new_category": "heating_temperature",
                    "new_severity": "serious",
                    "new_department": "repair",
                    "new_work_order_id": self.incident_wo,
                },
            )
        self._emit(
            IncidentComplaintLinked,
            self.incident_id,
            minutes,
            {
                **self._incident_facts(),
                "complaint_id": caller.complaint_id,
                "complaint_reference_no": caller.reference_no,
                "merged_work_order_id": merged,
                "linked_at": self.at(minutes),
            },
        )
        self._joined(caller, minutes, incident=True, merged=merged)

    def _joined(self, caller: Caller, minutes: float, *, incident: bool, merged: uuid.UUID | None = None) -> None:
        self._emit(
            ComplaintJoined,
            caller.complaint_id,
            minutes,
            {
                "complaint_id": caller.complaint_id,
                "reference_no": caller.reference_no,
                "incident_id": self.incident_id if incident else None,
                "outage_id": None if incident else self.outage_id,
                "family": "no_heat" if incident else "power_outage",
                "asset": STATION if incident else FEEDER,
                "district": self.district if incident else "tiexi",
                "category": "heating_temperature" if incident else "outage",
                "severity": "serious" if incident else "normal",
                "department": "repair" if incident else None,
                "work_order_id": self.incident_wo if incident else None,
                "merged_work_order_id": merged,
                "eta": self.eta if incident else self.outage_eta,
                "cause": "换热站故障",
                "cause_en": "heat-exchange station fault",
                "reasons": ["same asset"],
                "joined_at": self.at(minutes),
            },
        )

    def acknowledge_incident(self, minutes: float) -> None:
        facts = self._wo_facts(self.incident_wo, self.incident_id, self.incident_ref, "acknowledged", minutes)
        self._emit(WorkOrderAcknowledged, self.incident_id, minutes, facts)

    @property
    def resolve_by(self) -> datetime:
        assert self.opened_at is not None, "open the incident first"
        return self.opened_at + INCIDENT_LIMIT

    def warn_and_escalate(self, minutes: float) -> None:
        """followup's resolve clock of the incident's work order: a warning at `minutes`, then, a minute after
        the deadline, the breach one rung up."""
        deadline = self.resolve_by
        common = {
            "complaint_id": self.incident_id,
            "reference_no": self.incident_ref,
            "work_order_id": self.incident_wo,
            "department": "repair",
            "stage": "resolve",
        }
        self._emit(
            SlaWarning,
            self.incident_id,
            minutes,
            {**common, "deadline": deadline, "warned_at": self.at(minutes), "share": 0.8},
        )
        breach = (deadline - self.t0).total_seconds() / 60 + 1
        self._emit(
            ComplaintEscalated,
            self.incident_id,
            breach,
            {
                **common,
                "level": 1,
                "escalated_to": "supervisor",
                "deadline": deadline,
                "reason": "resolve limit breached",
                "escalated_at": self.at(breach),
            },
        )

    def change_eta(self, minutes: float, new_eta_minutes: float) -> None:
        previous, self.eta = self.eta, self.at(new_eta_minutes)
        self._emit(
            IncidentEtaUpdated,
            self.incident_id,
            minutes,
            {
                **self._incident_facts(),
                "previous_eta": previous,
                "note": "需更换水泵",
                "actor": "repair",
                "updated_at": self.at(minutes),
            },
        )
        for caller in self.callers:
            self._eta_changed(caller, minutes, previous, incident=True)

    def _eta_changed(self, caller: Caller, minutes: float, previous: datetime | None, *, incident: bool) -> None:
        self._emit(
            ComplaintEtaChanged,
            caller.complaint_id,
            minutes,
            {
                "complaint_id": caller.complaint_id,
                "reference_no": caller.reference_no,
                "incident_id": self.incident_id if incident else None,
                "outage_id": None if incident else self.outage_id,
                "eta": self.eta if incident else self.outage_eta,
                "previous_eta": previous,
                "note": None,
                "changed_at": self.at(minutes),
            },
        )

    def resolve_incident(self, minutes: float) -> None:
        """The work order resolved (at serious severity: with its catalogue root cause and cause analysis), the
        incident resolved, every caller told their fault is fixed."""
        facts = self._wo_facts(self.incident_wo, self.incident_id, self.incident_ref, "resolved", minutes)
        resolution = {
            "resolution": "换泵",
            "root_cause": PUMP["code"],
            "root_cause_detail": PUMP,
            "root_cause_note": "bearing worn out",
            "cause_analysis": {"summary": CAUSE_ANALYSIS, "analysed_by": "repair-lead"},
        }
        self._emit(WorkOrderResolved, self.incident_id, minutes, {**facts, **resolution})
        self._emit(
            IncidentResolved,
            self.incident_id,
            minutes,
            {
                **self._incident_facts(status="resolved"),
                "resolution": "换泵",
                "root_cause": PUMP["code"],
                "actor": "repair",
                "opened_at": self.opened_at,
                "resolve_by": self.resolve_by,
                "resolved_at": self.at(minutes),
            },
        )
        for caller in self.callers:
            self._emit(
                ComplaintFaultFixed,
                caller.complaint_id,
                minutes + 1,
                {
                    "complaint_id": caller.complaint_id,
                    "reference_no": caller.reference_no,
                    "incident_id": self.incident_id,
                    "outage_id": None,
                    "linked_to_complaint_id": None,
                    "work_order_id": self.incident_wo,
                    "department": "repair",
                    "category": "heating_temperature",
                    "severity": "serious",
                    "resolution": "换泵",
                    "callback_limit": "24h",
                    "fixed_at": self.at(minutes),
                },
            )

    def corrective_action(
        self, n: int, minutes: float, description: str, *, deadline: float, completed: float | None = None
    ) -> uuid.UUID:
        """A corrective action on the incident (as dispatch publishes one: keyed and referenced as the incident),
        set at `minutes`, due at `deadline`, done at `completed`; and, if it is not done by its deadline,
        followup's escalation of it a minute after."""
        action_id = self._id(500 + n)
        facts = {
            "action_id": action_id,
            "complaint_id": self.incident_id,
            "reference_no": self.incident_ref,
            "work_order_id": self.incident_wo,
            "department": "repair",
            "severity": "serious",
            "description": description,
            "owner": "repair-team-1",
            "deadline": self.at(deadline),
        }
        self._emit(
            CorrectiveActionSet,
            self.incident_id,
            minutes,
            {**facts, "status": "open", "actor": "repair-lead", "at": self.at(minutes)},
        )
        if completed is not None:
            done = {**facts, "status": "done", "actor": "repair-team-1", "at": self.at(completed), "outcome": "done"}
            self._emit(CorrectiveActionCompleted, self.incident_id, completed, done)
        if completed is None or completed > deadline:
            self._emit(
                ComplaintEscalated,
                self.incident_id,
                deadline + 1,
                {
                    "complaint_id": self.incident_id,
                    "reference_no": self.incident_ref,
                    "work_order_id": self.incident_wo,
                    "department": "repair",
                    "stage": "corrective_action",
                    "level": 1,
                    "escalated_to": "department_manager",
                    "ladder": "corrective_action",
                    "deadline": self.at(deadline),
                    "reason": "corrective action overdue",
                    "escalated_at": self.at(deadline + 1),
                    "corrective_action_id": action_id,
                },
            )
        return action_id

    def call_back(self, caller: Caller, minutes: float, outcome: str) -> None:
        """followup's own callback for the caller, on the incident's work order, then the case closed."""
        facts = {
            "callback_id": uuid.UUID(int=caller.complaint_id.int + 7),
            "complaint_id": caller.complaint_id,
            "reference_no": caller.reference_no,
            "work_order_id": self.incident_wo,
            "department": "repair",
            "cycle": 1,
            "due_at": self.at(minutes + 24 * 60),
        }
        self._emit(CallbackScheduled, caller.complaint_id, minutes, {**facts, "at": self.at(minutes)})
        self._emit(
            CallbackAttempted,
            caller.complaint_id,
            minutes + 30,
            {**facts, "at": self.at(minutes + 30), "outcome": outcome, "attempt": 1, "agent": "a1", "final": True},
        )
        if outcome == "satisfied":
            self._emit(
                ComplaintClosed,
                caller.complaint_id,
                minutes + 31,
                {
                    "complaint_id": caller.complaint_id,
                    "reference_no": caller.reference_no,
                    "work_order_id": self.incident_wo,
                    "outcome": "satisfied",
                    "cycles": 1,
                    "closed_at": self.at(minutes + 31),
                },
            )

    # -- the outage notice ----------------------------------------------------------------------------------

    def declare_outage(self, minutes: float) -> None:
        self.outage_eta = self.at(minutes + 240)
        self._emit(OutageDeclared, self.outage_id, minutes, {**self._outage_facts(), "declared_at": self.at(minutes)})

    def outage_caller(self, caller: Caller, minutes: float) -> None:
        self.outage_callers.append(caller)
        self._emit(
            OutageComplaintLinked,
            self.outage_id,
            minutes,
            {
                **self._outage_facts(),
                "complaint_id": caller.complaint_id,
                "complaint_reference_no": caller.reference_no,
                "linked_at": self.at(minutes),
            },
        )
        self._joined(caller, minutes, incident=False)

    def delay_outage(self, minutes: float, new_end_minutes: float) -> None:
        previous, self.outage_eta = self.outage_eta, self.at(new_end_minutes)
        self._emit(
            OutageUpdated,
            self.outage_id,
            minutes,
            {
                **self._outage_facts(),
                "previous_expected_end": previous,
                "note": None,
                "actor": "scada",
                "updated_at": self.at(minutes),
            },
        )
        for caller in self.outage_callers:
            self._eta_changed(caller, minutes, previous, incident=False)


def storm(t0: datetime, *, seed: int = 1, resolved: bool = True) -> Storm:
    """Three callers about one station (the first had its own work order, merged into the incident), an incident
    opened by the threshold 40 min in, warned and escalated, its ETA moved; resolved at 5 h (past its deadline,
    4 h after it opened)
    when `resolved`, each caller then called back. And an outage notice of a feeder with one caller, ETA moved,
    still active."""
    s = Storm(t0, seed=seed)
    first = s.call(1, 0, asset={"type": "building", "id": "B-5"})
    own_wo = s.route(first, 1)
    second, third = s.call(2, 20), s.call(3, 40)
    s.open_incident(40, [first, second, third], merged={first.complaint_id: own_wo})
    s.acknowledge_incident(50)
    s.warn_and_escalate(232)
    s.change_eta(210, 320)
    s.declare_outage(60)
    s.outage_caller(s.call(9, 70, district="tiexi"), 70)
    s.delay_outage(90, 400)
    if resolved:
        s.resolve_incident(300)
        s.call_back(first, 400, "satisfied")
        s.call_back(second, 400, "dissatisfied")
    return s
