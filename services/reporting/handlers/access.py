"""Who read what: a read of personal data in reporting is itself a fact to record, so it is a use case that writes,
run through the door before the answer goes out — there is no export of names and phones, no household archive
and no case shown to a person without its row (PIPL; the issue 25 review: "no log says who read them").

Keys are logged like persons: a reader key is how the reporting tools and spreadsheets of a department read, and
its exports are exactly what must be traceable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.reporting.repository.access_log import PersonalDataRead, ReadAccessLog
from services.reporting.settings import ReaderCredential
from shared.handling import Work
from shared.http.person import Person
from shared.logging import get_logger

log = get_logger(__name__)

#: What recording a read holds: the log in the open transaction (no context of its own).
AccessWork = Work[ReadAccessLog, None]


@dataclass(frozen=True)
class Read:
    """A read about to be answered: who (`reader`, `reader_name`, `reader_kind`, `role`), through which request,
    whose (`subject`), which personal fields (`what`)."""

    reader: str
    reader_name: str | None
    reader_kind: str
    role: str | None
    endpoint: str
    subject: str
    what: tuple[str, ...]


async def record(read: Read, work: AccessWork) -> None:
    await work.repo.log_read(
        PersonalDataRead(
            at=work.now,
            reader=read.reader,
            reader_name=read.reader_name,
            reader_kind=read.reader_kind,
            role=read.role,
            endpoint=read.endpoint,
            subject=read.subject,
            what=read.what,
        )
    )
    log.info("personal data read", reader=read.reader, endpoint=read.endpoint, what=list(read.what))


@dataclass(frozen=True)
class Reads:
    reader: str | None
    since: datetime | None
    limit: int


async def reads(query: Reads, work: AccessWork) -> list[PersonalDataRead]:
    """The log, newest first."""
    return await work.repo.reads(reader=query.reader, since=query.since, limit=query.limit)


def read_by(who: ReaderCredential | Person, *, endpoint: str, subject: str, what: tuple[str, ...]) -> Read:
    """The read a reader is about to be answered, named as the log names readers."""
    if isinstance(who, Person):
        return Read(who.staff_id, who.name, "person", None, endpoint, subject, what)
    return Read(who.name, None, "key", who.role, endpoint, subject, what)
