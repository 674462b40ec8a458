"""A staff member reads a notice in their console inbox (`POST /v1/inbox/{notification_id}/read`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.notify.handlers.context import Notify
from shared.errors import NotFound


@dataclass(frozen=True)
class ReadNotice:
    """`roles`: the role addresses the person reads (`model.role_addresses`), for notices nobody was resolved to."""

    notification_id: uuid.UUID
    staff_id: str
    roles: Sequence[str] = ()


async def read_notice(command: ReadNotice, work: Notify) -> bool:
    """True when the person read their notice now, False when they already had; `NotFound` when it is not theirs
    (addressed to them, or to a role of theirs nobody was resolved to)."""
    marked = await work.repo.mark_read(command.notification_id, command.staff_id, command.roles, work.now)
    if marked is None:
        raise NotFound("no such notice in your inbox")
    return marked
