"""GeoReport v2's error format, for every error under `/open311/v2` (refusals, bad parameters, unknown paths).

The spec: the answer is a list of `error`s (`code`, `description`), XML or JSON as the resource asked; the HTTP
status is 404 for what does not exist, 403 for a missing or wrong `api_key`, and 400 for anything else (the
body's `code` may be more specific — we keep our own status there, e.g. 503 when the database is down, with
`Retry-After`). Routes raise `shared.errors` as everywhere; `shared.http.problems` hands the answer to
`render_errors` for this path prefix instead of writing problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import Response

from services.channels.open311.formats import Document, Format, render

PREFIX = "/open311/v2"


def http_status(status: int) -> int:
    """The spec's HTTP status for one of ours: 404 and 403 stand, a missing credential is 403, the rest 400."""
    if status in (403, 404):
        return status
    if status == 401:
        return 403
    return 400


def requested_format(path: str) -> Format:
    """The format the path asked for (`….json`); XML otherwise, the spec's required one."""
    return "json" if path.endswith(".json") else "xml"


def error_document(code: int, descriptions: list[str]) -> Document:
    return Document("errors", [{"code": code, "description": description} for description in descriptions])


def render_errors(
    request: Request, status: int, descriptions: list[str], headers: Mapping[str, str] | None
) -> Response:
    """What `shared.http.problems` calls for an error on an Open311 path."""
    body, content_type = render(error_document(status, descriptions), requested_format(request.url.path))
    return Response(body, status_code=http_status(status), media_type=content_type, headers=dict(headers or {}))
