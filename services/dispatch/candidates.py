"""A retrained category model as dispatch keeps it: who asked, what it learned from, its blind-set figures beside
the model it would replace, and where it stands (training, candidate, current, retired, failed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

CandidateStatus = Literal["training", "candidate", "current", "retired", "failed"]


@dataclass(frozen=True)
class ModelCandidate:
    """One row of `dispatch.category_models`, without the model's bytes (read only to serve it)."""

    candidate_id: uuid.UUID
    status: CandidateStatus
    requested_by: str
    requested_by_name: str
    requested_at: datetime
    version: str | None = None
    trained_on: int | None = None
    corrections: int | None = None
    held_out: int | None = None
    figures: dict[str, Any] | None = None
    baseline_version: str | None = None
    baseline_figures: dict[str, Any] | None = None
    passes: bool | None = None
    error: str | None = None
    trained_at: datetime | None = None
    promoted_by: str | None = None
    promoted_at: datetime | None = None


@dataclass(frozen=True)
class ServedModelRow:
    """The promoted model every replica classifies with: its version and its exported file's bytes."""

    version: str
    model: bytes
