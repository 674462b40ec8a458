"""The utility's outage and SCADA systems announce outages through `ingress.outage-notices`, with the same
effects as `POST /v1/outage-notices` and its updates. Producers are authenticated by the topic's ACL; each
message names the outage by the system's own id (`source_ref`), so later ETA and "restored" messages find it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contracts import AssetRef, Family

OUTAGE_NOTICE_VERSION = 1
_REQUIRED = {"declare": ("kind", "starts_at", "description"), "eta": ("expected_end",)}


class OutageNoticeMessage(BaseModel):
    """One announcement of an outage system (version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: uuid.UUID = Field(description="Unique per message; a redelivered message changes nothing.")
    source: str = Field(min_length=1, max_length=64, description="The sending system, e.g. scada-heat.")
    source_ref: str = Field(min_length=1, max_length=120, description="The outage's id in the sending system.")
    action: Literal["declare", "eta", "restored"]
    kind: Literal["planned", "unplanned"] | None = None
    family: Family | None = None
    asset: AssetRef | None = None
    district: str | None = Field(default=None, max_length=64)
    compound: str | None = Field(default=None, max_length=120)
    starts_at: AwareDatetime | None = None
    expected_end: AwareDatetime | None = None
    description: str | None = Field(default=None, max_length=500)
    description_en: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _fields_for_action(self) -> OutageNoticeMessage:
        missing = [f for f in _REQUIRED.get(self.action, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"action {self.action!r} needs {', '.join(missing)}")
        if self.action == "declare" and self.asset is None and not self.district:
            raise ValueError("a declared outage names its asset or district")
        return self

    @property
    def event_id(self) -> uuid.UUID:
        """The key of the message's processed mark (the door deduplicates by it): its `message_id`."""
        return self.message_id

    @property
    def starts(self) -> datetime:
        assert self.starts_at is not None
        return self.starts_at
