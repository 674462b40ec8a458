"""A customer's reply on their case (`complaint.customer_replied`) is read by reporting's read-model group and is a
step of the case's timeline taken by the customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import TypeAdapter

from services.reporting.actors import step_actor
from services.reporting.model import REPORTED_TOPICS, ReportedEvent, subject_of_timeline
from shared import topics
from tests.support.customer_replies import customer_replied


def test_a_reply_is_a_step_of_its_case_taken_by_the_customer() -> None:
    assert topics.COMPLAINT_REPLIES in REPORTED_TOPICS
    event = customer_replied(
        uuid.uuid4(), "TS-20261205-000001", kind="note", text="师傅几点来？", at=datetime(2026, 12, 5, tzinfo=UTC)
    )
    read = TypeAdapter(ReportedEvent).validate_json(event.model_dump_json())
    payload = read.payload.model_dump(mode="json")
    assert read.event_type == "complaint.customer_replied"
    assert subject_of_timeline([(read.event_type, payload)]) == "case"
    assert step_actor(read.event_type, payload, {}).id == "customer"
