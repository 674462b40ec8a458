"""Dispatch run in-process behind an httpx client, dispatch's use cases driven through its door on the in-memory
repository (`DispatchDriver`, the one way tests build dispatch by hand), and complaint.received events to feed it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.dispatch.assets import RegisteredAsset
from services.dispatch.bootstrap import create_app
from services.dispatch.classification import Rules
from services.dispatch.consumers import DEPARTMENT_UPDATES
from services.dispatch.department_ingress import DepartmentUpdate
from services.dispatch.handlers import (
    assets,
    contacts,
    coordination,
    corrective_actions,
    field_work,
    incidents,
    outages,
    route,
    triage,
    work_orders,
)
from services.dispatch.handlers.context import DispatchContext, DispatchDoor
from services.dispatch.model import (
    Actor,
    Case,
    ContactRead,
    CorrectiveAction,
    CorrectiveActionPlan,
    CustomerDetails,
    Incident,
    IncidentDeclaration,
    Outage,
    OutageNotice,
    Photo,
    Step,
    WorkOrderView,
)
from services.dispatch.settings import DispatchSettings
from shared.contracts import (
    Category,
    ComplaintContact,
    ComplaintReceived,
    ComplaintReopened,
    Department,
    Severity,
    new_event,
)
from shared.db import Transactions
from shared.handling import Door
from shared.http.person import PersonTokens
from shared.sla import SlaTable
from tests.support.apps import running_app
from tests.support.kafka import wait_until
from tests.support.tokens import LocalIssuer

DEPT_KEYS = {
    "repair": "dev-only-repair-key",
    "billing": "dev-only-billing-key",
    "customer_service": "dev-only-customer-service-key",
    "supervisor": "dev-only-supervisor-key",
}


def as_(who: str) -> dict[str, str]:
    return {"X-API-Key": DEPT_KEYS[who]}


#: The demo city's staff (deploy/demo-city/staff.csv): roles, display name, department, crew.
STAFF: dict[str, dict[str, Any]] = {
    "agent.li": {"roles": ("agent",), "name": "李娜"},
    "repair.zhao": {"roles": ("dispatcher",), "name": "赵磊", "department": "repair"},
    "billing.sun": {"roles": ("dispatcher",), "name": "孙丽", "department": "billing"},
    "crew1.chen": {"roles": ("crew",), "name": "陈刚", "department": "repair", "crew": "repair-crew-1"},
    "crew2.yang": {"roles": ("crew",), "name": "杨帆", "department": "repair", "crew": "repair-crew-2"},
    "supervisor.wu": {"roles": ("supervisor",), "name": "吴静"},
    "leader.he": {"roles": ("leadership",), "name": "何建国"},
    "hr.lin": {"roles": ("hr_admin",), "name": "林芳"},
}


def as_person(issuer: LocalIssuer, staff_id: str, **claims: Any) -> dict[str, str]:
    """A demo staff member's bearer token, signed by the test issuer (claims override theirs, e.g. expires_in)."""
    return {"Authorization": f"Bearer {issuer.mint(staff_id, **{**STAFF[staff_id], **claims})}"}


