"""A scripted period of cases under the handling rules, as contract events (for reporting's tests).

Each `Scripted` case says what happens to it (owner, invalid, settled at first contact, work orders with their
deadlines and resolutions, a coordinated part, cause analysis, corrective actions, escalations, callback attempts
with survey scores) in hours after `t0`; `events` turns it into the events intake, dispatch and followup publish.
Tests compute their expectations from the `Scripted` data, never from the events or from reporting's own rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.contracts import (
    CallbackAttempted,
    CallbackScheduled,
    ComplaintEscalated,
    ComplaintInvalid,
    ComplaintReceived,
    ComplaintResolvedOnContact,
    ComplaintRouted,
    CorrectiveActionCompleted,
    CorrectiveActionSet,
    Event,
    WorkOrderAcknowledged,
    WorkOrderAssigned,
    WorkOrderResolved,
    new_event,
)

CATEGORY_OF = {"repair": "equipment_fault", "billing": "billing", "customer_service": "service_attitude"}


@dataclass(frozen=True)
class Attempt:
    agent: str
    outcome: str  # satisfied, dissatisfied, unreachable
    at_h: float
    final: bool = True
    scores: dict[str, int] | None = None


@dataclass(frozen=True)
class Action:
    description: str
    owner: str
    deadline_h: float
    completed_h: float | None = None


@dataclass(frozen=True)
class Escalation:
    stage: str
    level: int
    escalated_to: str
    at_h: float
    action: int | None = None  # index into the case's actions (stage corrective_action)


@dataclass(frozen=True)
class RootCause:
    code: str
    zh: str
    en: str
    note: str | None = None


@dataclass
class Scripted:
    """One case of the script (times in hours after t0)."""

    n: int
    channel: str
    district: str
    department: str = "repair"
    kind: str = "work_order"  # work_order, invalid, on_contact
    agent: str | None = None  # complaint.received agent_id
    assigned_owner: str | None = None  # workorder.assigned owner (when no agent took it)
    acknowledger: str | None = None  # workorder.acknowledged v2 owner: nobody owned it, the first to sign for it does
    severity: str = "normal"
    asset: str | None = None  # a heat-exchange station id
    resolve_by_h: float = 8
    resolved_h: float | None = None
    root_cause: RootCause | None = None
    assisting: tuple[str, float | None, RootCause | None] | None = None  # department, resolved at (None: open), cause
    cause_analysis: str | None = None
    actions: list[Action] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    invalid_reason: str | None = None
    handled_on_contact: str | None = None
    callback_due_h: float | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def complaint_id(self) -> uuid.UUID:
        return uuid.UUID(int=0x13_0000 + self.n)

    @property
    def reference_no(self) -> str:
        return f"TS-20250610-13{self.n:04d}"

    @property
    def work_order_id(self) -> uuid.UUID:
        return uuid.UUID(int=0x13_1000 + self.n)

    @property
    def assisting_work_order_id(self) -> uuid.UUID:
        return uuid.UUID(int=0x13_2000 + self.n)

    @property
    def callback_id(self) -> uuid.UUID:
        return uuid.UUID(int=0x13_3000 + self.n)

    def action_id(self, i: int) -> uuid.UUID:
        return uuid.UUID(int=0x13_4000 + self.n * 10 + i)

    @property
    def owner(self) -> str | None:
        return self.agent or self.assigned_owner or self.acknowledger

    @property
    def case_resolved_h(self) -> float | None:
        """When the whole case was resolved on its own clock: its last part's resolution."""
        if self.resolved_h is None:
            return None
        if self.assisting is None:
            return self.resolved_h
        assisting_h = self.assisting[1]
        return None if assisting_h is None else max(self.resolved_h, assisting_h)

    @property
    def category(self) -> str:
        if self.kind == "on_contact":
            return "consultation"
        return "safety_hazard" if self.severity == "emergency" else CATEGORY_OF[self.department]


