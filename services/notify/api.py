"""HTTP entrypoints of notify, thin: a case's deliveries, the providers' status callbacks, a person's inbox and
(dev only) the page of every message sent. They decode, run a use case through the door (or read a view), and
answer; a refusal (`shared.errors`, `ReceiptRefused` among them) propagates to the one mapping of problems."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from services.notify import metrics, pages
from services.notify.auth import DeliveryReader, SignedIn
from services.notify.deps import Door, Providers, Settings, Views
from services.notify.handlers.inbox import ReadNotice, read_notice
from services.notify.handlers.receipts import ApplyReceipts, apply_receipts
from services.notify.model import role_addresses
from services.notify.providers.base import ReceiptRefused
from services.notify.schemas import DeliveryList, Inbox, ReadMark
from shared.errors import NotFound
from shared.http.problems import problem_response, problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1")
#: Vendors' callbacks under this prefix come in the vendor's own content type (the app's gate lets them through).
RECEIPTS_PATH = "/v1/receipts/"
dev = APIRouter(prefix="/dev", include_in_schema=False)


@router.get(
    "/deliveries",
    response_model=DeliveryList,
    tags=["deliveries"],
    responses=problem_responses(403, s403="Not a staff role that reads deliveries"),
    summary="What became of a case's messages: channel, status, attempts (addresses masked)",
)
async def deliveries(
    request: Request,
    _: DeliveryReader,
    views: Views,
    complaint_id: Annotated[uuid.UUID, Query(description="The case")],
) -> DeliveryList:
    mark_case(request, complaint_id)
    return await views.deliveries(complaint_id)


@router.post(
    "/receipts/{provider}",
    tags=["receipts"],
    responses=problem_responses(400, 404, s404="No provider of that name takes status reports here"),
    summary="A provider's delivery-status callback, checked the way that provider signs it",
    response_class=Response,
)
async def receipts(provider: str, request: Request, door: Door, catalog: Providers) -> Response:
    parser = catalog.receipts.get(provider)
    if parser is None:
        raise NotFound(f"no status reports are taken from {provider!r}")
    headers = {k.lower(): v for k, v in request.headers.items()}
    parsed = parser.parse(headers, dict(request.query_params), await request.body())
    tally = await door.run(apply_receipts, ApplyReceipts(provider, parsed))
    if tally.moved_on:
        door.wake()  # a message moved on to a channel it can take now
    metrics.receipt(provider, "applied", tally.applied)
    metrics.receipt(provider, "stale", tally.stale)
    metrics.receipt(provider, "unknown", tally.unknown)
    answer = parser.answer()
    return Response(content=answer.body, media_type=answer.media_type, headers=dict(answer.headers))


@router.get(
    "/receipts/{provider}",
    tags=["receipts"],
    responses={
        200: {"description": "The `echostr` given, when the signature is the vendor's", "content": {"text/plain": {}}},
        **problem_responses(404, s401="The signature is not the vendor's", s404="No such check for that provider"),
    },
    summary="A vendor's one-off check of its callback URL (WeChat's server-URL verification): echoed when signed",
    response_class=PlainTextResponse,
)
async def receipts_check(provider: str, request: Request, catalog: Providers) -> PlainTextResponse:
    """WeChat verifies an official account's server URL once, when it is configured: `GET` with `signature`,
    `timestamp`, `nonce` and `echostr`, expecting `echostr` back as plain text. A parser with an `echo` answers it."""
    echo = getattr(catalog.receipts.get(provider), "echo", None)
    if echo is None:
        raise NotFound(f"{provider!r} makes no check of its callback URL here")
    return PlainTextResponse(echo(dict(request.query_params)))


def install_receipt_refusals(app: FastAPI) -> None:
    """A refused callback counts as `refused` for its provider, then is answered like every refusal: a problem
    with the parser's status, its reason named (for the vendor's console)."""

    @app.exception_handler(ReceiptRefused)
    async def _refused(request: Request, exc: ReceiptRefused) -> JSONResponse:
        metrics.receipt(request.path_params.get("provider", ""), "refused")
        return problem_response(
            exc.status, exc.title, exc.detail or None, request.url.path, exc.headers, **exc.problem_members()
        )


@router.get(
    "/inbox",
    response_model=Inbox,
    tags=["inbox"],
    responses=problem_responses(403, s403="A machine key has no inbox"),
    summary="The signed-in person's staff notices, newest first",
)
async def inbox(person: SignedIn, views: Views, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Inbox:
    return await views.inbox(person.staff_id, limit, role_addresses(sorted(person.roles), person.department))


@router.post(
    "/inbox/{notification_id}/read",
    response_model=ReadMark,
    tags=["inbox"],
    responses=problem_responses(403, 404, s403="A machine key has no inbox", s404="Not one of your notices"),
    summary="Mark one of the signed-in person's notices read",
)
async def mark_read(notification_id: uuid.UUID, person: SignedIn, door: Door, views: Views) -> ReadMark:
    roles = role_addresses(sorted(person.roles), person.department)
    marked = await door.run(read_notice, ReadNotice(notification_id, person.staff_id, roles))
    read_at = next(
        (
            i.read_at
            for i in (await views.inbox(person.staff_id, 500, roles)).items
            if i.notification_id == notification_id
        ),
        None,
    )
    return ReadMark(notification_id=notification_id, read_at=read_at, already_read=not marked)


@dev.get("/outbox", response_class=HTMLResponse)
async def dev_outbox(
    settings: Settings,
    views: Views,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HTMLResponse:
    """Every message notify sent, newest first — in `make run` only (APP_ENV=dev): it shows clear addresses."""
    if settings.app_env != "dev":
        raise NotFound()
    return HTMLResponse(pages.outbox(await views.sent_messages(limit), lang))


@dev.get("/outbox.css")
async def dev_outbox_css(settings: Settings) -> Response:
    if settings.app_env != "dev":
        raise NotFound()
    return Response(pages.STYLESHEET, media_type="text/css")
