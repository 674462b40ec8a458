"""Who was shown whose contact: the callback worklist hands agents customers' names and phone numbers, so every
showing is recorded (who, whose, which fields, through which request, when) before the answer goes out — there is
no read of contact data in followup without its row (PIPL; issue 25). Dispatch keeps the same log for its persons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.followup.repository.contact_reads import ContactReadLog, ContactShown
from services.followup.schemas import CallbackRead
from shared.handling import Work
from shared.logging import get_logger

log = get_logger(__name__)

ContactReadWork = Work[ContactReadLog, None]
#: The contact fields a callback answer may carry.
CONTACT_FIELDS = ("name", "phone", "email", "wechat_openid")


@dataclass(frozen=True)
class Shown:
    """Who was shown (a person's staff id and name, or a key's name) the callbacks of an answer."""

    reader: str
    reader_name: str | None
    person: bool
    callbacks: Sequence[CallbackRead]
    #: The request, as the log names it: method and route template.
    endpoint: str


async def record(shown: Shown, work: ContactReadWork) -> None:
    """One row per callback that carried a contact; none when nothing was shown."""
    now = work.now
    rows = [
        ContactShown(
            at=now,
            reader=shown.reader,
            reader_name=shown.reader_name,
            reader_kind="person" if shown.person else "key",
            complaint_id=c.complaint_id,
            reference_no=c.reference_no,
            what=tuple(f for f in CONTACT_FIELDS if getattr(c.contact, f)),
            endpoint=shown.endpoint,
        )
        for c in shown.callbacks
        if c.contact is not None
    ]
    await work.repo.log_contact_reads(rows)
    if rows:
        log.info("contact details shown", reader=shown.reader, cases=len(rows), endpoint=shown.endpoint)
