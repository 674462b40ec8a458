"""The agent's screens: entering a phone or counter complaint (with the caller's household and what is wrong in
their area looked up first), following it until it is routed, and the callbacks to make.

The form becomes intake's `POST /v1/complaints` body as it is; intake decides what is valid, dispatch where it
goes, followup whom to call back. The agent's id is the token's (intake refuses another).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import ServiceRefused
from services.console.pages import error_response, redirect
from services.console.screens.cases import CASE_REF
from services.console.screens.common import Calls, Page, attempt, flag, text, without_none
from services.console.views import callbacks_page, customer_lookup

router = APIRouter(include_in_schema=False)
CHANNELS = ("phone", "counter")
CATEGORIES = (
    "heating_temperature",
    "equipment_fault",
    "outage",
    "safety_hazard",
    "billing",
    "service_attitude",
    "consultation",
    "other",
)
#: intake's field names → the form's, so a refusal is shown beside the field the agent typed.
FORM_FIELDS = {
    "channel": "channel",
    "customer.name": "customer_name",
    "customer.phone": "customer_phone",
    "customer.account_no": "account_no",
    "customer": "customer_phone",
    "location.address": "address",
    "location.district": "district",
    "text": "text",
    "category_hint": "category_hint",
    "handled_on_contact": "handled_on_contact",
    "customer_agitated": "customer_agitated",
}
#: Poll dispatch for the routing this many times, a second apart, then say it is still on its way.
ROUTING_POLLS = 20
_IDEMPOTENCY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
Lookup = Annotated[str | None, Query(max_length=300)]


@router.get("/agent/complaints/new", dependencies=[screen("agent_new")])
async def new_complaint(
    page: Page,
    calls: Calls,
    phone: Lookup = None,
    account_no: Lookup = None,
    address: Lookup = None,
    district: Lookup = None,
) -> Response:
    """The form; with a phone, account or address given (the lookup form without script), the lookup is on it."""
    lookup = None
    if phone or account_no or address:
        lookup = await customer_lookup(calls, phone=phone, account_no=account_no, address=address, district=district)
    values = {"customer_phone": phone or "", "account_no": account_no or "", "address": address or ""}
    values["district"] = district or ""
    return _form(page, values, lookup=lookup)


@router.get("/agent/lookup", dependencies=[screen("agent_new")])
async def lookup(
    page: Page,
    calls: Calls,
    phone: Lookup = None,
    account_no: Lookup = None,
    address: Lookup = None,
    district: Lookup = None,
) -> Response:
    """The lookup's results alone, swapped into the form by htmx."""
    if not (phone or account_no or address):
        return page.render("_lookup.html", lookup=None, asked=False)
    found = await customer_lookup(calls, phone=phone, account_no=account_no, address=address, district=district)
    return page.render("_lookup.html", lookup=found, asked=True)


@router.post("/agent/complaints", dependencies=[screen("agent_new")])
async def submit_complaint(request: Request, session: Acting, page: Page, calls: Calls) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    channel = text(form, "channel") or "phone"
    key = text(form, "idempotency_key")
    if key is None or not _IDEMPOTENCY.match(key):
        key = uuid.uuid4().hex
    body: dict[str, Any] = without_none(
        {
            "channel": channel,
            "received_at": datetime.now(UTC).isoformat(),
            "customer": without_none(
                {
                    "name": text(form, "customer_name"),
                    "phone": text(form, "customer_phone"),
                    "account_no": text(form, "account_no"),
                    "preferred_contact": "phone",
                }
            ),
            "location": without_none({"address": text(form, "address"), "district": text(form, "district")}),
            "text": text(form, "text"),
            "category_hint": text(form, "category_hint"),
            "agent_id": session.person.staff_id,
            "handled_on_contact": text(form, "handled_on_contact"),
            "customer_agitated": flag(form, "customer_agitated") or None,
        }
    )
    outcome = await attempt(calls.post("intake", "/v1/complaints", body, headers={"Idempotency-Key": key}))
    if outcome.refused is not None:
        refused = outcome.refused
        fields = {FORM_FIELDS.get(str(e.get("field")), ""): str(e.get("message", "")) for e in refused.errors}
        return _form(page, values, refused=refused, field_errors=fields, status=refused.status)
    accepted = cast(dict[str, Any], outcome.answer)
    return redirect(f"/agent/complaints/{accepted['reference_no']}/saved")


@router.get("/agent/complaints/{reference}/saved", dependencies=[screen("agent_new")])
async def saved(reference: str, page: Page) -> Response:
    if not CASE_REF.match(reference):
        return error_response(page, 404, "error.not_found", reference)
    return page.render("complaint_saved.html", reference=reference)


@router.get("/agent/complaints/{reference}/routing", dependencies=[screen("agent_new")])
async def routing(
    reference: str, page: Page, calls: Calls, n: Annotated[int, Query(ge=0, le=ROUTING_POLLS)] = 0
) -> Response:
    """Where dispatch sent it, once it has: polled by the saved page (htmx) until routed, or a while."""
    if not CASE_REF.match(reference):
        return error_response(page, 404, "error.not_found", reference)
    case = await calls.optional("dispatch", f"/v1/complaints/{reference}")
    routed = case is not None and case.get("status") not in (None, "received")
    orders = (case or {}).get("work_orders") or []
    department = orders[0].get("department") if orders else None
    return page.render(
        "_routing.html",
        reference=reference,
        case=case,
        routed=routed,
        department=department,
        next_poll=None if routed or n >= ROUTING_POLLS else n + 1,
    )


@router.get("/agent/callbacks", dependencies=[screen("agent_callbacks")])
async def callbacks(page: Page, calls: Calls) -> Response:
    assert page.session is not None
    shown = await callbacks_page(calls, page.session.person.staff_id)
    return page.render("callbacks.html", **shown)


@router.post("/agent/callbacks/{callback_id}/outcome", dependencies=[screen("agent_callbacks")])
async def callback_outcome(callback_id: uuid.UUID, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    """Reached or not, satisfied or not, how (phone, letter, visit) and the survey, as followup records them."""
    form = await request.form()
    reached = text(form, "reached") != "no"
    outcome = "unreachable" if not reached else ("satisfied" if text(form, "satisfied") == "yes" else "dissatisfied")
    scores = {
        name: int(value)
        for name in ("supply", "attitude", "speed", "billing")
        if (value := text(form, f"score_{name}")) is not None and value.isdigit()
    }
    body = without_none(
        {
            "outcome": outcome,
            "method": text(form, "method") or "phone",
            "note": text(form, "note"),
            "scores": scores if scores and reached else None,
        }
    )
    recorded = await attempt(calls.post("followup", f"/v1/callbacks/{callback_id}/outcome", body))
    if recorded.refused is not None:
        refused = recorded.refused
        assert page.session is not None
        shown = await callbacks_page(calls, page.session.person.staff_id)
        return page.render(
            "callbacks.html", status=refused.status, refused=refused, failed_callback=str(callback_id), **shown
        )
    return redirect("/agent/callbacks", done="outcome_recorded")


def _form(
    page: Page,
    values: dict[str, str],
    *,
    lookup: dict[str, Any] | None = None,
    refused: ServiceRefused | None = None,
    field_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    values.setdefault("channel", "phone")
    values["idempotency_key"] = values.get("idempotency_key") or secrets.token_urlsafe(24)
    return page.render(
        "complaint_new.html",
        status=status,
        values=values,
        lookup=lookup,
        refused=refused,
        field_errors=field_errors or {},
        channels=CHANNELS,
        categories=CATEGORIES,
    )
