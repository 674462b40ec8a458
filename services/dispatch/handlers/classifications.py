"""What was decided about a complaint, kept: every classification (dispatch's or a person's) in its history, and a
person's decision where the classifier had decided as a labelled example the next model learns from."""

from __future__ import annotations

from datetime import datetime

from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Case, ClassificationEntry, LabelledExample
from services.dispatch.routing import Route


def decision_entry(case: Case, at: datetime) -> ClassificationEntry:
    """Dispatch's own classification of a new complaint, with the model version that made it."""
    return ClassificationEntry(
        complaint_id=case.complaint_id,
        category=case.category,
        severity=case.severity,
        actor="dispatch",
        reason=None,
        reasons=list(case.reasons),
        at=at,
        model_version=case.model_version,
    )


async def record_decision(work: DispatchWork, case: Case) -> None:
    """Dispatch's own classification of a new complaint, stored now (a batch holds most of them: received_batch)."""
    await work.repo.add_classifications([decision_entry(case, work.now)])


async def record_classification(
    work: DispatchWork, case: Case, route: Route, *, actor: str, reason: str | None
) -> None:
    """A person's classification (triage, validity, reclassification, a return), with the route's reasons."""
    await work.repo.add_classification(
        complaint_id=case.complaint_id,
        category=route.category.value,
        severity=route.severity.value,
        actor=actor,
        reason=reason,
        reasons=list(route.reasons),
        at=work.now,
    )


async def learn(work: DispatchWork, case: Case, route: Route, *, source: str, actor: str) -> None:
    """Keep a person's decision where the classifier had decided: the next model learns from it."""
    await work.repo.add_labelled_example(
        LabelledExample(
            complaint_id=case.complaint_id,
            text=case.text,
            channel=case.channel,
            predicted_category=case.category,
            predicted_severity=case.severity,
            category=route.category.value,
            severity=route.severity.value,
            department=route.department.value,
            source=source,
            actor=actor,
            model_version=case.model_version,
            at=work.now,
        )
    )
