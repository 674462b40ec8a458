"""A household's cases worked by signed-in persons, as the services publish them (for reporting's tests).

Case "worked": 李娜 (agent.li) takes a phone complaint; dispatch routes it; 赵磊 (repair.zhao, the repair
dispatcher) signs for it, sends crew 1 and agrees a visit; 陈刚 (crew1.chen) arrives, measures 17 °C, adds a
photo and resolves it with the customer's acceptance; 李娜 calls the customer back (satisfied) and it closes.
Case "waiting": the same household wrote on the web earlier; it is routed and still open.
Case "elsewhere": another household; a department system's credential (repair-desk) resolves it.
Tests compute their expectations from these facts, never from reporting's rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.contracts import (
    CallbackAttempted,
    CallbackScheduled,
    ComplaintClosed,
    ComplaintContact,
    ComplaintReceived,
    ComplaintRouted,
    Event,
    WorkOrderAcknowledged,
    WorkOrderAppointmentAgreed,
    WorkOrderAssigned,
    WorkOrderCrewAssigned,
    WorkOrderFindingsRecorded,
    WorkOrderPhotoAdded,
    WorkOrderResolved,
    WorkOrderStarted,
    new_event,
)

LI, ZHAO, CHEN = ("agent.li", "李娜"), ("repair.zhao", "赵磊"), ("crew1.chen", "陈刚")
DESK = ("repair-desk", "repair-desk")  # a department system's credential: dispatch names it after itself


@dataclass
class Household:
    """One household's phone and account, unique per test run, and the cases of the script."""

    n: int
    phone: str = field(init=False)
    account_no: str = field(init=False)
    #: The customer intake matched the household's complaints to (v4: by account); "elsewhere" is another one's.
    customer: uuid.UUID = field(default_factory=uuid.uuid4)
    other_customer: uuid.UUID = field(default_factory=uuid.uuid4)
    worked: uuid.UUID = field(default_factory=uuid.uuid4)
    waiting: uuid.UUID = field(default_factory=uuid.uuid4)
    elsewhere: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        self.phone = f"139{self.n:08d}"
        self.account_no = f"HT-P{self.n}"

    def ref(self, case: uuid.UUID) -> str:
        return f"TS-20250715-{(case.int % 900_000) + 100_000:06d}"


