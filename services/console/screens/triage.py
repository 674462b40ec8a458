"""`/supervisor/triage` and `/supervisor/model`: the supervisors' triage queue and the category model retrained from
their decisions (issue 24, must-show 3).

The queue is dispatch's (`GET /v1/triage`, as the supervisor): each doubtful complaint with the model's suggestions
(category, its department, the confidence); one form routes it in one action — the category preselected from the
best suggestion, each option naming the department it sends to — and dispatch keeps the decision as a labelled
correction (`GET /v1/triage/corrections` lists them under the queue). From the same screen a supervisor closes a
complaint as invalid, overturns an invalid one, or reclassifies a routed one by its reference. The queue is a live
region (kind `triage`), re-read from its fragment route as the person.

The model screen shows the model serving and the latest retrained candidate's blind-set figures beside the current
model's (accuracy with its 95 % interval, per category) and the gate's verdict; "retrain now" asks dispatch for a
candidate (fitted in the background: the section polls while it trains) and "promote" goes through dispatch's gate.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.pages import PageContext, redirect
from services.console.screens.common import Calls, FormInvalid, Page, attempt, text
from services.console.views import part

router = APIRouter(include_in_schema=False)
TRIAGE = "/supervisor/triage"
MODEL = "/supervisor/model"
#: The categories and the department each is routed to (dispatch's shipped rules; the suggestions carry theirs).
CATEGORIES = (
    ("heating_temperature", "repair"),
    ("equipment_fault", "repair"),
    ("outage", "repair"),
    ("safety_hazard", "repair"),
    ("billing", "billing"),
    ("service_attitude", "customer_service"),
    ("consultation", "customer_service"),
    ("other", "customer_service"),
)


def _items(answer: Any) -> list[dict[str, Any]]:
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return [i for i in items if isinstance(i, dict)]


async def _queue(calls: PersonCalls) -> dict[str, Any]:
    queue, corrections = await asyncio.gather(
        calls.get("dispatch", "/v1/triage", page_size=50),
        part(calls.get("dispatch", "/v1/triage/corrections", limit=10)),
    )
    return {
        "items": _items(queue),
        "total": queue.get("total", 0) if isinstance(queue, dict) else 0,
        "corrections": _items(corrections.data) if corrections.ok else None,
        "categories": CATEGORIES,
    }


@router.get(TRIAGE, dependencies=[screen("triage")])
async def triage(page: Page, calls: Calls) -> Response:
    return await _show(page, calls)


async def _show(
    page: PageContext,
    calls: PersonCalls,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    values = await _queue(calls)
    return page.render("triage.html", **values, refused=refused, invalid=invalid, status=status)


@router.get(TRIAGE + "/list", dependencies=[screen("triage")])
async def triage_list(page: Page, calls: Calls) -> Response:
    """The live region's inner HTML alone (re-fetched when a complaint enters or leaves triage)."""
    return page.render("_triage.html", **await _queue(calls))


def _required(form: Any, name: str) -> str:
    value = text(form, name)
    if value is None:
        raise FormInvalid(name, "form.required")
    return value


def _category(form: Any) -> str:
    value = _required(form, "category")
    if value not in dict(CATEGORIES):
        raise FormInvalid("category", "triage.unknown_category")
    return value


async def _decide(calls: PersonCalls, complaint_id: uuid.UUID, decision: str, form: Any, page: PageContext) -> str:
    """One decision on a complaint of the queue: routed (the labelled correction is dispatch's) or invalid."""
    if decision == "route":
        note = text(form, "note") or page.t("triage.default_note")
        body = {"category": _category(form), "note": note}
        await calls.post("dispatch", f"/v1/triage/{complaint_id}", body)
        return "triage_routed"
    invalid: dict[str, Any] = {"valid": False, "reason": _required(form, "reason")}
    await calls.post("dispatch", f"/v1/complaints/{complaint_id}/validity", invalid)
    return "triage_invalid"


