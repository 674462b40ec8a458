"""What notify's use cases read besides the repository: the deployment's delivery rules (daily cap, quiet hours,
retry policy), its providers, the staff directory, the time zone of the daily cap, the attempt lease, and the
jitter source. Built once in `bootstrap.py`; frozen, so a use case cannot change it for the next one."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias
from zoneinfo import ZoneInfo

from services.notify.model import Rules, StaffContact
from services.notify.providers.catalog import Catalog
from services.notify.repository import NotifyRepository
from shared.contracts.followup import Recipient
from shared.handling import Work
from shared.subject_keys import NO_KEYS, KeyRing


class StaffResolver(Protocol):
    """The staff directory as notify uses it (`directory.StaffDirectory`): a role and department, or a staff id,
    to the one person to reach now; None when nobody holds it."""

    async def resolve(self, recipient: Recipient) -> StaffContact | None: ...


@dataclass(frozen=True)
class NotifyContext:
    #: Daily cap, quiet hours and the retry policy (`NOTIFY_*` settings).
    rules: Rules
    #: The providers by name, their receipt parsers, and which one sends on each channel.
    catalog: Catalog
    #: Who holds a role now; None when no directory is configured (staff by id reach the console inbox only).
    directory: StaffResolver | None
    #: The local day the daily cap counts in (the SLA policy's time zone).
    timezone: ZoneInfo
    #: How long a claimed attempt is the worker's before it counts as left in doubt (`NOTIFY_LEASE_S`).
    lease_s: float = 60.0
    #: The retries' full jitter, a number in [0, 1).
    draw: Callable[[], float] = field(default=random.random)
    #: Customers' keys, to open the sealed addresses of `notification.requested` v4 (`shared/subject_keys.py`).
    keys: KeyRing = NO_KEYS


#: What a notify use case holds: the repository in the open transaction, the context, the unit's time, `emit`.
Notify: TypeAlias = Work[NotifyRepository, NotifyContext]
