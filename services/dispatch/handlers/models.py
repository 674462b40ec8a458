"""The category model retrained from people's corrections (issue 24): a training asked for, its outcome kept with
the blind-set figures of the candidate and of the model it would replace, and a candidate promoted through the one
gate (`gate.BlindScores.no_worse_than`). The fitting itself runs between units of work (`retraining.py`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.dispatch.candidates import ModelCandidate
from services.dispatch.errors import Conflict, NotFound
from services.dispatch.gate import BlindScores
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.learning.examples import Example
from services.dispatch.model import Actor, LabelledExample
from shared.contracts import Category
from shared.logging import get_logger

log = get_logger(__name__)

#: A training not finished after this long died with its process: it no longer blocks a new one.
TRAINING_ABANDONED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class AskTraining:
    actor_id: str
    actor_name: str


async def ask_for_training(command: AskTraining, work: DispatchWork) -> ModelCandidate:
    """A candidate row in `training`. Raises Conflict while another training runs (one at a time)."""
    await work.repo.abandon_trainings(work.now - TRAINING_ABANDONED_AFTER, "abandoned: its process ended")
    candidate = ModelCandidate(
        candidate_id=uuid.uuid4(),
        status="training",
        requested_by=command.actor_id,
        requested_by_name=command.actor_name,
        requested_at=work.now,
    )
    if not await work.repo.add_candidate(candidate):
        raise Conflict("a retraining is already running; its candidate will be shown when it is scored")
    log.info("model retraining asked for", by=command.actor_id)
    return candidate


def as_example(correction: LabelledExample) -> Example:
    return Example(
        text=correction.text,
        channel=correction.channel,
        category=Category(correction.category),
        severity=correction.severity,
        department=correction.department,
        predicted_category=correction.predicted_category,
        model_version=correction.model_version,
        source=correction.source,
    )


async def corrections_for_training(_: None, work: DispatchWork) -> list[Example]:
    """Every person's correction, oldest first, as a training example."""
    return [as_example(c) for c in await work.repo.labelled_examples()]


@dataclass(frozen=True)
class TrainingDone:
    candidate_id: uuid.UUID
    model: bytes | None
    outcome: dict[str, Any]


async def finish_training(command: TrainingDone, work: DispatchWork) -> None:
    """Keep what a training gave: the candidate and its figures (status candidate), or the failure's reason."""
    status = "candidate" if command.model is not None else "failed"
    await work.repo.finish_candidate(
        command.candidate_id, command.model, status=status, trained_at=work.now, **command.outcome
    )


@dataclass(frozen=True)
class Promote:
    candidate_id: uuid.UUID
    actor: Actor


async def promote(command: Promote, work: DispatchWork) -> ModelCandidate:
    """The candidate serves from now on (every replica follows within its refresh interval). Raises NotFound;
    Conflict when it is not a scored candidate, when the model serving changed since it was scored against it, or
    when the gate refuses it (it scores worse on the blind set)."""
    found = await work.repo.candidate(command.candidate_id, lock=True)
    if found is None:
        raise NotFound(f"no model candidate {command.candidate_id}")
    if found.status != "candidate" or found.figures is None or found.baseline_figures is None:
        raise Conflict(f"model candidate {command.candidate_id} is {found.status}, not a scored candidate")
    # What serves is the database's current row (this replica may not have followed a promotion made elsewhere yet).
    current = await work.repo.served_model(known_version=found.baseline_version)
    serving = current.version if current is not None else work.context.served.shipped_version
    if found.baseline_version != serving:
        raise Conflict(
            f"it was scored against {found.baseline_version}, but {serving} serves now: retrain to compare again"
        )
    scores, baseline = BlindScores.from_figures(found.figures), BlindScores.from_figures(found.baseline_figures)
    if not scores.no_worse_than(baseline):
        raise Conflict(
            f"the promotion gate refuses it: on the blind set it gets {scores.category_right} categories and "
            f"{scores.department_right} departments right of {scores.n}, the current model "
            f"{baseline.category_right} and {baseline.department_right}"
        )
    await work.repo.promote_candidate(command.candidate_id, command.actor.name, work.now)
    log.info("category model promoted", version=found.version, by=command.actor.name)
    promoted = await work.repo.candidate(command.candidate_id)
    assert promoted is not None
    return promoted


async def follow_served(_: None, work: DispatchWork) -> bool:
    """This process serves the promoted model (or the shipped one); True when it swapped."""
    served = work.context.served
    return served.follow(await work.repo.served_model(known_version=served.version))


@dataclass(frozen=True)
class ModelsQuery:
    limit: int


async def models(query: ModelsQuery, work: DispatchWork) -> tuple[str, list[ModelCandidate]]:
    """The version serving in this process and the latest candidates."""
    return work.context.served.version, await work.repo.candidates(limit=query.limit)


@dataclass(frozen=True)
class CorrectionsQuery:
    limit: int
    source: str | None


async def corrections(query: CorrectionsQuery, work: DispatchWork) -> list[LabelledExample]:
    return await work.repo.recent_corrections(limit=query.limit, source=query.source)
