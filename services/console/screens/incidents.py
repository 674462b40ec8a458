"""`/supervisor/incidents`: incidents (one fault, many callers) and outage notices — declare either, set an ETA,
restore, and see every caller of an incident or an outage notice and what they were told.

Every step is one dispatch call as the supervisor (dispatch checks the role and the fault's rules; an incident is
restored through its work order, which the supervisor resolves on the work order's page); the callers are dispatch's
incident or outage detail and what each was told is reporting's record of their case's messages (notify's delivery of
each). The lists are a live region (kinds `incident` and `outage`) re-read from its own fragment route.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.pages import PageContext, redirect
from services.console.screens.common import Calls, FormInvalid, Page, attempt, local_time, text, without_none
from services.console.views import part

router = APIRouter(include_in_schema=False)
PATH = "/supervisor/incidents"
FAMILIES = ("no_heat", "power_outage", "water_outage", "gas_outage")
#: Callers whose messages are read for an incident's page (one reporting read each).
CALLERS_SHOWN = 30
#: What a caller of a fault is told (notify's templates), the rest of a case's messages left out.
GROUP_TEMPLATES = frozenset({"group_joined", "group_joined_no_eta", "eta_changed", "fault_fixed"})


def _items(answer: Any) -> list[dict[str, Any]]:
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return [i for i in items if isinstance(i, dict)]


async def faults(calls: PersonCalls) -> dict[str, Any]:
    """Open incidents and the outage notices not ended (in force, or planned for later)."""
    incidents, outages = await asyncio.gather(
        calls.get("dispatch", "/v1/incidents", status="open"), calls.get("dispatch", "/v1/outage-notices")
    )
    return {
        "incidents": _items(incidents),
        "outages": [o for o in _items(outages) if o.get("status") != "ended"],
    }


@router.get(PATH, dependencies=[screen("incidents")])
async def incidents(page: Page, calls: Calls) -> Response:
    return await _page(page, calls)


async def _page(
    page: PageContext,
    calls: PersonCalls,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "incidents.html", families=FAMILIES, refused=refused, invalid=invalid, status=status, **await faults(calls)
    )


@router.get(f"{PATH}/list", dependencies=[screen("incidents")])
async def incidents_list(page: Page, calls: Calls) -> Response:
    """The live region's inner HTML alone."""
    return page.render("_faults.html", **await faults(calls))


@router.get(PATH + "/{incident_id}", dependencies=[screen("incidents")])
async def incident(incident_id: uuid.UUID, page: Page, calls: Calls) -> Response:
    return await _incident(page, calls, incident_id)