def contact_for(event: ComplaintReceived, *, name: str = "王小明", phone: str = "13912345678") -> ComplaintContact:
    """The restricted complaint.contact event intake publishes beside `event`."""
    p = event.payload
    return new_event(
        ComplaintContact,
        complaint_id=event.complaint_id,
        producer="test",
        correlation_id=event.correlation_id,
        payload={
            "complaint_id": event.complaint_id,
            "reference_no": p.reference_no,
            "name": name,
            "phone": phone,
            "email": None,
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )


@asynccontextmanager
async def running_dispatch(
    database_url: str,
    bootstrap: str,
    *,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Dispatch in-process; `persons` (e.g. `LocalIssuer().verifier()`) lets signed-in staff call it too. Serious
    cases resolve as before issue 24 (the department's own analysis) unless `dispatch_serious_approval=True`."""
    overrides = {"dispatch_serious_approval": False, **overrides}
    async with running_app(
        create_app,
        DispatchSettings,
        name="dispatch",
        database_url=database_url,
        bootstrap=bootstrap,
        group_setting="dispatch_consumer_group",
        create_kwargs={"clock": clock, "persons": persons},
        **{**overrides},
    ) as running:
        yield running


@asynccontextmanager
async def dispatch_for_staff(
    database_url: str, bootstrap: str, issuer: LocalIssuer, photo_dir: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Dispatch in-process for signed-in staff (`issuer`'s tokens), photos kept in `photo_dir`; yielded once its
    consumers are connected."""
    async with running_dispatch(
        database_url, bootstrap, persons=issuer.verifier(), dispatch_photo_dir=str(photo_dir)
    ) as running:
        app, _ = running
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
        yield running


@dataclass(frozen=True)
class DispatchDriver:
    """Dispatch's use cases as a test takes them: each through the door, as its routes and consumers do (events as a
    consumer group hands them over, commands one unit of work each)."""

    door: DispatchDoor

    @property
    def context(self) -> DispatchContext:
        return self.door.context

    def with_context(self, **changes: Any) -> DispatchDriver:
        """The same store and clock with other rules or collaborators (e.g. a photo storage)."""
        door = Door(self.door.transactions, replace(self.door.context, **changes), clock=self.door.clock)
        return DispatchDriver(door)

    # --- what consumers hand over -------------------------------------------------------------------------

    async def route_received(self, batch: list[ComplaintReceived], *, consumer: str) -> None:
        await self.door.batch(route.received, batch, consumer=consumer)

    async def reopen(self, batch: list[ComplaintReopened], *, consumer: str) -> None:
        await self.door.each(route.reopened, batch, consumer=consumer)

    async def keep_contacts(self, batch: list[ComplaintContact], *, consumer: str) -> None:
        await self.door.batch(contacts.keep, batch, consumer=consumer)

    async def department_update(self, update: DepartmentUpdate) -> None:
        """A department system's update, as its consumer group hands it over (refusals raised as they are)."""
        await self.door.each(work_orders.department_update, [update], consumer=DEPARTMENT_UPDATES.consumer)

    # --- commands -----------------------------------------------------------------------------------------

    async def act(self, work_order_id: uuid.UUID, step: Step, actor: Actor) -> WorkOrderView:
        return await self.door.run(work_orders.act, work_orders.Act(work_order_id, step, actor))

    async def add_photo(self, work_order_id: uuid.UUID, data: bytes, actor: Actor) -> tuple[WorkOrderView, Photo]:
        return await field_work.add_photo(self.door, field_work.AddPhoto(work_order_id, data, actor))

    async def reclassify(
        self, complaint_id: uuid.UUID, *, category: Category, severity: Severity | None, reason: str, actor: Actor
    ) -> WorkOrderView:
        command = route.Reclassify(complaint_id, category, severity, reason, actor)
        return await self.door.run(route.reclassified, command)

    async def route_triaged(
        self, complaint_id: uuid.UUID, *, category: Category, severity: Severity | None, note: str, actor: Actor
    ) -> WorkOrderView:
        return await self.door.run(triage.decide, triage.Decide(complaint_id, category, severity, note, actor))

    async def overturn_invalid(
        self, complaint_id: uuid.UUID, *, category: Category | None, severity: Severity | None, note: str, actor: Actor
    ) -> WorkOrderView:
        decision = triage.Decide(complaint_id, category, severity, note, actor)
        return await self.door.run(triage.overturn_invalid, decision)

    async def close_as_invalid(self, complaint_id: uuid.UUID, *, reason: str, actor: Actor) -> Case:
        return await self.door.run(triage.close_as_invalid, triage.CloseAsInvalid(complaint_id, reason, actor))

    async def assist(
        self, lead_work_order_id: uuid.UUID, department: Department, note: str, actor: Actor
    ) -> WorkOrderView:
        command = coordination.Assist(lead_work_order_id, department, note, actor)
        return await self.door.run(coordination.assist, command)

    async def set_corrective_action(
        self, complaint_id: uuid.UUID, plan: CorrectiveActionPlan, actor: Actor
    ) -> CorrectiveAction:
        command = corrective_actions.SetAction(complaint_id, plan, actor)
        return await self.door.run(corrective_actions.set_action, command)

    async def complete_corrective_action(self, action_id: uuid.UUID, outcome: str, actor: Actor) -> CorrectiveAction:
        command = corrective_actions.Complete(action_id, outcome, actor)
        return await self.door.run(corrective_actions.complete, command)

    async def corrective_actions(
        self, *, status: str | None, overdue: bool, department: str | None, limit: int
    ) -> list[CorrectiveAction]:
        query = corrective_actions.Find(status, overdue, department, limit)
        return await self.door.run(corrective_actions.find, query)

    async def reveal(self, actor: Actor, cases: list[Case], *, endpoint: str) -> dict[uuid.UUID, CustomerDetails]:
        return await self.door.run(contacts.reveal, contacts.Reveal(actor, cases, endpoint))

    async def contact_reads(
        self,
        *,
        complaint: str | None,
        staff_id: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[ContactRead]:
        return await self.door.run(contacts.reads, contacts.Reads(complaint, staff_id, since, until, limit))

    async def declare_incident(self, declaration: IncidentDeclaration, actor: Actor) -> Incident:
        return await self.door.run(incidents.declare, incidents.DeclareIncident(declaration, actor))

    async def set_incident_eta(
        self, incident_id: uuid.UUID, *, eta: datetime, note: str | None, actor: Actor
    ) -> Incident:
        return await self.door.run(incidents.set_eta, incidents.SetEta(incident_id, eta, note, actor))

    async def declare_outage(self, notice: OutageNotice, actor: str) -> Outage:
        return await self.door.run(outages.declare, outages.Declare(notice, actor))

    async def update_outage(self, **update: Any) -> Outage:
        return await self.door.run(outages.update, outages.Update(**update))

    async def import_assets(self, registered: tuple[RegisteredAsset, ...]) -> int:
        return await self.door.run(assets.import_assets, registered)


def dispatch_driver(
    transactions: Transactions[Any], clock: Callable[[], datetime], rules: Rules, sla: SlaTable, **context: Any
) -> DispatchDriver:
    """Dispatch on `transactions` (the in-memory `FakeTransactions`) with the clock a test moves; `context` overrides
    rules and collaborators (a classifier stand-in, incident rules, a photo storage)."""
    return DispatchDriver(Door(transactions, DispatchContext(rules=rules, sla=sla, **context), clock=clock))


def received(
    text: str,
    *,
    channel: str = "web",
    account_no: str | None = None,
    category_hint: str | None = None,
    accepted_at: datetime | None = None,
    location: dict[str, Any] | None = None,
    agent_id: str | None = None,
    handled_on_contact: str | None = None,
    customer_agitated: bool = False,
) -> ComplaintReceived:
    """A received complaint; by default at a street address of its own, so it never joins an incident. An agent
    channel's complaint may say who took it and what was settled on contact (complaint.received v2)."""
    complaint_id = uuid.uuid4()
    now = accepted_at or datetime.now(UTC)
    return new_event(
        ComplaintReceived,
        complaint_id=complaint_id,
        producer="test",
        correlation_id=f"test-{complaint_id}",
        payload={
            "complaint_id": complaint_id,
            "reference_no": f"TS-{now:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}",  # unique across the session
            "channel": channel,
            "channel_ticket_id": None,
            "received_at": now,
            "accepted_at": now,
            "customer": {
                "account_no": account_no,
                "name_masked": "王**",
                "phone_masked": "139******78",
                "preferred_contact": "phone",
            },
            "location": location or {"address": f"和平区测试路{uuid.uuid4().int % 100_000}号", "district": "heping"},
            "text": text,
            "category_hint": category_hint,
            "agent_id": agent_id,
            "handled_on_contact": handled_on_contact,
            "customer_agitated": customer_agitated,
        },
    )


def serious_resolution(resolution: str, root_cause: str, *, analysis: str, action: str, owner: str) -> dict[str, Any]:
    """A resolve body for a serious or emergency work order: the cause analysis and one corrective action due in a
    month, without which it cannot close."""
    deadline = datetime.now(UTC) + timedelta(days=30)
    return {
        "resolution": resolution,
        "root_cause": root_cause,
        "cause_analysis": analysis,
        "corrective_actions": [{"description": action, "owner": owner, "deadline": deadline.isoformat()}],
    }


#: A realistic catalogue root cause per department, for tests that resolve whatever they were routed.
ROOT_CAUSE = {
    "repair": "repair.aging_equipment",
    "billing": "billing.meter_misread",
    "customer_service": "customer_service.customer_misunderstanding",
}


def resolution_for(department: str, severity: str, resolution: str = "处理完毕") -> dict[str, Any]:
    """A resolve body a work order of `department` and `severity` is accepted with."""
    if severity in ("serious", "emergency"):
        return serious_resolution(
            resolution, ROOT_CAUSE[department], analysis="原因已分析", action="举一反三排查同类问题", owner="部门经理"
        )
    return {"resolution": resolution, "root_cause": ROOT_CAUSE[department]}