def events(case: Scripted, t0: datetime) -> list[Event]:
    """Every event of the case, as the services publish them."""
    cid, ref = case.complaint_id, case.reference_no

    def at(hours: float) -> datetime:
        return t0 + timedelta(hours=hours)

    def event(cls: type[Event], hours: float, payload: dict[str, Any]) -> Event:
        return new_event(
            cls, complaint_id=cid, payload=payload, producer="test", correlation_id="c", occurred_at=at(hours)
        )

    accepted_h = case.n / 60
    customer = {"account_no": f"H13-{case.n}", "name_masked": "王*", "phone_masked": "139****0000"}
    location: dict[str, Any] = {"address": f"{case.n} 测试路", "district": case.district}
    if case.asset:
        location["asset"] = {"type": "heat_exchange_station", "id": case.asset}
    found: list[Event] = [
        event(
            ComplaintReceived,
            accepted_h,
            {
                "complaint_id": cid,
                "reference_no": ref,
                "channel": case.channel,
                "channel_ticket_id": None,
                "received_at": at(accepted_h),
                "accepted_at": at(accepted_h),
                "customer": {**customer, "preferred_contact": "phone"},
                "location": location,
                "text": "script",
                "category_hint": None,
                "agent_id": case.agent,
                "handled_on_contact": case.handled_on_contact,
            },
        )
    ]
    common = {"complaint_id": cid, "reference_no": ref, "channel": case.channel, "district": case.district}
    routed_h = accepted_h + 0.01
    if case.kind == "invalid":
        payload = {
            **common,
            "reason": case.invalid_reason,
            "category": "other",
            "account_no": customer["account_no"],
            "owner": case.agent,
            "decided_by": "dispatch",
            "invalid_at": at(routed_h),
        }
        return [*found, event(ComplaintInvalid, routed_h, payload)]
    if case.kind == "on_contact":
        payload = {
            **common,
            "resolution_id": case.work_order_id,
            "category": case.category,
            "severity": case.severity,
            "department": "customer_service",
            "account_no": customer["account_no"],
            "owner": case.agent,
            "handled_on_contact": case.handled_on_contact,
            "callback_limit": "24h",
            "resolved_at": at(routed_h),
        }
        found.append(event(ComplaintResolvedOnContact, routed_h, payload))
        return [*found, *_callback(case, event, at, "customer_service", case.work_order_id)]

    deadlines = {
        "starts_at": at(accepted_h),
        "acknowledge_by": at(accepted_h + 0.5),
        "on_site_by": None,
        "resolve_by": at(case.resolve_by_h),
        "interim_reply_by": None,
        "callback_limit": "24h",
        "policy_id": "script",
    }
    found.append(
        event(
            ComplaintRouted,
            routed_h,
            {
                **common,
                "work_order_id": case.work_order_id,
                "cycle": 1,
                "department": case.department,
                "category": case.category,
                "severity": case.severity,
                "priority": 1 if case.severity == "emergency" else 2 if case.severity == "serious" else 3,
                "valid": True,
                "invalid_reason": None,
                "reasons": [],
                "deadlines": deadlines,
                "account_no": customer["account_no"],
                "routed_at": at(routed_h),
                "reason": "new",
                "previous_work_order_id": None,
            },
        )
    )
    parts: list[tuple[uuid.UUID, str, str, uuid.UUID | None, float | None, RootCause | None]] = [
        (case.work_order_id, case.department, "lead", None, case.resolved_h, case.root_cause)
    ]
    if case.assisting:
        department, resolved_h, cause = case.assisting
        parts.append((case.assisting_work_order_id, department, "assisting", case.work_order_id, resolved_h, cause))
    for wo, department, role, lead, resolved_h, cause in parts:
        facts = {"work_order_id": wo, "complaint_id": cid, "reference_no": ref, "department": department, "cycle": 1}
        assigned_h = routed_h if role == "lead" else routed_h + 0.5
        found.append(
            event(
                WorkOrderAssigned,
                assigned_h,
                {
                    **facts,
                    "status": "assigned",
                    "actor": "dispatch",
                    "at": at(assigned_h),
                    "category": case.category,
                    "severity": case.severity,
                    "priority": 3,
                    "deadlines": deadlines,
                    "text": "script",
                    "location": location,
                    "customer": {**customer, "preferred_contact": "phone"},
                    "channel": case.channel,
                    "reasons": [],
                    "reopened": False,
                    # who owned it when this part was assigned: the lead's first signature may make an owner
                    "owner": case.agent or case.assigned_owner if role == "lead" else case.owner,
                    "role": role,
                    "lead_work_order_id": lead,
                    "area_class": "city",
                },
            )
        )
        found.append(
            event(
                WorkOrderAcknowledged,
                assigned_h + 0.1,
                {
                    **facts,
                    "status": "acknowledged",
                    "actor": department,
                    "at": at(assigned_h + 0.1),
                    "owner": case.owner,
                },
            )
        )
        if resolved_h is None:
            continue
        assert cause is not None
        last = resolved_h == case.case_resolved_h
        found.append(
            event(
                WorkOrderResolved,
                resolved_h,
                {
                    **facts,
                    "status": "resolved",
                    "actor": department,
                    "at": at(resolved_h),
                    "resolution": "fixed",
                    "root_cause": cause.code,
                    "root_cause_detail": {"code": cause.code, "label_zh": cause.zh, "label_en": cause.en},
                    "root_cause_note": cause.note,
                    "cause_analysis": (
                        {"summary": case.cause_analysis, "analysed_by": "leadership"}
                        if case.cause_analysis and role == "lead"
                        else None
                    ),
                    "case_resolved": last,
                },
            )
        )
    for i, action in enumerate(case.actions):
        facts = {
            "action_id": case.action_id(i),
            "complaint_id": cid,
            "reference_no": ref,
            "work_order_id": case.work_order_id,
            "department": case.department,
            "severity": case.severity,
            "description": action.description,
            "owner": action.owner,
            "deadline": at(action.deadline_h),
        }
        set_h = (case.resolved_h or 1) - 0.2
        found.append(
            event(CorrectiveActionSet, set_h, {**facts, "status": "open", "actor": "leadership", "at": at(set_h)})
        )
        if action.completed_h is not None:
            done = {**facts, "status": "done", "actor": action.owner, "at": at(action.completed_h), "outcome": "done"}
            found.append(event(CorrectiveActionCompleted, action.completed_h, done))
    for e in case.escalations:
        payload = {
            "complaint_id": cid,
            "reference_no": ref,
            "work_order_id": case.work_order_id,
            "department": case.department,
            "stage": e.stage,
            "level": e.level,
            "escalated_to": e.escalated_to,
            "deadline": at(case.resolve_by_h),
            "reason": f"{e.stage} limit missed",
            "escalated_at": at(e.at_h),
            "ladder": "serious" if case.severity != "normal" else "standard",
            "corrective_action_id": case.action_id(e.action) if e.action is not None else None,
        }
        found.append(event(ComplaintEscalated, e.at_h, payload))
    if case.case_resolved_h is not None:
        found.extend(_callback(case, event, at, case.department, case.work_order_id))
    return found