def household_events(h: Household, t0: datetime) -> list[Event]:
    def at(hours: float) -> datetime:
        return t0 + timedelta(hours=hours)

    events: list[Event] = []

    def emit(cls: type[Event], case: uuid.UUID, hours: float, payload: dict[str, Any]) -> None:
        events.append(
            new_event(
                cls, complaint_id=case, payload=payload, producer="test", correlation_id="c", occurred_at=at(hours)
            )
        )

    def received(
        case: uuid.UUID, hours: float, channel: str, phone: str, account: str, agent: tuple[str, str] | None
    ) -> None:
        customer = {"account_no": account, "name_masked": "王**", "phone_masked": f"{phone[:3]}******{phone[-2:]}"}
        emit(
            ComplaintReceived,
            case,
            hours,
            {
                "complaint_id": case,
                "reference_no": h.ref(case),
                "channel": channel,
                "channel_ticket_id": None,
                "received_at": at(hours - 0.05),
                "accepted_at": at(hours),
                "customer": {**customer, "preferred_contact": "phone"},
                "location": {
                    "address": f"和平区{'长青' if account == h.account_no else '松涛'}小区{h.n}号楼301室",
                    "district": "heping",
                },
                "text": "暖气不热，室温只有16度",
                "category_hint": "heating_temperature",
                "agent_id": agent[0] if agent else None,
                "agent_name": agent[1] if agent else None,
                "customer_id": h.customer if account == h.account_no else h.other_customer,
                "matched_by": "account",
            },
        )
        emit(
            ComplaintContact,
            case,
            hours,
            {
                "complaint_id": case,
                "reference_no": h.ref(case),
                "name": "王小明",
                "phone": phone,
                "email": None,
                "wechat_openid": None,
                "preferred_contact": "phone",
            },
        )

    def routed(case: uuid.UUID, wo: uuid.UUID, hours: float, account: str) -> dict[str, Any]:
        deadlines = {
            "starts_at": at(hours),
            "acknowledge_by": at(hours + 0.5),
            "on_site_by": None,
            "resolve_by": at(hours + 8),
            "interim_reply_by": None,
            "callback_limit": "24h",
            "policy_id": "script",
        }
        common = {"complaint_id": case, "reference_no": h.ref(case), "channel": "phone", "district": "heping"}
        emit(
            ComplaintRouted,
            case,
            hours,
            {
                **common,
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
                "account_no": account,
                "routed_at": at(hours),
                "reason": "new",
                "previous_work_order_id": None,
            },
        )
        facts = {"work_order_id": wo, "complaint_id": case, "reference_no": h.ref(case), "department": "repair"}
        emit(
            WorkOrderAssigned,
            case,
            hours + 0.002,
            {
                **facts,
                "cycle": 1,
                "status": "assigned",
                "actor": "dispatch",
                "actor_name": "dispatch",
                "at": at(hours),
                "category": "heating_temperature",
                "severity": "normal",
                "priority": 3,
                "deadlines": deadlines,
                "text": "暖气不热",
                "location": {"address": "和平区", "district": "heping"},
                "customer": {
                    "account_no": account,
                    "name_masked": None,
                    "phone_masked": None,
                    "preferred_contact": "phone",
                },
                "channel": "phone",
                "reasons": [],
                "reopened": False,
            },
        )
        return {**facts, "cycle": 1}

    def step(
        cls: type[Event], case: uuid.UUID, facts: dict[str, Any], hours: float, who: tuple[str, str], **more: Any
    ) -> None:
        status = more.pop("status", "acknowledged")
        emit(
            cls,
            case,
            hours,
            {**facts, "status": status, "actor": who[0], "actor_name": who[1], "at": at(hours), **more},
        )

    def resolved(case: uuid.UUID, facts: dict[str, Any], hours: float, who: tuple[str, str], **more: Any) -> None:
        step(
            WorkOrderResolved,
            case,
            facts,
            hours,
            who,
            status="resolved",
            resolution="换了阀门",
            root_cause="repair.valve_failure",
            root_cause_detail={"code": "repair.valve_failure", "label_zh": "阀门故障", "label_en": "Valve failure"},
            **more,
        )

    # The household's earlier web complaint: routed, still open.
    received(h.waiting, 0.5, "web", h.phone, h.account_no, None)
    routed(h.waiting, uuid.uuid4(), 0.6, h.account_no)

    # The phone complaint 李娜 takes, worked through by persons.
    worked = h.worked
    received(worked, 1, "phone", h.phone, h.account_no, LI)
    wo = routed(worked, uuid.uuid4(), 1.01, h.account_no)
    step(WorkOrderAcknowledged, worked, wo, 1.2, ZHAO, owner=LI[0])
    step(
        WorkOrderCrewAssigned,
        worked,
        wo,
        1.3,
        ZHAO,
        crew="repair-crew-1",
        crew_name_zh="维修一班",
        crew_name_en="Repair crew 1",
        previous_crew=None,
    )
    step(WorkOrderAppointmentAgreed, worked, wo, 1.4, ZHAO, window_start=at(2), window_end=at(3), note="下午")
    step(WorkOrderStarted, worked, wo, 2.2, CHEN, status="in_progress", crew="repair-crew-1")
    step(
        WorkOrderFindingsRecorded,
        worked,
        wo,
        2.3,
        CHEN,
        status="in_progress",
        finding_id=uuid.uuid4(),
        indoor_temperature_c=17.0,
        note="暖气片温度低",
    )
    step(
        WorkOrderPhotoAdded,
        worked,
        wo,
        2.4,
        CHEN,
        status="in_progress",
        photo_id=uuid.uuid4(),
        content_type="image/jpeg",
        size_bytes=1024,
    )
    resolved(worked, wo, 2.5, CHEN, acceptance={"customer_name": "王小明", "confirmed": True, "note": None})
    callback = {
        "callback_id": uuid.uuid4(),
        "complaint_id": worked,
        "reference_no": h.ref(worked),
        "work_order_id": wo["work_order_id"],
        "department": "repair",
        "cycle": 1,
        "due_at": at(8),
        "owner": LI[0],
    }
    emit(CallbackScheduled, worked, 2.51, {**callback, "at": at(2.51)})
    emit(
        CallbackAttempted,
        worked,
        4,
        {
            **callback,
            "at": at(4),
            "outcome": "satisfied",
            "attempt": 1,
            "agent": LI[0],
            "agent_name": LI[1],
            "final": True,
            "scores": {"attitude": 5},
            "method": "phone",
        },
    )
    emit(
        ComplaintClosed,
        worked,
        4.01,
        {
            "complaint_id": worked,
            "reference_no": h.ref(worked),
            "work_order_id": wo["work_order_id"],
            "outcome": "satisfied",
            "cycles": 1,
            "closed_at": at(4.01),
        },
    )

    # Another household's case, resolved by a department system's credential.
    received(h.elsewhere, 3, "web", f"138{h.n:08d}", f"HT-Q{h.n}", None)
    other = routed(h.elsewhere, uuid.uuid4(), 3.01, f"HT-Q{h.n}")
    step(WorkOrderAcknowledged, h.elsewhere, other, 3.1, DESK, owner=None)
    resolved(h.elsewhere, other, 3.5, DESK)
    return events
