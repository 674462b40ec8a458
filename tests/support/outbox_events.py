"""An event to put in a service's outbox in the outbox's own tests: a `complaint.contact` with no contact data, keyed
by its complaint, its correlation id naming the test's batch."""

from __future__ import annotations

import uuid

from shared.contracts import ComplaintContact, ComplaintContactPayload, new_event
from shared.contracts.complaint import PreferredContact


def contact_event(correlation_id: str, complaint_id: uuid.UUID | None = None) -> ComplaintContact:
    complaint_id = complaint_id or uuid.uuid4()
    return new_event(
        ComplaintContact,
        complaint_id=complaint_id,
        producer="test",
        correlation_id=correlation_id,
        payload=ComplaintContactPayload(
            complaint_id=complaint_id,
            reference_no=f"TS-OUTBOX-{complaint_id.hex[:16]}",
            name=None,
            phone=None,
            email=None,
            wechat_openid=None,
            preferred_contact=PreferredContact.PHONE,
        ),
    )
