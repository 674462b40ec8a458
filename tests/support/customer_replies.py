"""`complaint.customer_replied` as intake publishes it (built from shared/contracts, not from intake's code), for
followup's and reporting's tests of every tier."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.contracts import CustomerReplied, new_event
from shared.contracts.channels import ReplyKind


def customer_replied(
    complaint_id: uuid.UUID,
    reference_no: str,
    *,
    kind: ReplyKind,
    text: str,
    at: datetime,
    score: int | None = None,
    channel: str = "phone",
    correlation_id: str | None = None,
) -> CustomerReplied:
    return new_event(
        CustomerReplied,
        complaint_id=complaint_id,
        producer="intake",
        correlation_id=correlation_id or f"corr-{reference_no}",
        payload={
            "complaint_id": complaint_id,
            "reference_no": reference_no,
            "message_id": uuid.uuid4(),
            "channel": channel,
            "kind": kind,
            "score": score,
            "text": text,
            "attachments": [],
            "replied_at": at,
        },
    )
