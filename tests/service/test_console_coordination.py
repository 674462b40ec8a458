"""The customer-service centre's coordination screens in the console on real Postgres, dispatch answered by a
recording stand-in: the list and a case render in Chinese and English from dispatch's answers (read as the person),
the list and the parts are live regions answered alone by their fragment routes, each form becomes one call of
`/v1/coordination` with the body it documents, and a refusal is shown on the page with dispatch's detail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.console import session_for
from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

REFERENCE = "TS-20261206-000777"
COMPLAINT = str(uuid.uuid4())
BILLING_PART = str(uuid.uuid4())


def _part(work_order_id: str, department: str, role: str) -> dict[str, Any]:
    return {
        "work_order_id": work_order_id,
        "department": department,
        "role": role,
        "status": "assigned",
        "category": "billing" if department == "billing" else "heating_temperature",
        "severity": "normal",
        "acknowledge_by": "2026-12-06T02:00:00+00:00",
        "resolve_by": "2026-12-07T02:00:00+00:00",
        "overdue": False,
    }


CASE = {
    "complaint_id": COMPLAINT,
    "reference_no": REFERENCE,
    "text": "暖气不热，热费也多收了",
    "category": "heating_temperature",
    "severity": "normal",
    "opened_by": "cs.ma",
    "opened_by_name": "马琳",
    "opened_at": "2026-12-06T01:00:00+00:00",
    "note": "维修牵头，收费协办",
    "lead_department": "repair",
    "parts": [_part(str(uuid.uuid4()), "repair", "lead"), _part(BILLING_PART, "billing", "assisting")],
    "steps": [
        {
            "action": "deadline_set",
            "work_order_id": BILLING_PART,
            "department": "billing",
            "actor": "cs.ma",
            "actor_name": "马琳",
            "details": {"resolve_by": "2026-12-07T02:00:00+00:00", "note": "两天内"},
            "at": "2026-12-06T01:05:00+00:00",
        }
    ],
}


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as console:
        console.services.on("dispatch", "GET", "/v1/coordination", 200, {"items": [CASE]})
        console.services.on("dispatch", "GET", f"/v1/coordination/{REFERENCE}", 200, CASE)
        yield console


async def test_the_centre_reads_opens_and_steers_coordinated_cases(console: ConsoleOnStandIns) -> None:
    ma = await session_for(console.app, console.issuer, "cs.ma")
    listed = await console.get("/supervisor/coordination", ma)
    assert listed.status_code == 200, listed.text
    assert REFERENCE in listed.text and "维修部" in listed.text and "协办" in listed.text
    assert 'data-live="work_order"' in listed.text, "the list is a live region"
    english = await console.get("/supervisor/coordination?lang=en", ma)
    assert "Assisting" in english.text and "Coordinate a multi-department case" in english.text
    region = await console.get("/supervisor/coordination/list", ma)
    assert "<html" not in region.text and REFERENCE in region.text
    seen = [r for r in console.services.seen if r.url.host == "dispatch.test"]
    assert seen[-1].headers["Authorization"] == f"Bearer {ma.access_token}", "read as the person"

    console.services.on("dispatch", "POST", "/v1/coordination", 201, CASE)
    form = [("complaint", REFERENCE), ("lead", "repair"), ("assisting", "billing"), ("note", "维修牵头，收费协办")]
    opened = await console.post("/supervisor/coordination", ma, form)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == f"/supervisor/coordination/{REFERENCE}?done=coordination_opened"
    assert console.services.posted("/v1/coordination")[-1] == {
        "complaint": REFERENCE,
        "lead": "repair",
        "assisting": ["billing"],
        "note": "维修牵头，收费协办",
    }

    page = await console.get(f"/supervisor/coordination/{REFERENCE}?lang=en", ma)
    assert page.status_code == 200 and 'data-testid="deadline-form"' in page.text and "Deadline set" in page.text
    parts = await console.get(f"/supervisor/coordination/{REFERENCE}/parts", ma)
    assert "<html" not in parts.text and 'data-role="assisting"' in parts.text
    path = f"/v1/coordination/{COMPLAINT}/parts/{BILLING_PART}/deadline"
    console.services.on("dispatch", "POST", path, 200, CASE)
    step = [("work_order_id", BILLING_PART), ("resolve_by", "2026-12-08T18:00"), ("note", "两天内")]
    done = await console.post(f"/supervisor/coordination/{REFERENCE}/deadline", ma, step)
    assert done.headers["location"] == f"/supervisor/coordination/{REFERENCE}?done=coordination_deadline_set"
    assert console.services.posted(path)[-1] == {"resolve_by": "2026-12-08T18:00:00+08:00", "note": "两天内"}

    refusal = {"title": "Conflict", "status": 409, "detail": "work order is resolved: only an open part is steered"}
    console.services.on("dispatch", "POST", f"/v1/coordination/{COMPLAINT}/instructions", 409, refusal)
    told = [("work_order_id", BILLING_PART), ("instruction", "核减后回复")]
    refused = await console.post(f"/supervisor/coordination/{REFERENCE}/instructions", ma, told)
    assert refused.status_code == 409 and "only an open part is steered" in refused.text
    missing = await console.post(f"/supervisor/coordination/{REFERENCE}/lead", ma, [("department", "billing")])
    assert missing.status_code == 422 and 'data-testid="invalid"' in missing.text


async def test_other_supervisors_read_without_the_forms_and_departments_are_refused(console: ConsoleOnStandIns) -> None:
    wu = await session_for(console.app, console.issuer, "supervisor.wu")
    listed = await console.get("/supervisor/coordination", wu)
    assert listed.status_code == 200 and REFERENCE in listed.text
    assert 'data-testid="coordination-open-form"' not in listed.text, "only the customer-service centre steers"
    case = await console.get(f"/supervisor/coordination/{REFERENCE}", wu)
    assert case.status_code == 200 and 'data-testid="deadline-form"' not in case.text
    sun = await session_for(console.app, console.issuer, "billing.sun")
    assert (await console.get("/supervisor/coordination", sun)).status_code == 403
