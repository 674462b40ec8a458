"""Open311 GeoReport v2 under `/open311/v2`: discovery, services, service definitions, POST and GET requests, one
request, tokens — each in XML (`.xml`, the spec's required format) or JSON (`.json`).

Thin: parameters are read by `params.py` (the spec's own form and query names, so no FastAPI validation answers
in problem+json), the use cases run through the door, `documents.py` shapes the answer. Only POST needs an API
key (`api_key`, one per client system: `CHANNELS_OPEN311_KEYS`). Errors are the spec's error list:
`errors.render_errors`, installed for this prefix by the composition root (`ERROR_FORMAT`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response

from services.channels.deps import Clock, Door, Settings
from services.channels.handlers.open311 import file_request, find_requests, request_by_token
from services.channels.open311 import documents, params
from services.channels.open311.catalogue import Language
from services.channels.open311.errors import PREFIX, render_errors
from services.channels.open311.formats import CONTENT_TYPES, FORMATS, Document, Format, render
from services.channels.repository.open311 import RequestQuery
from shared.credentials import match_token
from shared.errors import Forbidden, NotFound
from shared.http.problems import ErrorFormat

router = APIRouter(prefix=PREFIX, tags=["open311"])
#: The composition root answers errors under `PREFIX` with this (`shared.http.problems.answer_errors_as`).
ERROR_FORMAT: tuple[str, ErrorFormat] = (PREFIX, render_errors)
#: POST requests.{format} posts a form (the spec's content type), read by `params.form_pairs`.
RAW_BODY_PATH = f"{PREFIX}/"

_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "GeoReport v2 XML or JSON", "content": {t.split(";")[0]: {} for t in CONTENT_TYPES.values()}},
    400: {"description": "GeoReport v2 error list: the request cannot be carried out (each fault named)"},
    404: {"description": "GeoReport v2 error list: no such resource, service code, request or token"},
}


def _format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise NotFound(f"format {fmt!r} is not served: use .xml or .json")
    return "json" if fmt == "json" else "xml"


def _answer(document: Document, fmt: str, status: int = 200) -> Response:
    body, content_type = render(document, _format(fmt))
    return Response(body, status_code=status, media_type=content_type)


def _query(request: Request, ours: str) -> Sequence[tuple[str, str]]:
    pairs = list(request.query_params.multi_items())
    params.check_jurisdiction(params.one(pairs, "jurisdiction_id"), ours)
    return pairs


def _lang(request: Request) -> Language:
    return documents.language(request.headers.get("accept-language"))


@router.get("/discovery.{fmt}", response_class=Response, responses=_ANSWERS, summary="Service discovery")
async def discovery(fmt: str, request: Request, settings: Settings) -> Response:
    url = str(request.base_url).rstrip("/") + PREFIX
    return _answer(documents.discovery(url, settings.channels_open311_contact), fmt)


@router.get("/services.{fmt}", response_class=Response, responses=_ANSWERS, summary="GET Service List")
async def service_list(fmt: str, request: Request, settings: Settings) -> Response:
    _query(request, settings.channels_open311_jurisdiction_id)
    return _answer(documents.services(_lang(request)), fmt)


@router.get(
    "/services/{service_code}.{fmt}", response_class=Response, responses=_ANSWERS, summary="GET Service Definition"
)
async def service_definition(service_code: str, fmt: str, request: Request, settings: Settings) -> Response:
    _query(request, settings.channels_open311_jurisdiction_id)
    return _answer(documents.definition(params.service_of(service_code), _lang(request)), fmt)


@router.post(
    "/requests.{fmt}",
    response_class=Response,
    responses={**_ANSWERS, 403: {"description": "GeoReport v2 error list: api_key missing or invalid"}},
    summary="POST Service Request (form-encoded; api_key required): answers a token",
    openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}},
)
async def post_request(fmt: str, request: Request, settings: Settings, door: Door) -> Response:
    _format(fmt)
    raw = await request.body()
    pairs = params.form_pairs(raw) + list(request.query_params.multi_items())
    params.check_jurisdiction(params.one(pairs, "jurisdiction_id"), settings.channels_open311_jurisdiction_id)
    key = params.one(pairs, "api_key")
    if key is None:
        raise Forbidden("api_key was not provided: every client system has its own")
    client = match_token(key, settings.channels_open311_keys)
    if client is None:
        raise Forbidden("invalid api_key received: can't proceed with create_request")
    cmd = params.file_request(pairs, client=client, raw_body=raw)
    filed = await door.run(file_request, cmd)
    return _answer(documents.filed(filed.token, _lang(request)), fmt)


@router.get("/requests.{fmt}", response_class=Response, responses=_ANSWERS, summary="GET Service Requests")
async def get_requests(fmt: str, request: Request, settings: Settings, door: Door, clock: Clock) -> Response:
    _format(fmt)
    query = params.request_query(_query(request, settings.channels_open311_jurisdiction_id), clock())
    views = await door.run(find_requests, query)
    return _answer(documents.service_requests(views, _lang(request)), fmt)


@router.get(
    "/requests/{service_request_id}.{fmt}", response_class=Response, responses=_ANSWERS, summary="GET Service Request"
)
async def get_request(service_request_id: str, fmt: str, request: Request, settings: Settings, door: Door) -> Response:
    _format(fmt)
    _query(request, settings.channels_open311_jurisdiction_id)
    views = await door.run(find_requests, RequestQuery(reference_nos=(service_request_id,), limit=1))
    if not views:
        raise NotFound(f"service_request_id {service_request_id!r} was not found")
    return _answer(documents.service_requests(views, _lang(request)), fmt)


@router.get(
    "/tokens/{token}.{fmt}", response_class=Response, responses=_ANSWERS, summary="GET service_request_id from a token"
)
async def get_token(token: str, fmt: str, request: Request, settings: Settings, door: Door) -> Response:
    _format(fmt)
    _query(request, settings.channels_open311_jurisdiction_id)
    message_id = _token(token)
    view = await door.run(request_by_token, message_id) if message_id else None
    if view is None:
        raise NotFound(f"token {token!r} was not found")
    return _answer(documents.token(message_id, view), fmt)  # type: ignore[arg-type]


def _token(token: str) -> uuid.UUID | None:
    """A token is a UUID; anything else names no request (a 404, like an unknown one: no `try` in routes)."""
    text = token.strip().lower()
    hexdigits = text.replace("-", "")
    if len(hexdigits) != 32 or any(c not in "0123456789abcdef" for c in hexdigits):
        return None
    return uuid.UUID(hexdigits)
