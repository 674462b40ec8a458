"""The customer's own lookup (the status page and its API): a case by reference number and the last four digits
of the phone it was registered with. A wrong reference and wrong digits answer the same (None), so the page tells
nobody which reference numbers exist; the digits are compared as keyed hashes in constant time (the read model
holds no phone). Rate limits are the page's (`status/limiter.py`)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from services.channels.handlers.context import ChannelsWork
from services.channels.model import Case


@dataclass(frozen=True)
class LookUpCase:
    reference_no: str
    phone_last4: str


async def look_up_case(cmd: LookUpCase, work: ChannelsWork) -> Case | None:
    case = await work.repo.case_by_reference(cmd.reference_no.strip().upper())
    given = work.context.contacts.last4(cmd.phone_last4)
    if case is None or case.phone_last4_hash is None or not hmac.compare_digest(case.phone_last4_hash, given):
        return None
    return case