def _callback(case: Scripted, event: Any, at: Any, department: str, work_order_id: uuid.UUID) -> list[Event]:
    if case.callback_due_h is None:
        return []
    scheduled_h = case.case_resolved_h or (case.n / 60 + 0.02)
    facts = {
        "callback_id": case.callback_id,
        "complaint_id": case.complaint_id,
        "reference_no": case.reference_no,
        "work_order_id": work_order_id,
        "department": department,
        "cycle": 1,
        "due_at": at(case.callback_due_h),
        "owner": case.owner,
    }
    found = [event(CallbackScheduled, scheduled_h, {**facts, "at": at(scheduled_h)})]
    for i, attempt in enumerate(case.attempts, start=1):
        payload = {
            **facts,
            "at": at(attempt.at_h),
            "outcome": attempt.outcome,
            "attempt": i,
            "agent": attempt.agent,
            "final": attempt.final,
            "scores": attempt.scores,
        }
        found.append(event(CallbackAttempted, attempt.at_h, payload))
    return found


VALVE = RootCause("repair.valve_failure", "阀门故障", "Valve failure")
PIPE = RootCause("repair.pipe_burst", "管道破裂", "Pipe burst", note="old cast iron")
GAS = RootCause("repair.gas_leak", "燃气泄漏", "Gas leak")
METER = RootCause("billing.meter_misread", "抄表错误", "Meter misread")
CONDUCT = RootCause("customer_service.staff_conduct", "服务态度", "Staff conduct")