@router.post(TRIAGE + "/{complaint_id}/{decision}", dependencies=[screen("triage")])
async def decide(
    complaint_id: uuid.UUID, decision: str, request: Request, _: Acting, page: Page, calls: Calls
) -> Response:
    """Route in one action, or close as invalid; refused (409: someone decided first), the queue again with why."""
    if decision not in ("route", "invalid"):
        raise FormInvalid("decision", "triage.unknown_decision")
    form = await request.form()
    outcome = await attempt(_decide(calls, complaint_id, decision, form, page))
    if not outcome.ok:
        return await _show(page, calls, refused=outcome.refused, invalid=outcome.invalid, status=_status(outcome))
    return redirect(TRIAGE, done=outcome.answer)


def _status(outcome: Any) -> int:
    return outcome.refused.status if outcome.refused is not None else 422


async def _correct(calls: PersonCalls, form: Any) -> str:
    """A complaint found by its reference: overturned when it was closed as invalid, else reclassified."""
    reference, category, reason = _required(form, "reference"), _category(form), _required(form, "reason")
    case = await calls.get("dispatch", f"/v1/complaints/{reference}")
    complaint_id = case["complaint_id"]
    if case.get("status") == "invalid":
        body = {"valid": True, "note": reason, "category": category}
        await calls.post("dispatch", f"/v1/complaints/{complaint_id}/validity", body)
        return "validity_overturned"
    await calls.post("dispatch", f"/v1/complaints/{complaint_id}/reclassify", {"category": category, "reason": reason})
    return "reclassified"


@router.post(TRIAGE + "/correct", dependencies=[screen("triage")])
async def correct(request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    form = await request.form()
    outcome = await attempt(_correct(calls, form))
    if not outcome.ok:
        return await _show(page, calls, refused=outcome.refused, invalid=outcome.invalid, status=_status(outcome))
    return redirect(TRIAGE, done=outcome.answer)


# -- the model ------------------------------------------------------------------------------------------------------


async def _models(calls: PersonCalls) -> dict[str, Any]:
    answer = await calls.get("dispatch", "/v1/models", limit=5)
    candidates = [c for c in answer.get("candidates", []) if isinstance(c, dict)]
    latest = candidates[0] if candidates else None
    return {
        "serving": answer.get("serving"),
        "latest": latest,
        "earlier": candidates[1:],
        "training": latest is not None and latest.get("status") == "training",
        "rows": _per_class(latest),
    }


def _per_class(candidate: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per category: the blind complaints, and the current model's and the candidate's recall side by side."""
    if not candidate or not candidate.get("figures") or not candidate.get("baseline_figures"):
        return []
    current = {r["category"]: r for r in candidate["baseline_figures"]["per_class"]}
    return [
        {"category": r["category"], "n": r["n"], "candidate": r, "current": current.get(r["category"])}
        for r in candidate["figures"]["per_class"]
    ]


@router.get(MODEL, dependencies=[screen("triage_model")])
async def model(page: Page, calls: Calls) -> Response:
    return page.render("triage_model.html", **await _models(calls))


@router.get(MODEL + "/candidates", dependencies=[screen("triage_model")])
async def model_candidates(page: Page, calls: Calls) -> Response:
    """The candidates' section alone: polled while a candidate trains."""
    return page.render("_triage_model.html", **await _models(calls))


@router.post(MODEL + "/retrain", dependencies=[screen("triage_model")])
async def retrain(_: Acting, page: Page, calls: Calls) -> Response:
    outcome = await attempt(calls.post("dispatch", "/v1/models/candidates"))
    if outcome.refused is not None:
        return page.render("triage_model.html", **await _models(calls), refused=outcome.refused, status=409)
    return redirect(MODEL, done="retrain_started")


@router.post(MODEL + "/{candidate_id}/promote", dependencies=[screen("triage_model")])
async def promote(candidate_id: uuid.UUID, _: Acting, page: Page, calls: Calls) -> Response:
    outcome = await attempt(calls.post("dispatch", f"/v1/models/candidates/{candidate_id}/promote"))
    if outcome.refused is not None:
        status = outcome.refused.status
        return page.render("triage_model.html", **await _models(calls), refused=outcome.refused, status=status)
    return redirect(MODEL, done="model_promoted")
