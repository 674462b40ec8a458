"""What makes a submission a retry: the same Idempotency-Key, or the same channel ticket id, with the same body.

Pure rules; the handler (`handlers/submit.py`) applies them to what the repository found.
"""

from __future__ import annotations

import hashlib
import re

from services.intake.model import (
    ChannelTicketReused,
    IdempotencyKeyReused,
    StoredComplaint,
    SubmitComplaint,
    Submitted,
)
from services.intake.schemas import AGENT_FIELDS, ComplaintCreate
from shared.errors import Invalid

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


def checked_idempotency_key(key: str | None) -> str | None:
    """The header as given, or a 422 naming it: 1-128 printable ASCII characters."""
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        message = "1-128 printable ASCII characters"
        raise Invalid(f"Idempotency-Key: {message}", errors=[{"field": "Idempotency-Key", "message": message}])
    return key


def fingerprint(complaint: ComplaintCreate) -> str:
    """The submission's hash; the agent fields count only when given, so a retry from an old client (sent
    before they existed) still matches the fingerprint stored for it."""
    unset = {name for name in AGENT_FIELDS if getattr(complaint, name) in (None, False)}
    return hashlib.sha256(complaint.model_dump_json(exclude=unset).encode()).hexdigest()


def replay(existing: StoredComplaint, cmd: SubmitComplaint, request_fingerprint: str) -> Submitted:
    """The earlier complaint as the answer to a retry; the same key with another body is the caller's bug, and
    so (over HTTP) is the same channel ticket id with another body."""
    same_body = existing.request_fingerprint == request_fingerprint
    by_key = cmd.idempotency_key is not None and existing.idempotency_key == cmd.idempotency_key
    if by_key and not same_body:
        raise IdempotencyKeyReused(cmd.idempotency_key or "")
    if not by_key and not same_body and cmd.refuse_ticket_reuse:
        raise ChannelTicketReused(existing.channel_ticket_id or "")
    return Submitted(existing, replayed=True)
