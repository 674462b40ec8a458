"""Channels' own HTTP endpoints (the protocol areas bring theirs: see `routes.py`): an attachment for signed-in
staff. Health and readiness come with every service app (`/healthz`, `/readyz`). Thin: decode, run the use case
through the door, answer; refusals propagate to the one mapping of problems."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Response

from services.channels import metrics
from services.channels.auth import SignedInStaff
from services.channels.deps import Door
from services.channels.handlers.attachments import ReadAttachment, read_attachment
from shared.http.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["attachments"])

#: Shown in the browser; anything else is downloaded (a customer's HTML must never run on our origin).
_INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain"})


@router.get(
    "/attachments/{attachment_id}",
    responses={
        200: {"description": "The file as the customer sent it", "content": {"application/octet-stream": {}}},
        **problem_responses(403, 404, s403="Not a signed-in staff member", s404="No such attachment"),
    },
    summary="A file a customer sent (mail attachment, WeChat image): for signed-in staff, every read recorded",
    response_class=Response,
)
async def attachment(attachment_id: uuid.UUID, staff: SignedInStaff, door: Door) -> Response:
    stored, content = await door.run(read_attachment, ReadAttachment(attachment_id, staff.staff_id))
    metrics.ATTACHMENT_READS.inc()
    media_type = stored.content_type if stored.content_type in _INLINE_TYPES else "application/octet-stream"
    disposition = "inline" if media_type != "application/octet-stream" else "attachment"
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.file_name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )
