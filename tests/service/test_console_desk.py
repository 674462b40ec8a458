"""The supervisor's desk in the console on real Postgres, the services answered by a recording stand-in: each screen
renders in Chinese and English from the services' answers (as the person, Bearer token), each form becomes one
call of the service's API with the body it documents, a refusal is shown on the form's page with the service's
detail, and the screens open only to their roles (a department manager sees escalations, not the incidents).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.console import session_for
from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

ESCALATION = str(uuid.uuid4())
INCIDENT = str(uuid.uuid4())
OUTAGE = str(uuid.uuid4())
ACTION = str(uuid.uuid4())
REFERENCE = "TS-20261206-000024"


def escalation(**changes: Any) -> dict[str, Any]:
    base = {
        "escalation_id": ESCALATION,
        "complaint_id": str(uuid.uuid4()),
        "reference_no": REFERENCE,
        "department": "repair",
        "work_order_id": str(uuid.uuid4()),
        "stage": "acknowledge",
        "level": 1,
        "escalated_to": "department_manager",
        "ladder": "urgent",
        "reason": "acknowledge limit passed",
        "escalated_at": "2026-12-06T01:00:00+00:00",
        "deadline": "2026-12-06T00:50:00+00:00",
        "answer_by": "2026-12-06T03:00:00+00:00",
        "overdue": False,
        "status": "open",
        "acknowledged_at": None,
        "acknowledged_by": None,
        "acknowledged_by_name": None,
        "action": None,
        "promised_by": None,
        "answered_at": None,
        "answered_by": None,
        "answered_by_name": None,
        "late": False,
        "instruction": None,
        "sent_back_at": None,
        "sent_back_by": None,
        "sent_back_by_name": None,
    }
    return base | changes


INCIDENT_READ = {
    "incident_id": INCIDENT,
    "reference_no": "INC-20261206-0001",
    "asset": None,
    "family": "no_heat",
    "district": "heping",
    "compound": "测温小区",
    "department": "repair",
    "category": "heating_temperature",
    "severity": "serious",
    "status": "open",
    "complaint_count": 1,
    "households": 1,
    "work_order_id": str(uuid.uuid4()),
    "eta": "2026-12-06T10:00:00+00:00",
    "description": "换热站故障",
    "description_en": "Heat exchange station fault",
    "opened_by": "supervisor.wu",
    "opened_at": "2026-12-06T01:00:00+00:00",
    "resolved_at": None,
}
OUTAGE_READ = {
    "outage_id": OUTAGE,
    "reference_no": "OUT-20261206-0001",
    "kind": "unplanned",
    "family": "water_outage",
    "asset": None,
    "district": "heping",
    "compound": None,
    "starts_at": "2026-12-06T01:00:00+00:00",
    "expected_end": "2026-12-06T05:00:00+00:00",
    "description": "管道抢修",
    "description_en": None,
    "status": "active",
    "complaint_count": 3,
    "source": "supervisor.wu",
    "source_ref": None,
    "ended_at": None,
}
ACTION_READ = {
    "action_id": ACTION,
    "complaint_id": str(uuid.uuid4()),
    "reference_no": REFERENCE,
    "work_order_id": None,
    "department": "repair",
    "severity": "serious",
    "description": "更换老化阀门",
    "owner": "维修部",
    "deadline": "2026-12-01T00:00:00+00:00",
    "status": "open",
    "overdue": True,
    "set_by": "supervisor.wu",
    "set_at": "2026-11-20T00:00:00+00:00",
    "outcome": None,
    "completed_by": None,
    "completed_at": None,
}


@pytest.fixture(scope="module")
async def desk(migrated: Infrastructure) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as desk:
        desk.services.on("followup", "GET", "/v1/escalations", 200, {"items": [escalation()]})
        desk.services.on("followup", "GET", f"/v1/escalations/{ESCALATION}", 200, escalation())
        desk.services.on("dispatch", "GET", "/v1/incidents", 200, {"items": [INCIDENT_READ]})
        desk.services.on("dispatch", "GET", "/v1/outage-notices", 200, {"items": [OUTAGE_READ]})
        desk.services.on("dispatch", "GET", "/v1/corrective-actions", 200, {"items": [ACTION_READ]})
        yield desk


async def test_a_supervisor_lands_on_the_desk_with_the_open_counts(desk: ConsoleOnStandIns) -> None:
    wu = await session_for(desk.app, desk.issuer, "supervisor.wu")
    page = await desk.get("/supervisor", wu)
    assert page.status_code == 200, page.text
    assert "待答复督办：1" in page.text and "处理中的故障：1" in page.text and "其中已逾期：1" in page.text
    english = await desk.get("/supervisor?lang=en", wu)
    assert "Escalations to answer: 1" in english.text and "Of which overdue: 1" in english.text
    followup = [r for r in desk.services.seen if r.url.host == "followup.test"]
    assert followup[-1].headers["Authorization"] == f"Bearer {wu.access_token}", "read as the person"


async def test_the_department_manager_answers_an_escalation_with_a_deadline(desk: ConsoleOnStandIns) -> None:
    qian = await session_for(desk.app, desk.issuer, "manager.qian")
    listed = await desk.get("/supervisor/escalations", qian)
    assert listed.status_code == 200 and REFERENCE in listed.text and "部门经理" in listed.text
    assert 'data-live="escalation"' in listed.text, "the list is a live region"
    region = await desk.get("/supervisor/escalations/list", qian)
    assert "<html" not in region.text and REFERENCE in region.text, "the region's inner HTML alone"
    one = await desk.get(f"/supervisor/escalations/{ESCALATION}?lang=en", qian)
    assert 'data-testid="answer-form"' in one.text and 'data-testid="send-back-form"' not in one.text

    path = f"/v1/escalations/{ESCALATION}/answer"
    desk.services.on("followup", "POST", path, 200, escalation(status="answered"))
    done = await desk.post(
        f"/supervisor/escalations/{ESCALATION}/answer", qian, {"action": "已派班组", "by": "2026-12-07T10:00"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/supervisor/escalations?done=escalation_answered"
    assert desk.services.posted(path, "followup")[-1] == {"action": "已派班组", "by": "2026-12-07T10:00:00+08:00"}

    refusal = {"title": "Unprocessable", "status": 422, "detail": "by: must be in the future"}
    desk.services.on("followup", "POST", path, 422, refusal)
    refused = await desk.post(
        f"/supervisor/escalations/{ESCALATION}/answer", qian, {"action": "x", "by": "2020-01-01T10:00"}
    )
    assert refused.status_code == 422 and "must be in the future" in refused.text
    missing = await desk.post(f"/supervisor/escalations/{ESCALATION}/answer", qian, {"action": "x"})
    assert missing.status_code == 422 and 'data-testid="invalid"' in missing.text


async def test_the_supervisor_sends_an_answer_back_and_runs_incidents_outages_and_actions(
    desk: ConsoleOnStandIns,
) -> None:
    wu = await session_for(desk.app, desk.issuer, "supervisor.wu")
    answered = escalation(status="answered", action="已派班组", answered_by="manager.qian", answered_by_name="钱亮")
    desk.services.on("followup", "GET", f"/v1/escalations/{ESCALATION}", 200, answered)
    one = await desk.get(f"/supervisor/escalations/{ESCALATION}", wu)
    assert 'data-testid="send-back-form"' in one.text and 'data-testid="answer-form"' not in one.text
    path = f"/v1/escalations/{ESCALATION}/send-back"
    desk.services.on("followup", "POST", path, 200, answered | {"status": "sent_back"})
    back = await desk.post(
        f"/supervisor/escalations/{ESCALATION}/send-back",
        wu,
        {"instruction": "今天回访", "deadline": "2026-12-07T09:00"},
    )
    assert back.status_code == 303
    assert desk.services.posted(path, "followup")[-1] == {
        "instruction": "今天回访",
        "deadline": "2026-12-07T09:00:00+08:00",
    }

    faults = await desk.get("/supervisor/incidents?lang=en", wu)
    assert faults.status_code == 200 and "INC-20261206-0001" in faults.text and "OUT-20261206-0001" in faults.text
    assert 'data-live="incident outage"' in faults.text
    desk.services.on("dispatch", "POST", "/v1/outage-notices", 201, OUTAGE_READ)
    declared = await desk.post(
        "/supervisor/outages",
        wu,
        {
            "kind": "unplanned",
            "family": "water_outage",
            "district": "heping",
            "description": "管道抢修",
            "expected_end": "2026-12-06T18:00",
        },
    )
    assert declared.status_code == 303, declared.text
    body = desk.services.posted("/v1/outage-notices", "dispatch")[-1]
    assert (
        body["expected_end"] == "2026-12-06T18:00:00+08:00" and body["starts_at"] and body["family"] == "water_outage"
    )
    desk.services.on("dispatch", "POST", f"/v1/outage-notices/{OUTAGE}/restored", 200, OUTAGE_READ)
    restored = await desk.post(f"/supervisor/outages/{OUTAGE}/restored", wu, {})
    assert restored.status_code == 303 and desk.services.posted(
        f"/v1/outage-notices/{OUTAGE}/restored", "dispatch"
    ) == [{}]

    caller = {
        "complaint_id": str(uuid.uuid4()),
        "reference_no": REFERENCE,
        "account_no": None,
        "channel": "phone",
        "category": "heating_temperature",
        "severity": "normal",
        "accepted_at": "2026-12-06T01:05:00+00:00",
        "fixed_at": None,
    }
    desk.services.on("dispatch", "GET", f"/v1/incidents/{INCIDENT}", 200, INCIDENT_READ | {"complaints": [caller]})
    told = {
        "notification_id": str(uuid.uuid4()),
        "template_id": "group_joined",
        "recipient_kind": "customer",
        "channel": "sms",
        "provider": "x",
        "status": "delivered",
        "reason": None,
        "attempts": 1,
        "provider_message_id": None,
        "requested_at": "2026-12-06T01:06:00+00:00",
        "updated_at": "2026-12-06T01:06:05+00:00",
    }
    desk.services.on("reporting", "GET", f"/v1/cases/{REFERENCE}", 200, {"messages": [told], "eta": None})
    incident = await desk.get(f"/supervisor/incidents/{INCIDENT}", wu)
    assert incident.status_code == 200 and 'data-testid="caller-message"' in incident.text and "已送达" in incident.text
    desk.services.on("dispatch", "GET", f"/v1/outage-notices/{OUTAGE}", 200, OUTAGE_READ | {"complaints": [caller]})
    outage = await desk.get(f"/supervisor/outages/{OUTAGE}?lang=en", wu)
    assert outage.status_code == 200 and 'data-testid="caller-message"' in outage.text and "Delivered" in outage.text

    actions = await desk.get("/supervisor/corrective-actions?lang=en", wu)
    assert actions.status_code == 200 and "更换老化阀门" in actions.text and "Overdue (1)" in actions.text
    complete = f"/v1/corrective-actions/{ACTION}/complete"
    desk.services.on("dispatch", "POST", complete, 200, ACTION_READ | {"status": "done"})
    done = await desk.post(f"/supervisor/corrective-actions/{ACTION}/complete", wu, {"outcome": "已更换"})
    assert done.status_code == 303 and desk.services.posted(complete, "dispatch")[-1] == {"outcome": "已更换"}

    read = {
        "staff_id": "repair.zhao",
        "staff_name": "赵磊",
        "complaint_id": str(uuid.uuid4()),
        "reference_no": REFERENCE,
        "what": ["name", "phone"],
        "endpoint": "GET /v1/queues/{department}",
        "at": "2026-12-06T01:00:00+00:00",
    }
    desk.services.on("dispatch", "GET", "/v1/contact-access", 200, {"items": [read]})
    log = await desk.get("/supervisor/contact-access?staff=repair.zhao", wu)
    assert log.status_code == 200 and "赵磊" in log.text and "姓名, 电话" in log.text
    assert desk.services.seen[-1].url.params["staff_id"] == "repair.zhao"


async def test_the_screens_open_only_to_their_roles(desk: ConsoleOnStandIns) -> None:
    qian = await session_for(desk.app, desk.issuer, "manager.qian")
    he = await session_for(desk.app, desk.issuer, "leader.he")
    zhao = await session_for(desk.app, desk.issuer, "repair.zhao")
    assert (await desk.get("/supervisor/escalations", he)).status_code == 200
    for path in (
        "/supervisor",
        "/supervisor/incidents",
        "/supervisor/corrective-actions",
        "/supervisor/contact-access",
    ):
        assert (await desk.get(path, qian)).status_code == 403, path
    assert (await desk.get("/supervisor/escalations", zhao)).status_code == 403
