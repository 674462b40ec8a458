"""The customer's status page (`/status`, Chinese or English) and its API (`POST /v1/status`): reference number
plus the last four digits of the phone → status, department, latest note, expected time, messages sent.

Public, so rate-limited (`limiter.py`: lookups per client address, wrong digits per reference number) and
showing nothing more personal than the customer typed. The digits travel in a POST body, never in a URL (no
browser history, no access log holds them). The page answers in HTML with the right status (404 when nothing
matches, 429 with Retry-After when limited); the API in JSON, its refusals problem+json like every API.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.channels.deps import ChannelsDoor, Door
from services.channels.handlers.customer_status import LookUpCase, look_up_case
from services.channels.model import Case
from services.channels.status import page
from services.channels.status.limiter import LookupLimits, Verdict
from shared.errors import DomainError, NotFound
from shared.http.problems import problem_responses
from shared.http.service_app import app_state
from shared.sla import load_sla_table

router = APIRouter(tags=["status"])
#: The page posts a form (the digits stay out of the URL).
RAW_BODY_PATH = "/status"
Limits = Annotated[LookupLimits, Depends(app_state("status_limits"))]
ZONE = ZoneInfo(load_sla_table().config.timezone)
REFERENCE_PATTERN = r"^[A-Za-z0-9\-]{1,40}$"
LAST4_PATTERN = r"^[0-9]{4}$"
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class TooManyLookups(DomainError):
    """Over the status page's limits: retry after the seconds given."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many lookups: retry in {retry_after_s} s", headers={"Retry-After": str(retry_after_s)})


class StatusLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference_no: str = Field(pattern=REFERENCE_PATTERN, description="The reference number, e.g. TS-20261123-000042")
    phone_last4: str = Field(pattern=LAST4_PATTERN, description="The last four digits of the phone given")
    lang: page.Lang = "zh"


class SentMessageRead(BaseModel):
    template: str
    name: str
    channel: str | None
    status: str
    at: str


class CaseStatusRead(BaseModel):
    """What a customer may see of their case: no name, no address, no text."""

    reference_no: str
    status: str = Field(description="received, routed, in_progress, resolved, closed or invalid")
    status_text: str
    department: str | None
    status_notes: str | None
    eta: datetime | None
    received_at: datetime | None
    updated_at: datetime
    messages: list[SentMessageRead]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _look_up(
    request: Request, limits: LookupLimits, door: ChannelsDoor, reference_no: str, last4: str
) -> Case | Verdict:
    """The case, or the limit's verdict when refused (a miss counts against the reference)."""
    verdict = limits.admit(_client(request), reference_no)
    if not verdict.allowed:
        return verdict
    case: Case | None = await door.run(look_up_case, LookUpCase(reference_no, last4))
    if case is None:
        limits.failed(reference_no)
    return case if case is not None else Verdict(True)


@router.post(
    "/v1/status",
    response_model=CaseStatusRead,
    responses=problem_responses(404, 429, body=True, s404="No case with that reference and those digits"),
    summary="A customer's case by reference number and the phone's last four digits (rate-limited)",
)
async def status_api(lookup: StatusLookup, request: Request, limits: Limits, door: Door) -> CaseStatusRead:
    found = await _look_up(request, limits, door, lookup.reference_no, lookup.phone_last4)
    if isinstance(found, Verdict):
        if not found.allowed:
            raise TooManyLookups(found.retry_after_s)
        raise NotFound("no case with that reference number and those digits")
    return CaseStatusRead(
        reference_no=found.reference_no or lookup.reference_no,
        status=found.status,
        status_text=page.STATUSES[lookup.lang].get(found.status, found.status),
        department=found.department,
        status_notes=found.status_notes,
        eta=found.eta,
        received_at=found.received_at,
        updated_at=found.updated_at,
        messages=[SentMessageRead(**m) for m in page.public_messages(found, lookup.lang)],  # type: ignore[arg-type]
    )


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**_SECURITY_HEADERS, **(headers or {})})


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
async def status_page(request: Request, lang: str | None = None) -> HTMLResponse:
    chosen = page.language(lang, request.headers.get("accept-language"))
    return _html(page.render(chosen, ZONE, page.Form()))


@router.post("/status", response_class=HTMLResponse, include_in_schema=False)
async def status_page_lookup(request: Request, limits: Limits, door: Door, lang: str | None = None) -> HTMLResponse:
    chosen = page.language(lang, request.headers.get("accept-language"))
    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    reference_no, last4 = fields.get("reference_no", "").strip(), fields.get("phone_last4", "").strip()
    form = page.Form(reference_no=reference_no[:40])
    if not (re.fullmatch(REFERENCE_PATTERN, reference_no) and re.fullmatch(LAST4_PATTERN, last4)):
        return _html(page.render(chosen, ZONE, page.Form(form.reference_no, page.TEXT[chosen]["invalid"])), 422)
    found = await _look_up(request, limits, door, reference_no, last4)
    if isinstance(found, Case):
        return _html(page.render(chosen, ZONE, form, found))
    if not found.allowed:
        error = page.TEXT[chosen]["too_many"].format(seconds=found.retry_after_s)
        return _html(
            page.render(chosen, ZONE, page.Form(form.reference_no, error)),
            429,
            {"Retry-After": str(found.retry_after_s)},
        )
    return _html(page.render(chosen, ZONE, page.Form(form.reference_no, page.TEXT[chosen]["not_found"])), 404)


@router.get("/status/status.css", include_in_schema=False)
async def stylesheet() -> Response:
    return Response(page.STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
