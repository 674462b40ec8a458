"""A signed-in staff member reads an attachment a customer sent: the file, and a record of who read it when — in
the same unit, so no read goes unrecorded (the log line names the person too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.channels.handlers.context import ChannelsWork
from services.channels.model import StoredAttachment
from shared.errors import NotFound
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class ReadAttachment:
    attachment_id: uuid.UUID
    staff_id: str


async def read_attachment(cmd: ReadAttachment, work: ChannelsWork) -> tuple[StoredAttachment, bytes]:
    found = await work.repo.attachment(cmd.attachment_id)
    if found is None:
        raise NotFound(f"no attachment {cmd.attachment_id}")
    await work.repo.record_attachment_read(cmd.attachment_id, cmd.staff_id, work.now)
    attachment, _ = found
    log.info(
        "attachment read",
        attachment_id=str(cmd.attachment_id),
        message_id=str(attachment.message_id),
        staff_id=cmd.staff_id,
        size_bytes=attachment.size_bytes,
    )
    return found