async def _incident(
    page: PageContext,
    calls: PersonCalls,
    incident_id: uuid.UUID,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    found = await calls.get("dispatch", f"/v1/incidents/{incident_id}")
    callers = await callers_told(calls, found)
    return page.render("incident.html", i=found, callers=callers, refused=refused, invalid=invalid, status=status)


async def callers_told(calls: PersonCalls, fault: dict[str, Any]) -> list[dict[str, Any]]:
    """An incident's or outage notice's callers (dispatch), each with what they were told (reporting), the first
    `CALLERS_SHOWN` read; a caller whose case reporting cannot show says so in its place."""
    complaints = [c for c in fault.get("complaints") or [] if isinstance(c, dict)]
    told = await asyncio.gather(*(part(_case(calls, c)) for c in complaints[:CALLERS_SHOWN]))
    callers = [{**c, "told": t} for c, t in zip(complaints, told, strict=False)]
    return callers + [{**c, "told": None} for c in complaints[CALLERS_SHOWN:]]


async def _case(calls: PersonCalls, complaint: dict[str, Any]) -> dict[str, Any]:
    """A caller's case as reporting has it: the messages a fault's caller is told, and the ETA they were given."""
    case = await calls.get("reporting", f"/v1/cases/{complaint.get('reference_no')}")
    messages = [m for m in case.get("messages") or [] if m.get("recipient_kind") == "customer"]
    return {"eta": case.get("eta"), "messages": [m for m in messages if m.get("template_id") in GROUP_TEMPLATES]}


@router.get("/supervisor/outages/{outage_id}", dependencies=[screen("incidents")])
async def outage(outage_id: uuid.UUID, page: Page, calls: Calls) -> Response:
    return await _outage(page, calls, outage_id)


async def _outage(
    page: PageContext,
    calls: PersonCalls,
    outage_id: uuid.UUID,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    found = await calls.get("dispatch", f"/v1/outage-notices/{outage_id}")
    callers = await callers_told(calls, found)
    return page.render("outage.html", o=found, callers=callers, refused=refused, invalid=invalid, status=status)


# -- the steps ---------------------------------------------------------------------------------------------------


def _declare_incident(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none(
        {
            "family": text(form, "family"),
            "district": text(form, "district"),
            "compound": text(form, "compound"),
            "description": text(form, "description"),
            "eta": local_time(form, "eta", page.timezone, required=False),
        }
    )


def _declare_outage(form: Any, page: PageContext) -> dict[str, Any]:
    """An outage notice; starting now unless a start is given. `expected_end` is always sent (dispatch requires the
    field; null: no ETA yet)."""
    starts = local_time(form, "starts_at", page.timezone, required=False) or datetime.now(UTC).isoformat()
    body = without_none(
        {
            "kind": text(form, "kind") or "unplanned",
            "family": text(form, "family"),
            "district": text(form, "district"),
            "compound": text(form, "compound"),
            "starts_at": starts,
            "description": text(form, "description"),
        }
    )
    return body | {"expected_end": local_time(form, "expected_end", page.timezone, required=False)}


def _eta(field: str) -> Callable[[Any, PageContext], dict[str, Any]]:
    def body(form: Any, page: PageContext) -> dict[str, Any]:
        return without_none({field: local_time(form, field, page.timezone), "note": text(form, "note")})

    return body


def _restored(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none({"note": text(form, "note")})


async def _step(
    request: Request,
    calls: PersonCalls,
    path: str,
    body: Callable[[Any, PageContext], dict[str, Any]],
    page: PageContext,
    again: Callable[..., Awaitable[Response]],
    back: str,
    done: str,
) -> Response:
    """One dispatch call from a form; refused, the form's page again with why; done, back to `back`."""
    form = await request.form()

    async def post() -> Any:
        return await calls.post("dispatch", path, body(form, page))

    outcome = await attempt(post())
    if outcome.invalid is not None:
        return await again(invalid=outcome.invalid, status=422)
    if outcome.refused is not None:
        return await again(refused=outcome.refused, status=outcome.refused.status)
    return redirect(back, done=done)


@router.post(PATH, dependencies=[screen("incidents")])
async def declare_incident(request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    again = _again(_page, page, calls)
    return await _step(request, calls, "/v1/incidents", _declare_incident, page, again, PATH, "incident_declared")


@router.post(PATH + "/{incident_id}/eta", dependencies=[screen("incidents")])
async def incident_eta(incident_id: uuid.UUID, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    here = f"{PATH}/{incident_id}"
    again = _again(_incident, page, calls, incident_id)
    return await _step(request, calls, f"/v1/incidents/{incident_id}/eta", _eta("eta"), page, again, here, "eta_set")


@router.post("/supervisor/outages", dependencies=[screen("incidents")])
async def declare_outage(request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    again = _again(_page, page, calls)
    return await _step(request, calls, "/v1/outage-notices", _declare_outage, page, again, PATH, "outage_declared")


@router.post("/supervisor/outages/{outage_id}/eta", dependencies=[screen("incidents")])
async def outage_eta(outage_id: uuid.UUID, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    path = f"/v1/outage-notices/{outage_id}/eta"
    again = _again(_outage, page, calls, outage_id)
    here = f"/supervisor/outages/{outage_id}"
    return await _step(request, calls, path, _eta("expected_end"), page, again, here, "eta_set")


@router.post("/supervisor/outages/{outage_id}/restored", dependencies=[screen("incidents")])
async def outage_restored(outage_id: uuid.UUID, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    path = f"/v1/outage-notices/{outage_id}/restored"
    again = _again(_outage, page, calls, outage_id)
    return await _step(request, calls, path, _restored, page, again, PATH, "restored")


def _again(show: Callable[..., Awaitable[Response]], *args: Any) -> Callable[..., Awaitable[Response]]:
    async def shown(**refusal: Any) -> Response:
        return await show(*args, **refusal)

    return shown
