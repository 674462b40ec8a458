"""HTTP entrypoints of the category model's retraining (supervisors): the corrections people made, a retraining
asked for, the candidates with their blind-set figures beside the serving model's, and a promotion through the gate.

Thin like api.py: decode, run a use case through the door (or the retraining flow over it), answer.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.dispatch.auth import Supervisor
from services.dispatch.candidates import ModelCandidate
from services.dispatch.deps import DoorDep
from services.dispatch.handlers import models
from services.dispatch.model_schemas import CandidateRead, CorrectionList, CorrectionRead, ModelsRead
from services.dispatch.retraining import Retraining, promote
from shared.http.problems import problem_responses
from shared.http.service_app import app_state
from shared.privacy import mask_text

router = APIRouter(prefix="/v1")
RetrainingDep = Annotated[Retraining, Depends(app_state("retraining"))]


def _candidate(c: ModelCandidate) -> CandidateRead:
    return CandidateRead.model_validate(asdict(c))


@router.get(
    "/triage/corrections",
    response_model=CorrectionList,
    responses=problem_responses(403, s403="Only supervisors read the corrections"),
    tags=["supervisors"],
    summary="People's corrections of the classifier (triage decisions, validity, reclassifications, returns), "
    "newest first: the labelled examples the next model learns from",
)
async def corrections(
    _: Supervisor,
    door: DoorDep,
    source: Annotated[Literal["triage", "validity", "reclassify", "return"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CorrectionList:
    found = await door.run(models.corrections, models.CorrectionsQuery(limit, source))
    items = [CorrectionRead.model_validate({**asdict(c), "text": mask_text(c.text)}) for c in found]
    return CorrectionList(items=items)


@router.get(
    "/models",
    response_model=ModelsRead,
    responses=problem_responses(403, s403="Only supervisors"),
    tags=["supervisors"],
    summary="The category model serving and the latest retrained candidates with their blind-set figures",
)
async def model_candidates(_: Supervisor, door: DoorDep, limit: Annotated[int, Query(ge=1, le=50)] = 10) -> ModelsRead:
    serving, found = await door.run(models.models, models.ModelsQuery(limit))
    return ModelsRead(serving=serving, candidates=[_candidate(c) for c in found])


@router.post(
    "/models/candidates",
    status_code=202,
    response_model=CandidateRead,
    responses=problem_responses(403, 409, s403="Only supervisors", s409="A retraining is already running"),
    tags=["supervisors"],
    summary="Retrain from the corrections now: a candidate is fitted in the background and scored on the blind set",
)
async def retrain(actor: Supervisor, door: DoorDep, retraining: RetrainingDep) -> CandidateRead:
    return _candidate(await retraining.start(door, actor.name, actor.label))


@router.post(
    "/models/candidates/{candidate_id}/promote",
    response_model=CandidateRead,
    responses=problem_responses(
        403,
        404,
        409,
        s403="Only supervisors",
        s409="Not a scored candidate, scored against another model, or the gate refuses it (worse on the blind set)",
    ),
    tags=["supervisors"],
    summary="Promote a candidate through the gate: every replica classifies with it within its refresh interval",
)
async def promote_candidate(candidate_id: uuid.UUID, actor: Supervisor, door: DoorDep) -> CandidateRead:
    return _candidate(await promote(door, candidate_id, actor))
