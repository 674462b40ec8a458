"""`/cases/{reference}`: one case — its timeline with each person's name, SLA clocks, work orders, messages and
callbacks — read from reporting, followup and dispatch as the signed-in person."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.auth import screen
from services.console.pages import error_response
from services.console.screens.common import Calls, Page
from services.console.views import case_page

router = APIRouter(include_in_schema=False)
#: A reference number (TS-20261123-000042) or a complaint id: nothing else reaches a service's path.
CASE_REF = re.compile(r"^(?:[A-Z]{2}-\d{8}-\d{1,9}|[0-9a-fA-F-]{36})$")
#: Timeline entries that are a message to the customer (what they were told, and when).
MESSAGE_EVENTS = frozenset(
    {
        "complaint.invalid",
        "complaint.joined",
        "complaint.eta_changed",
        "complaint.fault_fixed",
        "notification.requested",
        "complaint.interim_reply_sent",
    }
)


@router.get("/cases/{reference}", dependencies=[screen("case")])
async def case(reference: str, page: Page, calls: Calls) -> Response:
    if not CASE_REF.match(reference):
        return error_response(page, 404, "error.not_found", reference)
    shown = await case_page(calls, reference)
    timeline = shown["case"].get("timeline") or []
    messages = [entry for entry in timeline if entry.get("event_type") in MESSAGE_EVENTS]
    return page.render("case.html", messages=messages, **shown)
