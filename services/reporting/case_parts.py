"""The parts of a case that come in several: its work orders (a coordinated case has a lead and assisting ones),
its callbacks (one per handling cycle, with attempts and the survey), its corrective actions (serious cases), its
messages (one per notification, with its latest delivery status: `notification.delivery`) and its escalations.
Each is built from the case's timeline in (occurred_at, event_id) order by `CaseParts.apply`,
so like the case row they depend only on which events exist (pure, no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Callback outcomes that reached the customer: a completed callback (unreachable is an attempt, not coverage).
REACHED = ("satisfied", "dissatisfied")
#: The survey's marks (1-5), as `callback.attempted` v2 carries them.
SCORES = ("supply", "attitude", "speed", "billing")


def as_datetime(value: str | datetime) -> datetime:
    """Timestamps in a stored payload are ISO strings (JSON); in a derived state, datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@dataclass
class WorkOrderPart:
    work_order_id: str
    complaint_id: str
    department: str
    role: str = "lead"
    lead_work_order_id: str | None = None
    cycle: int = 1
    status: str = "assigned"
    area_class: str | None = None
    assigned_at: datetime | None = None
    resolve_by: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    root_cause: str | None = None
    root_cause_zh: str | None = None
    root_cause_en: str | None = None
    root_cause_note: str | None = None
    cause_analysis: dict[str, Any] | None = None
    case_resolved: bool | None = None
    #: Who resolved it: a person's staff id (or a credential's name), and the display name the event gave.
    resolved_by: str | None = None
    resolved_by_name: str | None = None


@dataclass
class CallbackPart:
    callback_id: str
    complaint_id: str
    department: str
    cycle: int
    due_at: datetime
    owner: str | None = None
    scheduled_at: datetime | None = None
    attempts: int = 0
    outcome: str | None = None
    final: bool = False
    agent: str | None = None
    last_attempt_at: datetime | None = None
    score_supply: int | None = None
    score_attitude: int | None = None
    score_speed: int | None = None
    score_billing: int | None = None
    #: v3: the display name of the person who made the latest attempt (`agent` their staff id), and its method.
    agent_name: str | None = None
    method: str | None = None


@dataclass
class CorrectiveActionPart:
    action_id: str
    complaint_id: str
    work_order_id: str | None
    department: str
    description: str
    owner: str
    deadline: datetime
    status: str
    set_by: str | None = None
    set_at: datetime | None = None
    completed_at: datetime | None = None
    outcome: str | None = None


#: How far a delivery status has come, to order two reports of one message with the same time and attempts.
STATUS_RANK = {"queued": 0, "sent": 1, "suppressed": 2, "delivered": 2, "failed": 2}


def delivery_order(p: dict[str, Any]) -> tuple[datetime, int, int]:
    """Which report of a message is its latest: by when the status was entered, then attempts, then how far the
    status has come — never by event ids (random), so a rebuild keeps the same latest status."""
    return (as_datetime(p["status_at"]), p["attempts"], STATUS_RANK.get(p["status"], 0))


@dataclass
class MessagePart:
    """One message of the case as notify last reported it: one line per message, its latest status."""

    notification_id: str
    complaint_id: str
    template_id: str
    recipient_kind: str
    status: str
    attempts: int
    requested_at: datetime
    updated_at: datetime
    channel: str | None = None
    provider: str | None = None
    reason: str | None = None
    provider_message_id: str | None = None


#: An escalation's answer steps (issue 24) and where each leaves the answer.
ESCALATION_STEPS: dict[str, str] = {
    "escalation.acknowledged": "acknowledged",
    "escalation.answered": "answered",
    "escalation.sent_back": "sent_back",
}


