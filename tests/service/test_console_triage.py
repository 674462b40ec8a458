"""The supervisors' triage queue and model screens (issue 24) on real Postgres, dispatch stood in by a recording
transport: the queue with the model's suggestions (the best preselected, each category naming its department), one
form that routes a complaint (the body dispatch gets), a refusal shown on the queue, invalid and the corrections by
reference (overturned when invalid, reclassified otherwise), the model's figures side by side, retrain and promote,
and the screens closed to everyone but supervisors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.console import session_for
from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

COMPLAINT = str(uuid.uuid4())
CANDIDATE = str(uuid.uuid4())
REFERENCE = "TS-20261206-000077"
WAITING = {
    "complaint_id": COMPLAINT,
    "reference_no": REFERENCE,
    "channel": "web",
    "district": "shenhe",
    "text": "我家那个问题一直没人处理，请尽快回复。",
    "severity": "normal",
    "suggestions": [
        {"category": "service_attitude", "department": "customer_service", "probability": 0.43},
        {"category": "outage", "department": "repair", "probability": 0.19},
        {"category": "safety_hazard", "department": "repair", "probability": 0.1},
    ],
    "reasons": [],
    "model_version": "ngram-lr-68dee1f7b3",
    "accepted_at": "2026-12-06T03:15:00+00:00",
    "triage_since": "2026-12-06T03:15:01+00:00",
}
CORRECTION = {
    "complaint_id": str(uuid.uuid4()),
    "text": "上次说的那个事还没弄好",
    "channel": "web",
    "predicted_category": "service_attitude",
    "category": "equipment_fault",
    "severity": "normal",
    "department": "repair",
    "source": "triage",
    "actor": "supervisor.wu",
    "model_version": "ngram-lr-68dee1f7b3",
    "at": "2026-12-06T03:16:00+00:00",
}


def figures(right: int) -> dict[str, Any]:
    return {
        "n": 361,
        "category_right": right,
        "category_accuracy": round(right / 361, 4),
        "category_interval": [0.95, 0.99],
        "department_right": 357,
        "department_accuracy": 0.9889,
        "department_interval": [0.97, 0.996],
        "triage_share": 0.055,
        "per_class": [{"category": "billing", "n": 54, "right": 54, "recall": 1.0}],
    }


def candidate(**changes: Any) -> dict[str, Any]:
    return {
        "candidate_id": CANDIDATE,
        "status": "candidate",
        "version": "ngram-lr-457d64b9d1",
        "requested_by": "supervisor.wu",
        "requested_by_name": "吴静",
        "requested_at": "2026-12-06T03:17:00+00:00",
        "trained_at": "2026-12-06T03:18:00+00:00",
        "trained_on": 2561,
        "corrections": 3,
        "held_out": 0,
        "figures": figures(351),
        "baseline_version": "ngram-lr-68dee1f7b3",
        "baseline_figures": figures(352),
        "passes": True,
        "error": None,
        "promoted_by": None,
        "promoted_at": None,
    } | changes


@pytest.fixture(scope="module")
async def screens(migrated: Infrastructure) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as screens:
        screens.services.on(
            "dispatch", "GET", "/v1/triage", 200, {"items": [WAITING], "page": 1, "page_size": 50, "total": 1}
        )
        screens.services.on("dispatch", "GET", "/v1/triage/corrections", 200, {"items": [CORRECTION]})
        screens.services.on(
            "dispatch", "GET", "/v1/models", 200, {"serving": "ngram-lr-68dee1f7b3", "candidates": [candidate()]}
        )
        yield screens


async def test_the_queue_shows_the_suggestions_and_routes_in_one_action(screens: ConsoleOnStandIns) -> None:
    wu = await session_for(screens.app, screens.issuer, "supervisor.wu")
    page = await screens.get("/supervisor/triage", wu)
    assert page.status_code == 200, page.text
    assert REFERENCE in page.text and "43%" in page.text and 'data-live="triage"' in page.text
    assert '<option value="service_attitude" selected>服务态度 → 客服中心</option>' in page.text, "best preselected"
    assert "设备故障 → 维修部" in page.text and CORRECTION["text"] in page.text
    english = await screens.get("/supervisor/triage?lang=en", wu)
    assert "Route to (category → department)" in english.text and "Billing → Billing" in english.text
    region = await screens.get("/supervisor/triage/list", wu)
    assert "<html" not in region.text and REFERENCE in region.text, "the live region's inner HTML alone"
    assert screens.services.seen[-1].headers["Authorization"] == f"Bearer {wu.access_token}", "read as the person"

    path = f"/v1/triage/{COMPLAINT}"
    screens.services.on("dispatch", "POST", path, 200, {"work_order_id": str(uuid.uuid4())})
    routed = await screens.post(f"/supervisor/triage/{COMPLAINT}/route", wu, {"category": "billing", "note": ""})
    assert routed.status_code == 303 and routed.headers["location"] == "/supervisor/triage?done=triage_routed"
    assert screens.services.posted(path)[-1] == {"category": "billing", "note": "主管在分诊队列中确认"}

    taken = {"title": "Conflict", "status": 409, "detail": f"complaint {REFERENCE} is not waiting in triage"}
    screens.services.on("dispatch", "POST", path, 409, taken)
    refused = await screens.post(f"/supervisor/triage/{COMPLAINT}/route", wu, {"category": "billing"})
    assert (
        refused.status_code == 409
        and "is not waiting in triage" in refused.text
        and 'data-testid="refused"' in refused.text
    )
    unknown = await screens.post(f"/supervisor/triage/{COMPLAINT}/route", wu, {"category": "janitor"})
    assert unknown.status_code == 422 and 'data-testid="invalid"' in unknown.text

    validity = f"/v1/complaints/{COMPLAINT}/validity"
    screens.services.on("dispatch", "POST", validity, 200, {})
    closed = await screens.post(f"/supervisor/triage/{COMPLAINT}/invalid", wu, {"reason": "测试来电"})
    assert closed.headers["location"] == "/supervisor/triage?done=triage_invalid"
    assert screens.services.posted(validity)[-1] == {"valid": False, "reason": "测试来电"}


async def test_a_complaint_found_by_reference_is_overturned_or_reclassified(screens: ConsoleOnStandIns) -> None:
    wu = await session_for(screens.app, screens.issuer, "supervisor.wu")
    case = f"/v1/complaints/{REFERENCE}"
    screens.services.on("dispatch", "GET", case, 200, {"complaint_id": COMPLAINT, "status": "invalid"})
    screens.services.on("dispatch", "POST", f"/v1/complaints/{COMPLAINT}/(validity|reclassify)", 200, {})
    form = {"reference": REFERENCE, "category": "billing", "reason": "是收费问题"}
    overturned = await screens.post("/supervisor/triage/correct", wu, form)
    assert overturned.headers["location"] == "/supervisor/triage?done=validity_overturned"
    assert screens.services.posted(f"/v1/complaints/{COMPLAINT}/validity")[-1] == {
        "valid": True,
        "note": "是收费问题",
        "category": "billing",
    }
    screens.services.on("dispatch", "GET", case, 200, {"complaint_id": COMPLAINT, "status": "routed"})
    reclassified = await screens.post("/supervisor/triage/correct", wu, form)
    assert reclassified.headers["location"] == "/supervisor/triage?done=reclassified"
    assert screens.services.posted(f"/v1/complaints/{COMPLAINT}/reclassify")[-1] == {
        "category": "billing",
        "reason": "是收费问题",
    }


async def test_the_model_screen_shows_the_figures_side_by_side_and_promotes(screens: ConsoleOnStandIns) -> None:
    wu = await session_for(screens.app, screens.issuer, "supervisor.wu")
    page = await screens.get("/supervisor/model?lang=en", wu)
    assert page.status_code == 200, page.text
    assert "97.2%" in page.text and "97.5%" in page.text, "the candidate's and the current model's accuracy"
    assert 'data-testid="model-promote"' in page.text and 'hx-trigger="every 2s"' not in page.text

    promote = f"/v1/models/candidates/{CANDIDATE}/promote"
    screens.services.on("dispatch", "POST", promote, 200, candidate(status="current"))
    done = await screens.post(f"/supervisor/model/{CANDIDATE}/promote", wu, {})
    assert done.headers["location"] == "/supervisor/model?done=model_promoted"
    refusal = {"title": "Conflict", "status": 409, "detail": "the promotion gate refuses it"}
    screens.services.on("dispatch", "POST", promote, 409, refusal)
    refused = await screens.post(f"/supervisor/model/{CANDIDATE}/promote", wu, {})
    assert refused.status_code == 409 and "the promotion gate refuses it" in refused.text

    screens.services.on("dispatch", "POST", "/v1/models/candidates", 202, candidate(status="training"))
    asked = await screens.post("/supervisor/model/retrain", wu, {})
    assert asked.headers["location"] == "/supervisor/model?done=retrain_started"
    training = {"serving": "ngram-lr-68dee1f7b3", "candidates": [candidate(status="training", figures=None)]}
    screens.services.on("dispatch", "GET", "/v1/models", 200, training)
    polling = await screens.get("/supervisor/model/candidates", wu)
    assert 'hx-trigger="every 2s"' in polling.text and "<html" not in polling.text, "polls while it trains"


async def test_only_supervisors_open_the_triage_screens(screens: ConsoleOnStandIns) -> None:
    for staff_id in ("manager.qian", "leader.he", "agent.li"):
        who = await session_for(screens.app, screens.issuer, staff_id)
        for path in ("/supervisor/triage", "/supervisor/model"):
            assert (await screens.get(path, who)).status_code == 403, (staff_id, path)
