"""Leadership's serious cases in the console on real Postgres, dispatch answered by a recording stand-in: the list
and a case's page render in Chinese and English from dispatch's answers; approving and sending back are one call
each with the body dispatch documents (a send-back without a reason is refused on the page); the work order page of
a serious lead whose analysis leadership approves offers the department's "propose" form instead of typing the
analysis into the resolution; the screen opens to leadership, HR/administration and supervisors only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

WORK_ORDER = str(uuid.uuid4())
REFERENCE = "TS-20261206-000424"
PROPOSAL = {
    "round": 1,
    "status": "proposed",
    "cause_analysis": "立管接头锈蚀漏气",
    "corrective_actions": [
        {"description": "排查立管接头", "owner": "燃气管网所", "deadline": "2027-01-06T00:00:00+00:00"}
    ],
    "proposed_by": "repair.zhao",
    "proposed_by_name": "赵磊",
    "proposed_at": "2026-12-06T01:00:00+00:00",
    "decided_by": None,
    "decided_by_name": None,
    "decided_at": None,
    "decision_note": None,
}
SERIOUS = {
    "work_order_id": WORK_ORDER,
    "complaint_id": str(uuid.uuid4()),
    "reference_no": REFERENCE,
    "text": "楼道煤气味很重",
    "department": "repair",
    "category": "safety_hazard",
    "severity": "emergency",
    "status": "acknowledged",
    "resolve_by": "2026-12-06T10:00:00+00:00",
    "incident_id": None,
    "proposal": PROPOSAL,
    "approval_required": True,
}
ORDER: dict[str, Any] = {
    "work_order_id": WORK_ORDER,
    "complaint_id": SERIOUS["complaint_id"],
    "reference_no": REFERENCE,
    "department": "repair",
    "status": "acknowledged",
    "category": "safety_hazard",
    "severity": "emergency",
    "role": "lead",
    "priority": 1,
    "acknowledge_by": "2026-12-06T01:00:00+00:00",
    "resolve_by": "2026-12-06T10:00:00+00:00",
    "text": "楼道煤气味很重",
    "history": [],
    "findings": [],
    "photos": [],
}


@pytest.fixture(scope="module")
async def screen(migrated: Infrastructure) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as screen:
        screen.services.on("dispatch", "GET", "/v1/serious-cases", 200, {"items": [SERIOUS]})
        screen.services.on("dispatch", "GET", f"/v1/work-orders/{WORK_ORDER}/serious", 200, SERIOUS)
        screen.services.on("dispatch", "GET", f"/v1/work-orders/{WORK_ORDER}", 200, ORDER)
        screen.services.on("dispatch", "GET", "/v1/root-causes", 200, {"items": []})
        screen.services.on("dispatch", "GET", "/v1/crews", 200, {"items": []})
        for step in ("approve", "send-back", "propose"):
            path = f"/v1/work-orders/{WORK_ORDER}/serious/{step}"
            screen.services.on("dispatch", "POST", path, 200, PROPOSAL)
        yield screen


async def test_leadership_reads_the_proposal_and_decides_in_both_languages(screen: ConsoleOnStandIns) -> None:
    leader = await screen.as_("leader.he")
    for lang, words in (("zh", "待审批"), ("en", "Waiting for approval")):
        listed = await screen.get(f"/leadership/serious?lang={lang}", leader)
        assert listed.status_code == 200 and REFERENCE in listed.text and words in listed.text, listed.text
    fragment = await screen.get("/leadership/serious/list", leader)
    assert 'data-testid="serious-case"' in fragment.text and "<html" not in fragment.text
    case = await screen.get(f"/leadership/serious/{WORK_ORDER}", leader)
    assert 'data-testid="approve-form"' in case.text and "立管接头锈蚀漏气" in case.text

    refused = await screen.post(f"/leadership/serious/{WORK_ORDER}/send-back", leader, {"reason": " "})
    assert refused.status_code == 422 and 'data-testid="send-back-form"' in refused.text
    back = await screen.post(f"/leadership/serious/{WORK_ORDER}/send-back", leader, {"reason": "请补充巡检原因"})
    assert back.status_code == 303 and back.headers["location"].startswith("/leadership/serious?done=serious_sent_back")
    approved = await screen.post(f"/leadership/serious/{WORK_ORDER}/approve", leader, {"note": "同意"})
    assert approved.status_code == 303
    assert screen.services.posted(f"/v1/work-orders/{WORK_ORDER}/serious/send-back") == [{"reason": "请补充巡检原因"}]
    assert screen.services.posted(f"/v1/work-orders/{WORK_ORDER}/serious/approve") == [{"note": "同意"}]


async def test_the_department_proposes_from_the_work_order_page(screen: ConsoleOnStandIns) -> None:
    zhao = await screen.as_("repair.zhao")
    screen.services.on("dispatch", "GET", f"/v1/work-orders/{WORK_ORDER}/serious", 200, SERIOUS | {"proposal": None})
    page = await screen.get(f"/work-orders/{WORK_ORDER}", zhao)
    assert page.status_code == 200, page.text
    assert 'data-testid="propose-section"' in page.text and 'data-testid="serious-section"' not in page.text
    form = {
        "cause_analysis": "立管接头锈蚀漏气",
        "action_1_description": "排查立管接头",
        "action_1_owner": "燃气管网所",
        "action_1_deadline": "2027-01-06T08:00",
    }
    answered = await screen.post(f"/work-orders/{WORK_ORDER}/propose", zhao, form)
    assert answered.status_code == 303 and "done=serious_proposed" in answered.headers["location"]
    (body,) = screen.services.posted(f"/v1/work-orders/{WORK_ORDER}/serious/propose")
    assert body == {
        "cause_analysis": "立管接头锈蚀漏气",
        "corrective_actions": [
            {"description": "排查立管接头", "owner": "燃气管网所", "deadline": "2027-01-06T08:00:00+08:00"}
        ],
    }


async def test_the_screen_opens_to_leadership_hr_and_supervisors_only(screen: ConsoleOnStandIns) -> None:
    for staff_id, status in (("hr.lin", 200), ("supervisor.wu", 200), ("repair.zhao", 403), ("agent.li", 403)):
        who = await screen.as_(staff_id)
        assert (await screen.get("/leadership/serious", who)).status_code == status, staff_id
