"""The envelope every event travels in.

Each event type is a frozen pydantic model subclassing `Event`: it pins `event_type` and
`schema_version` as literals (so the JSON Schema says exactly what a consumer gets), names its topic,
and carries a typed `payload`. The Kafka key is always the complaint id, so all events of a case stay
in order on every topic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: Every concrete event class, by its event type, filled in as classes are defined.
EVENT_TYPES: dict[str, type[Event]] = {}


class Contract(BaseModel):
    """Base of every contract model: immutable."""

    # Tolerant reader: consumers ignore fields added by a later compatible version.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Contract):
    event_id: uuid.UUID = Field(description="Unique per event; consumers dedupe on it.")
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime = Field(description="When the fact happened (UTC).")
    producer: str = Field(description="Service that emitted the event.")
    correlation_id: str = Field(description="Shared by every event and log line of one request chain.")
    causation_id: uuid.UUID | None = Field(default=None, description="Event id that caused this one.")
    complaint_id: uuid.UUID = Field(description="The case; also the Kafka message key.")
    payload: Any

    TOPIC: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.model_fields["event_type"].default
        if isinstance(event_type, str) and event_type:
            EVENT_TYPES[event_type] = cls

    @property
    def topic(self) -> str:
        """Where it is published; most events have one topic, work-order events one per department."""
        return self.TOPIC

    @property
    def key(self) -> bytes:
        return str(self.complaint_id).encode()

    def headers(self) -> dict[str, str]:
        """Kafka headers, so routers and the dead-letter tooling need not parse the body."""
        return {
            "event_type": self.event_type,
            "schema_version": str(self.schema_version),
            "event_id": str(self.event_id),
            "correlation_id": self.correlation_id,
            "producer": self.producer,
        }


E = TypeVar("E", bound=Event)


def new_event(
    cls: type[E],
    *,
    complaint_id: uuid.UUID,
    payload: Any,
    producer: str,
    correlation_id: str,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> E:
    """Build an event with a fresh id; the type and version come from the class."""
    return cls(
        event_id=uuid.uuid4(),
        event_type=cls.model_fields["event_type"].default,
        schema_version=cls.model_fields["schema_version"].default,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        complaint_id=complaint_id,
        payload=payload,
    )
