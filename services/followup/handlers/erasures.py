"""A customer was erased (`privacy.subject_erased`, issue 25): followup forgets their key and deletes the contacts it
kept for their cases. The cases, clocks and callbacks stay (they hold no contact data); a callback still due finds
no address and goes to an agent's worklist, which is what an erased customer's case is left with."""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from shared.contracts import SubjectErased
from shared.logging import get_logger

log = get_logger(__name__)


async def purge(event: SubjectErased, work: FollowupWork) -> None:
    p = event.payload
    work.context.keys.forget(p.customer_id)
    purged = await work.repo.purge_contacts(p.complaint_ids)
    log.info("erased customer purged", customer_id=str(p.customer_id), contacts=purged)
