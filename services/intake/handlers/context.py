"""What intake's use cases reach besides the repository: the utility's time zone (reference numbers restart at
local midnight). Built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.intake.repository import IntakeRepository
from services.intake.settings import DEV_CUSTOMER_HASH_KEY
from shared.handling import Work


@dataclass(frozen=True)
class IntakeContext:
    timezone: ZoneInfo
    #: The key of the phones' hashes in `intake.customer_keys` (`customers.py`); the settings' in the service.
    customer_hash_key: str = DEV_CUSTOMER_HASH_KEY


#: What an intake use case holds: the repository in the open transaction, the context, the time, the outbox.
IntakeWork = Work[IntakeRepository, IntakeContext]
