"""What reporting's use cases hold besides the repository: the utility's time zone (a case counts in the local day
it was received), and the counters the composition root reads for readiness."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from services.reporting.repository import ProjectionStore
from shared.handling import Work
from shared.subject_keys import NO_KEYS, KeyRing


@dataclass(frozen=True)
class ReportingContext:
    """Reporting's rules for one process: the time zone of its KPI days, and `stats`, what its consumers saw and
    what was new to the read models (`events_seen`, `events_projected`), counted once each batch committed."""

    timezone: ZoneInfo
    stats: dict[str, int] = field(default_factory=lambda: {"events_seen": 0, "events_projected": 0})
    #: Customers' keys, to open sealed contacts (`shared/subject_keys.py`): an erased customer's stay shut, so a
    #: rebuild after an erasure derives the cases without the person.
    keys: KeyRing = NO_KEYS


#: What a reporting use case holds: the read models in the open transaction, the context, the unit's time.
ReportingWork = Work[ProjectionStore, ReportingContext]
