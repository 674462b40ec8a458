"""HTTP models of the category model's retraining (issue 24): people's corrections, candidates and their blind-set
figures, the model serving."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts import Category, Department


class CorrectionRead(BaseModel):
    """A person's decision where the classifier had decided: the labelled example the next model learns from."""

    complaint_id: uuid.UUID
    text: str = Field(description="Phone numbers in it masked.")
    channel: str
    predicted_category: str
    category: Category
    severity: str
    department: Department
    source: str = Field(description="triage, validity, reclassify or return.")
    actor: str = Field(description="Who decided: a person's staff id or a credential's name.")
    model_version: str | None
    at: datetime


class CorrectionList(BaseModel):
    items: list[CorrectionRead]


class ClassFigureRead(BaseModel):
    category: Category
    n: int
    right: int
    recall: float


class BlindFiguresRead(BaseModel):
    """A model on the frozen blind set: accuracies with their 95 % Wilson intervals, the triage share, per category."""

    n: int
    category_right: int
    category_accuracy: float
    category_interval: list[float]
    department_right: int
    department_accuracy: float
    department_interval: list[float]
    triage_share: float
    per_class: list[ClassFigureRead]


class CandidateRead(BaseModel):
    candidate_id: uuid.UUID
    status: Literal["training", "candidate", "current", "retired", "failed"]
    version: str | None
    requested_by: str
    requested_by_name: str
    requested_at: datetime
    trained_at: datetime | None
    trained_on: int | None = Field(description="Training examples: the seed set with the corrections.")
    corrections: int | None = Field(description="People's corrections it learned from.")
    held_out: int | None = Field(description="Corrections not learned: their text is a blind complaint's.")
    figures: BlindFiguresRead | None
    baseline_version: str | None = Field(description="The model it was scored beside (serving when it was fitted).")
    baseline_figures: BlindFiguresRead | None
    passes: bool | None = Field(description="Whether the promotion gate lets it through: no worse on the blind set.")
    error: str | None
    promoted_by: str | None
    promoted_at: datetime | None


class ModelsRead(BaseModel):
    serving: str = Field(description="The version this replica classifies with.")
    candidates: list[CandidateRead]
