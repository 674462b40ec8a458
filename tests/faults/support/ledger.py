"""The ledger of what the platform accepted during a fault module (and the odd messages injected on purpose):
what the exact checks (checks.py, incident_checks.py) hold every read model and topic against."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from tests.support.complaint_streams import Poster, Submission
from tests.support.platform import Platform

# --- what the platform accepted ---------------------------------------------------------------------------


@dataclass
class Ledger:
    """Every complaint the platform accepted during the module, and the odd messages injected on purpose."""

    #: complaint id -> channel, for every accepted complaint (HTTP and partner tickets)
    channels: dict[str, str] = field(default_factory=dict)
    #: complaint id -> reference number
    references: dict[str, str] = field(default_factory=dict)
    #: idempotency key -> complaint id, for HTTP submissions
    by_key: dict[str, str] = field(default_factory=dict)
    #: complaint ids that only reporting knows: valid events about complaints that never existed
    orphans: set[str] = field(default_factory=set)
    #: keys of injected poison messages (so topic checks can tell them from platform traffic)
    poison_keys: set[bytes] = field(default_factory=set)
    #: undecodable records injected, per topic (a rebuild skips those on the topics reporting reads)
    undecodable: Counter[str] = field(default_factory=Counter)
    #: the scenario after which the platform never settled (later checks of the module are meaningless)
    unsettled: str | None = None
    #: every customer phone number and name submitted (none may leak outside the restricted places)
    personal: set[str] = field(default_factory=set)

    def add(self, submissions: Iterable[Submission]) -> None:
        for sub in submissions:
            assert sub.complaint_id is not None, f"{sub.idempotency_key} was never accepted"
            assert sub.complaint_id not in self.channels, f"{sub.complaint_id} accepted for two submissions"
            self.channels[sub.complaint_id] = sub.channel
            self.references[sub.complaint_id] = str(sub.reference_no)
            self.by_key[sub.idempotency_key] = sub.complaint_id
            customer = sub.body["customer"]
            self.personal.update(str(customer[k]) for k in ("phone", "name") if customer.get(k))

    def add_complaint(self, complaint_id: str, channel: str, reference_no: str) -> None:
        assert complaint_id not in self.channels
        self.channels[complaint_id] = channel
        self.references[complaint_id] = reference_no

    @property
    def ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(c) for c in self.channels]

    def __len__(self) -> int:
        return len(self.channels)


async def record_accepted(platform: Platform, ledger: Ledger, poster: Poster) -> None:
    """Add what intake accepted to the ledger. Called in a `finally`: after a scenario failed mid-stream the
    poster is cancelled, and submissions whose 202 never arrived are looked up in intake by their key, so
    the ledger holds exactly what exists and later scenarios of the module can still be checked exactly."""
    finished = poster._task is not None and poster._task.done() and not poster._task.cancelled()
    if not finished or poster._task.exception() is not None:  # type: ignore[union-attr]
        await poster.cancel()
        unanswered = {s.idempotency_key: s for s in poster.submissions if s.complaint_id is None and s.attempts}
        if unanswered:
            conn = await asyncpg.connect(platform.dsn)
            try:
                for r in await conn.fetch(
                    "SELECT complaint_id, reference_no, idempotency_key FROM intake.complaints "
                    "WHERE idempotency_key = ANY($1::text[])",
                    list(unanswered),
                ):
                    sub = unanswered[r["idempotency_key"]]
                    sub.complaint_id, sub.reference_no = str(r["complaint_id"]), r["reference_no"]
            finally:
                await conn.close()
    ledger.add(s for s in poster.submissions if s.complaint_id)
