"""What reporting reads: every event topic of the platform (not the dead-letter topics, and not
notification.requested, which carries customers' numbers for the SMS gateway only)."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from services.reporting.projection import Incoming
from shared import topics
from shared.contracts import EVENT_TYPES, Event

READ_TOPICS: tuple[str, ...] = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_CONTACT,
    topics.COMPLAINT_ROUTED,
    topics.WORKORDERS_REPAIR,
    topics.WORKORDERS_BILLING,
    topics.WORKORDERS_CUSTOMER_SERVICE,
    topics.COMPLAINT_ESCALATED,
    topics.CALLBACK_EVENTS,
    topics.COMPLAINT_REOPENED,
    topics.COMPLAINT_CLOSED,
)
_REPORTED = tuple(cls for name, cls in EVENT_TYPES.items() if name != "notification.requested")
#: Any event of the platform, validated against its own contract (an unknown or invalid one is poison).
AnyEvent = Annotated[Union[_REPORTED], Field(discriminator="event_type")]  # type: ignore[valid-type]  # noqa: UP007


def incoming(events: list[Event]) -> list[Incoming]:
    return [Incoming(topic=e.topic, envelope=e.model_dump(mode="json")) for e in events]


__all__ = ["READ_TOPICS", "AnyEvent", "incoming"]
