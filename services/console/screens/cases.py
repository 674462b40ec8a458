"""`/cases/{reference}`: one case — its timeline with each person's name, SLA clocks, work orders, messages and
callbacks — read from reporting, followup and dispatch as the signed-in person.

Messages are reporting's `messages` (one per notification, its latest delivery status, as notify reported it) and
the timeline's `notification.delivery` lines; the page says each one's template, recipient, channel and status in
words with a mark (not colour alone), and, above everything, whether the customer got the receipt."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.auth import screen
from services.console.pages import error_response
from services.console.screens.common import Calls, Page
from services.console.views import case_page

router = APIRouter(include_in_schema=False)
#: A reference number (TS-20261123-000042) or a complaint id: nothing else reaches a service's path.
CASE_REF = re.compile(r"^(?:[A-Z]{2}-\d{8}-\d{1,9}|[0-9a-fA-F-]{36})$")
#: The messages that tell a customer their complaint was received (with its reference number).
RECEIPT_TEMPLATES = frozenset({"complaint_received", "complaint_received_phone"})
#: How each delivery state is marked beside its words (`delivery.<state>`): a shape, never colour alone.
MARKS = {
    "delivered": "✓",
    "sent": "↗",
    "queued": "◷",
    "held": "☾",
    "failed": "✕",
    "suppressed": "⊘",
    "suppressed_cap": "⊘",
}
#: Reasons the state's own words already say (shown once, not twice).
SAID_BY_STATE = {"held": "quiet_hours"}


def delivery_state(status: str | None, reason: str | None) -> str:
    """What to call a message's status: queued for quiet hours is "held", suppressed by the cap says so."""
    if status == "queued" and reason == "quiet_hours":
        return "held"
    if status == "suppressed" and reason == "daily_cap":
        return "suppressed_cap"
    return str(status or "queued")


def shown_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """One message (reporting's `messages` item or a `notification.delivery` payload) as the page shows it."""
    reason = message.get("reason")
    state = delivery_state(message.get("status"), reason)
    attempts = message.get("attempts") or 0
    return {
        "notification_id": message.get("notification_id"),
        "template_id": message.get("template_id"),
        "recipient_kind": message.get("recipient_kind"),
        "channel": message.get("channel"),
        "requested_at": message.get("requested_at"),
        "updated_at": message.get("updated_at") or message.get("status_at"),
        "state": state,
        "mark": MARKS.get(state, "•"),
        "reason": None if SAID_BY_STATE.get(state) == reason else reason,
        "attempts": attempts if isinstance(attempts, int) and attempts > 1 else None,
    }


def receipt_of(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The customer's receipt: the latest requested, when there were several."""
    receipts = [m for m in messages if m["template_id"] in RECEIPT_TEMPLATES and m["recipient_kind"] != "staff"]
    return receipts[-1] if receipts else None


def with_message_lines(timeline: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The timeline with each `notification.delivery` line carrying its message as shown (`message`)."""
    lines = []
    for entry in timeline:
        line = dict(entry)
        if entry.get("event_type") == "notification.delivery":
            line["message"] = shown_message(entry.get("payload") or {})
        lines.append(line)
    return lines


@router.get("/cases/{reference}", dependencies=[screen("case")])
async def case(reference: str, page: Page, calls: Calls) -> Response:
    if not CASE_REF.match(reference):
        return error_response(page, 404, "error.not_found", reference)
    shown = await case_page(calls, reference)
    case = dict(shown.pop("case"))
    case["timeline"] = with_message_lines(case.get("timeline") or [])
    messages = [shown_message(m) for m in case.get("messages") or []]
    return page.render("case.html", case=case, messages=messages, receipt=receipt_of(messages), **shown)
