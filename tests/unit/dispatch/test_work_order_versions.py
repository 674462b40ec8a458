"""Issue 20 added who acted, by name, to every work-order event (and the crew to `workorder.started`, the customer's
acceptance to `workorder.resolved`): an event of the version before still reads, the new fields empty — and the
subscribers that read the department topics (followup, reporting) decode the new field-work events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from services.followup.sla_clocks import STOPS
from shared.contracts import EVENT_TYPES, AnyWorkOrderEvent

AT = datetime(2026, 1, 12, 9, tzinfo=UTC)


def _event(event_type: str, version: int, **payload: Any) -> dict[str, Any]:
    complaint_id = uuid.uuid4()
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": version,
        "occurred_at": AT.isoformat(),
        "producer": "dispatch",
        "correlation_id": "c",
        "complaint_id": str(complaint_id),
        "payload": {
            "work_order_id": str(uuid.uuid4()),
            "complaint_id": str(complaint_id),
            "reference_no": "TS-20260112-000001",
            "department": "repair",
            "cycle": 1,
            "status": "in_progress",
            "actor": "repair-desk",
            "at": AT.isoformat(),
            **payload,
        },
    }


@pytest.mark.parametrize(
    ("event_type", "version", "extra"),
    [
        ("workorder.acknowledged", 2, {"owner": None}),
        ("workorder.started", 1, {}),
        ("workorder.note_added", 1, {"note": "n"}),
        ("workorder.returned", 1, {"reason": "r", "rerouted_to": "billing", "new_work_order_id": str(uuid.uuid4())}),
        ("workorder.resolved", 2, {"resolution": "r", "root_cause": "repair.other"}),
    ],
)
def test_the_version_before_persons_still_reads(event_type: str, version: int, extra: dict[str, Any]) -> None:
    cls = EVENT_TYPES[event_type]
    assert cls.model_fields["schema_version"].default == version + 1
    read = cls.model_validate(_event(event_type, version, **extra))
    assert (read.schema_version, read.payload.actor, read.payload.actor_name) == (version, "repair-desk", None)
    if event_type == "workorder.started":
        assert read.payload.crew is None
    if event_type == "workorder.resolved":
        assert read.payload.acceptance is None


def test_subscribers_of_the_department_topics_decode_the_field_work_events() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(AnyWorkOrderEvent)
    found = adapter.validate_python(
        _event(
            "workorder.findings_recorded",
            1,
            actor="crew1.chen",
            actor_name="陈刚",
            finding_id=str(uuid.uuid4()),
            indoor_temperature_c=17.0,
            note=None,
        )
    )
    assert found.payload.indoor_temperature_c == 17.0
    started = adapter.validate_python(_event("workorder.started", 2, actor_name="陈刚", crew="repair-crew-1"))
    assert started.payload.crew == "repair-crew-1"
    # followup's on-site clock stops on workorder.started, whichever version; field-work events stop no clock.
    assert "on_site" in STOPS["workorder.started"]
    assert not any(
        t in STOPS for t in ("workorder.crew_assigned", "workorder.findings_recorded", "workorder.visit_missed")
    )
