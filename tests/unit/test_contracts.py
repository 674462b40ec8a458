"""Event contracts are a public API: a change without a new version fails here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from operations.contracts import ASYNCAPI_DIR, SCHEMA_DIR, asyncapi_documents, event_schemas
from shared.contracts import EVENT_TYPES, ComplaintReceived, WorkOrderEvent


@pytest.mark.parametrize(("name", "text"), sorted(event_schemas().items()))
def test_committed_schema_matches_contract(name: str, text: str) -> None:
    path = SCHEMA_DIR / name
    assert path.exists(), f"{name}: new contract version without its schema file — run `make contracts`"
    assert path.read_text(encoding="utf-8") == text, (
        f"{name}: the contract changed but its schema_version did not. Published versions are immutable: "
        "bump schema_version, then run `make contracts` (the old file stays)."
    )


def test_asyncapi_documents_are_current() -> None:
    for name, text in asyncapi_documents().items():
        assert (ASYNCAPI_DIR / name).read_text(encoding="utf-8") == text, f"{name} is stale: run `make contracts`"


def test_every_event_has_type_version_topic_and_key() -> None:
    assert "complaint.received" in EVENT_TYPES
    for event_type, cls in EVENT_TYPES.items():
        assert cls.model_fields["event_type"].default == event_type
        assert isinstance(cls.model_fields["schema_version"].default, int)
        assert getattr(cls, "TOPIC", None) or issubclass(cls, WorkOrderEvent), f"{event_type} names no topic"


def test_events_are_frozen_and_keyed_by_complaint() -> None:
    schema = ComplaintReceived.model_json_schema()
    for field in (
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "producer",
        "correlation_id",
        "causation_id",
        "complaint_id",
        "payload",
    ):
        assert field in schema["properties"]
    complaint_id = uuid.uuid4()
    event = ComplaintReceived.model_validate(
        {
            "event_id": uuid.uuid4(),
            "event_type": "complaint.received",
            "schema_version": 1,
            "occurred_at": datetime.now(UTC),
            "producer": "t",
            "correlation_id": "c",
            "complaint_id": complaint_id,
            "payload": {
                "complaint_id": complaint_id,
                "reference_no": "TS-20261123-000001",
                "channel": "web",
                "channel_ticket_id": None,
                "received_at": datetime.now(UTC),
                "accepted_at": datetime.now(UTC),
                "customer": {
                    "account_no": None,
                    "name_masked": None,
                    "phone_masked": None,
                    "preferred_contact": "phone",
                },
                "location": {"address": "a", "district": "d"},
                "text": "t",
                "category_hint": None,
                "added_in_a_later_version": True,
            },
        }
    )
    assert event.key == str(complaint_id).encode()
    with pytest.raises(Exception, match="frozen"):
        event.producer = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("event_type", "version", "added"),
    [
        ("complaint.received", 3, ("customer_id", "matched_by")),
        ("callback.attempted", 2, ("method", "agent_name")),
    ],
)
def test_the_version_before_persons_still_reads(event_type: str, version: int, added: tuple[str, ...]) -> None:
    """Issue 20 added who acted, by name (and a callback's method), issue 23 the matched customer: an event of the
    version before reads, the new fields empty."""
    from tests.support.reporting_events.persons import Household, household_events

    events = household_events(Household(1), datetime(2025, 7, 15, tzinfo=UTC))
    current = next(e for e in events if e.event_type == event_type and getattr(e.payload, added[0]) is not None)
    assert current.schema_version > version  # callback.attempted v4 (issue 23) only widened `method`
    older = current.model_dump(mode="json")
    older["schema_version"] = version
    for name in added:
        assert older["payload"].pop(name) is not None
    read = EVENT_TYPES[event_type].model_validate(older)
    assert read.schema_version == version and all(getattr(read.payload, name) is None for name in added)
