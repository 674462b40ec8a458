"""Dispatch run in-process behind an httpx client, and complaint.received events to feed it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.dispatch.bootstrap import create_app
from services.dispatch.settings import DispatchSettings
from shared.contracts import ComplaintContact, ComplaintReceived, new_event
from shared.http.person import PersonTokens
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
    """Dispatch in-process; `persons` (e.g. `LocalIssuer().verifier()`) lets signed-in staff call it too."""
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