@dataclass
class CaseParts:
    """Accumulates the parts while `case_state.derive` walks the timeline."""

    complaint_id: str
    work_orders: dict[str, WorkOrderPart] = field(default_factory=dict)
    callbacks: dict[str, CallbackPart] = field(default_factory=dict)
    corrective_actions: dict[str, CorrectiveActionPart] = field(default_factory=dict)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, MessagePart] = field(default_factory=dict)
    _latest: dict[str, tuple[datetime, int, int]] = field(default_factory=dict)

    def apply(self, event_type: str, p: dict[str, Any], occurred_at: datetime) -> None:
        if event_type == "complaint.routed":
            wo = self._work_order(p)
            wo.resolve_by = as_datetime(p["deadlines"]["resolve_by"])
            wo.assigned_at = wo.assigned_at or occurred_at
        elif event_type == "workorder.assigned":
            wo = self._work_order(p)
            wo.role, wo.area_class = p.get("role") or "lead", p.get("area_class")
            wo.lead_work_order_id = p.get("lead_work_order_id")
            wo.resolve_by = as_datetime(p["deadlines"]["resolve_by"])
            wo.assigned_at = wo.assigned_at or occurred_at
        elif event_type.startswith("workorder."):
            wo = self._work_order(p)
            wo.status = p["status"]
            self._steered(event_type, p, wo)
            if event_type == "workorder.resolved":
                detail = p.get("root_cause_detail") or {}
                wo.resolved_at, wo.resolution, wo.root_cause = as_datetime(p["at"]), p["resolution"], p["root_cause"]
                wo.root_cause_zh, wo.root_cause_en = detail.get("label_zh"), detail.get("label_en")
                wo.root_cause_note, wo.cause_analysis = p.get("root_cause_note"), p.get("cause_analysis")
                wo.case_resolved = p.get("case_resolved", True)
                wo.resolved_by, wo.resolved_by_name = p.get("actor"), p.get("actor_name")
        elif event_type == "callback.scheduled":
            callback = self._callback(p)
            callback.scheduled_at, callback.due_at = as_datetime(p["at"]), as_datetime(p["due_at"])
        elif event_type == "callback.attempted":
            callback = self._callback(p)
            callback.attempts += 1
            callback.outcome, callback.final, callback.agent = p["outcome"], p["final"], p["agent"]
            callback.agent_name, callback.method = p.get("agent_name"), p.get("method")
            callback.last_attempt_at = as_datetime(p["at"])
            for name, mark in (p.get("scores") or {}).items():
                if mark is not None:
                    setattr(callback, f"score_{name}", mark)
        elif event_type in ("corrective_action.set", "corrective_action.completed"):
            self._corrective_action(event_type, p)
        elif event_type == "notification.delivery":
            self._message(p)
        elif event_type == "complaint.escalated":
            self.escalations.append(
                {
                    "stage": p["stage"],
                    "level": p["level"],
                    "escalated_to": p["escalated_to"],
                    "ladder": p.get("ladder"),
                    "department": p["department"],
                    "reason": p["reason"],
                    "deadline": p.get("deadline"),
                    "escalated_at": p["escalated_at"],
                    "corrective_action_id": p.get("corrective_action_id"),
                }
            )
        elif event_type in ESCALATION_STEPS:
            self._escalation_step(event_type, p)

    def _steered(self, event_type: str, p: dict[str, Any], wo: WorkOrderPart) -> None:
        """The customer-service centre's steering of a coordinated case (issue 24, seed 002): the parts' roles as the
        lead's event lists them (who leads after a change), a part's new deadline."""
        if event_type == "workorder.deadline_set":
            wo.resolve_by = as_datetime(p["resolve_by"])
        elif event_type in ("workorder.coordinated", "workorder.lead_changed"):
            for part in p.get("parts") or ():
                known = self.work_orders.get(str(part["work_order_id"]))
                if known is not None:
                    known.role = part["role"]
                    known.lead_work_order_id = None if part["role"] == "lead" else str(p["work_order_id"])

    def _escalation_step(self, event_type: str, p: dict[str, Any]) -> None:
        """An escalation's answer step (issue 24) on the rung it answers: the latest of the same clock's stage, level
        and corrective action (two work orders of a case climbing the same rung at once are told apart by neither;
        the timeline keeps every step)."""
        key = (p["stage"], p["level"], p.get("corrective_action_id"))
        rungs = [e for e in self.escalations if (e["stage"], e["level"], e["corrective_action_id"]) == key]
        if not rungs:
            return  # the step of a rung this case's timeline does not hold (it was climbed before a rebuild's start)
        rung = rungs[-1]
        rung["answer_status"] = ESCALATION_STEPS[event_type]
        if event_type == "escalation.answered":
            rung["action"], rung["promised_by"], rung["late"] = p["action"], p["promised_by"], p["late"]
            rung["answered_by"], rung["answered_by_name"], rung["answered_at"] = p["actor"], p["actor_name"], p["at"]
        elif event_type == "escalation.sent_back":
            rung["instruction"], rung["answer_deadline"] = p["instruction"], p["deadline"]

    def _message(self, p: dict[str, Any]) -> None:
        key, order = p["notification_id"], delivery_order(p)
        if key in self._latest and self._latest[key] >= order:
            return  # an older report (or the same) than the one kept
        self._latest[key] = order
        self.messages[key] = MessagePart(
            notification_id=key,
            complaint_id=self.complaint_id,
            template_id=p["template_id"],
            recipient_kind=p["recipient_kind"],
            status=p["status"],
            attempts=p["attempts"],
            requested_at=as_datetime(p["requested_at"]),
            updated_at=as_datetime(p["status_at"]),
            channel=p.get("channel"),
            provider=p.get("provider"),
            reason=p.get("reason"),
            provider_message_id=p.get("provider_message_id"),
        )

    def _work_order(self, p: dict[str, Any]) -> WorkOrderPart:
        found = self.work_orders.get(p["work_order_id"])
        if found is None:
            found = self.work_orders[p["work_order_id"]] = WorkOrderPart(
                p["work_order_id"], self.complaint_id, p.get("department", "")
            )
        found.department, found.cycle = p.get("department", found.department), p.get("cycle", found.cycle)
        return found

    def _callback(self, p: dict[str, Any]) -> CallbackPart:
        found = self.callbacks.get(p["callback_id"])
        if found is None:
            found = self.callbacks[p["callback_id"]] = CallbackPart(
                p["callback_id"], self.complaint_id, p["department"], p["cycle"], as_datetime(p["due_at"])
            )
        found.owner = p.get("owner") or found.owner
        return found

    def _corrective_action(self, event_type: str, p: dict[str, Any]) -> None:
        found = self.corrective_actions.get(p["action_id"])
        if found is None:
            found = self.corrective_actions[p["action_id"]] = CorrectiveActionPart(
                p["action_id"],
                self.complaint_id,
                p.get("work_order_id"),
                p["department"],
                p["description"],
                p["owner"],
                as_datetime(p["deadline"]),
                p["status"],
            )
        # The facts as they stand after the event (a completion repeats them).
        found.work_order_id, found.department = p.get("work_order_id"), p["department"]
        found.description, found.owner, found.deadline = p["description"], p["owner"], as_datetime(p["deadline"])
        if event_type == "corrective_action.set":
            found.set_by, found.set_at = p["actor"], as_datetime(p["at"])
            if found.completed_at is None:
                found.status = p["status"]
        else:
            found.status, found.completed_at, found.outcome = "done", as_datetime(p["at"]), p["outcome"]


def corrective_action_overdue(deadline: datetime, completed_at: datetime | None, now: datetime) -> bool:
    """Past its deadline and not done (at `now`), or done only after it."""
    return (completed_at or now) > deadline


__all__ = [
    "REACHED",
    "SCORES",
    "CallbackPart",
    "CaseParts",
    "CorrectiveActionPart",
    "MessagePart",
    "WorkOrderPart",
    "corrective_action_overdue",
    "delivery_order",
]
