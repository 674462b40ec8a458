"""A customer was erased (`privacy.subject_erased`, issue 25): the addresses notify kept for the messages to them
(the current one and every candidate of the plan) are removed. What was sent, when and with what outcome stays (the
delivery report holds no address); the message's wording stays, as it names no person."""

from __future__ import annotations

from services.notify.handlers.context import Notify
from shared.contracts import SubjectErased
from shared.logging import get_logger

log = get_logger(__name__)


async def purge(event: SubjectErased, work: Notify) -> None:
    purged = await work.repo.forget_addresses(list(event.payload.complaint_ids))
    log.info("erased customer purged", customer_id=str(event.payload.customer_id), deliveries=purged)