def period_script() -> list[Scripted]:
    """A day of cases: resolved in time, late, open past their deadline, open not yet due, invalid, settled at
    first contact, a coordinated serious case with corrective actions, an emergency one without; callbacks by
    several agents with scores (reached, unreachable, retried, missed, not yet due)."""
    S = Scripted
    return [
        S(1, "phone", "heping", agent="agent-a", asset="HES-1", resolved_h=2, root_cause=VALVE, callback_due_h=5,
          attempts=[Attempt("agent-c", "satisfied", 4, scores={"supply": 5, "attitude": 5, "speed": 4})]),
        S(2, "web", "tiexi", assigned_owner="desk-1", resolved_h=3, root_cause=VALVE, callback_due_h=6,
          attempts=[Attempt("agent-c", "unreachable", 5, final=False),
                    Attempt("agent-b", "satisfied", 6.5, scores={"supply": 4, "attitude": 3, "speed": 4})]),
        S(3, "counter", "heping", department="billing", agent="agent-b", resolved_h=1, root_cause=METER,
          callback_due_h=4,
          attempts=[Attempt("agent-b", "dissatisfied", 3.5,
                            scores={"supply": 2, "attitude": 2, "speed": 3, "billing": 1})]),
        S(4, "phone", "heping", agent="agent-a", asset="HES-1", resolved_h=9, root_cause=PIPE, callback_due_h=12),
        S(5, "app", "shenhe", department="customer_service", resolved_h=9.5, root_cause=CONDUCT,
          callback_due_h=9.8, attempts=[Attempt("agent-c", "unreachable", 9.9)]),
        S(6, "phone", "heping", agent="agent-b"),  # open past its deadline
        S(7, "wechat", "tiexi", resolve_by_h=7, acknowledger="repair-desk-3"),  # open past its deadline
        S(8, "phone", "heping", agent="agent-a", resolve_by_h=12),  # open, not due yet
        S(9, "phone", "tiexi", agent="agent-c", resolve_by_h=12, resolved_h=4, root_cause=VALVE, callback_due_h=9),
        S(10, "phone", "heping", agent="agent-a", severity="serious", asset="HES-2", resolved_h=3, root_cause=PIPE,
          assisting=("billing", 8.5, METER), cause_analysis="corroded main under the compound",
          actions=[Action("replace the compound's valves", "repair-team-2", 9, completed_h=7),
                   Action("audit the meter readings", "billing-lead", 9.5)],
          escalations=[Escalation("resolve", 1, "supervisor", 8.1),
                       Escalation("corrective_action", 1, "department_manager", 9.6, action=1)],
          callback_due_h=9.7,
          attempts=[Attempt("agent-a", "satisfied", 9.75,
                            scores={"supply": 5, "attitude": 4, "speed": 3, "billing": 2})]),
        S(11, "counter", "shenhe", agent="agent-b", severity="emergency", resolve_by_h=4, resolved_h=3.5,
          root_cause=GAS, cause_analysis="a fitter's loose coupling", callback_due_h=7,
          attempts=[Attempt("agent-b", "satisfied", 6, scores={"supply": 5, "attitude": 5, "speed": 5})]),
        S(12, "phone", "heping", kind="invalid", agent="agent-a", invalid_reason="outside the service area"),
        S(13, "web", "tiexi", kind="invalid", invalid_reason="not a complaint"),
        S(14, "phone", "heping", kind="on_contact", agent="agent-a", handled_on_contact="explained the tariff",
          callback_due_h=6, attempts=[Attempt("agent-c", "satisfied", 5.5, scores={"supply": 4, "attitude": 5})]),
        S(15, "counter", "tiexi", kind="on_contact", agent="agent-b", handled_on_contact="reset the card",
          callback_due_h=11),
        S(16, "phone", "shenhe", kind="on_contact", agent="agent-c", handled_on_contact="told the outage cause",
          callback_due_h=8, attempts=[Attempt("agent-a", "dissatisfied", 7)]),
        S(17, "web", "heping", resolve_by_h=30),  # due the next day: not in this period's timeliness
        # coordinated: the lead done, its assisting part still open past its deadline (in billing's queue)
        S(18, "app", "shenhe", resolved_h=3, root_cause=VALVE, assisting=("billing", None, None)),
    ]  # fmt: skip
