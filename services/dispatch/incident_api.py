"""HTTP entrypoints of incidents, outage notices and the asset registry (the rest of dispatch's are in api.py).

Thin like api.py: decode, run a use case through the door or read through `DispatchViews`, answer.
Supervisors declare incidents and set their ETA (and the incident's own department may set the ETA); supervisors
and the utility's outage system announce outages; every department reads incidents and outages.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request

from services.dispatch.assets import parse_csv, parse_json
from services.dispatch.assets.registry import registry_text
from services.dispatch.auth import CurrentActor, IncidentReader, OutageAnnouncer, Supervisor
from services.dispatch.deps import DoorDep, Views
from services.dispatch.handlers import assets, incidents, outages
from services.dispatch.model import Case, Incident, IncidentDeclaration, Outage, OutageNotice
from services.dispatch.schemas import (
    AssetImported,
    EtaUpdate,
    IncidentCreate,
    IncidentDetail,
    IncidentList,
    IncidentRead,
    LinkedComplaintRead,
    OutageCreate,
    OutageDetail,
    OutageEta,
    OutageList,
    OutageRead,
    OutageRestored,
)
from shared.http.problems import Problem, problem_responses

router = APIRouter(prefix="/v1")
CHANGE_PROBLEMS = problem_responses(403, 404, 409, body=True, s404="No such incident or outage notice")
READ_PROBLEMS = problem_responses(403, 404, s404="No such incident or outage notice")


def _incident(incident: Incident) -> IncidentRead:
    return IncidentRead.model_validate(asdict(incident))


def _outage(outage: Outage) -> OutageRead:
    return OutageRead.model_validate(asdict(outage))


def _linked(case: Case) -> LinkedComplaintRead:
    return LinkedComplaintRead.model_validate(asdict(case))


# --- incidents ------------------------------------------------------------------------------------------------


@router.get("/incidents", response_model=IncidentList, responses=READ_PROBLEMS, tags=["incidents"])
async def list_incidents(
    views: Views, _: IncidentReader, status: Literal["open", "resolved"] | None = None
) -> IncidentList:
    return IncidentList(items=[_incident(i) for i in await views.incidents(status)])


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, responses=READ_PROBLEMS, tags=["incidents"])
async def get_incident(incident_id: uuid.UUID, views: Views, _: IncidentReader) -> IncidentDetail:
    incident, cases = await views.incident(incident_id)
    return IncidentDetail(**_incident(incident).model_dump(), complaints=[_linked(c) for c in cases])


@router.post(
    "/incidents",
    response_model=IncidentRead,
    status_code=201,
    responses=CHANGE_PROBLEMS,
    tags=["incidents"],
    summary="Declare a fault: one incident, one work order; callers of it join instead of getting their own",
)
async def declare_incident(body: IncidentCreate, actor: Supervisor, door: DoorDep) -> IncidentRead:
    declaration = IncidentDeclaration(
        family=body.family.value,
        asset=body.asset.model_dump(mode="json") if body.asset else None,
        district=body.district,
        compound=body.compound,
        description=body.description,
        description_en=body.description_en,
        eta=body.eta,
    )
    return _incident(await door.run(incidents.declare, incidents.DeclareIncident(declaration, actor)))


@router.post(
    "/incidents/{incident_id}/eta",
    response_model=IncidentRead,
    responses=CHANGE_PROBLEMS,
    tags=["incidents"],
    summary="A new ETA: every caller still waiting is told",
)
async def set_incident_eta(incident_id: uuid.UUID, body: EtaUpdate, actor: CurrentActor, door: DoorDep) -> IncidentRead:
    return _incident(await door.run(incidents.set_eta, incidents.SetEta(incident_id, body.eta, body.note, actor)))


# --- outage notices -------------------------------------------------------------------------------------------


@router.get("/outage-notices", response_model=OutageList, responses=READ_PROBLEMS, tags=["outages"])
async def list_outages(views: Views, _: IncidentReader, active: bool | None = None) -> OutageList:
    """`active=true`: in force now (started, not restored); `active=false`: planned for later, or ended."""
    return OutageList(items=[_outage(o) for o in await views.outages(active=active, at=datetime.now(UTC))])


@router.get("/outage-notices/{outage_id}", response_model=OutageDetail, responses=READ_PROBLEMS, tags=["outages"])
async def get_outage(outage_id: uuid.UUID, views: Views, _: IncidentReader) -> OutageDetail:
    """The notice and its callers (issue 24: the supervisor sees every caller and what they were told)."""
    outage, cases = await views.outage(outage_id), await views.outage_callers(outage_id)
    return OutageDetail(**_outage(outage).model_dump(), complaints=[_linked(c) for c in cases])


@router.post(
    "/outage-notices",
    response_model=OutageRead,
    status_code=201,
    responses=CHANGE_PROBLEMS,
    tags=["outages"],
    summary="Announce a planned or unplanned outage: callers in its area are told the cause and ETA, no crew sent",
)
async def declare_outage(body: OutageCreate, actor: OutageAnnouncer, door: DoorDep) -> OutageRead:
    notice = OutageNotice(
        kind=body.kind,
        family=body.family.value if body.family else None,
        asset=body.asset.model_dump(mode="json") if body.asset else None,
        district=body.district,
        compound=body.compound,
        starts_at=body.starts_at,
        expected_end=body.expected_end,
        description=body.description,
        description_en=body.description_en,
        source_ref=body.source_ref,
    )
    return _outage(await door.run(outages.declare, outages.Declare(notice, actor.name)))


@router.post("/outage-notices/{outage_id}/eta", response_model=OutageRead, responses=CHANGE_PROBLEMS, tags=["outages"])
async def outage_eta(outage_id: uuid.UUID, body: OutageEta, actor: OutageAnnouncer, door: DoorDep) -> OutageRead:
    update = outages.Update(actor.name, outage_id=outage_id, expected_end=body.expected_end, note=body.note)
    return _outage(await door.run(outages.update, update))


@router.post(
    "/outage-notices/{outage_id}/restored",
    response_model=OutageRead,
    responses=CHANGE_PROBLEMS,
    tags=["outages"],
    summary="Supply restored: every linked caller is told and gets a callback",
)
async def outage_restored(
    outage_id: uuid.UUID, actor: OutageAnnouncer, door: DoorDep, body: OutageRestored | None = None
) -> OutageRead:
    update = outages.Update(actor.name, outage_id=outage_id, restored=True, note=body.note if body else None)
    return _outage(await door.run(outages.update, update))


# --- the asset registry ---------------------------------------------------------------------------------------


@router.post(
    "/assets/import",
    response_model=AssetImported,
    responses=problem_responses(403, 415, 422, body=True, s422="The registry file has problems (all listed)"),
    tags=["assets"],
    summary="Load assets (CSV or JSON, as the registry module documents): inserted or replaced by id",
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "array"}}}
        }
    },
)
async def import_assets(
    request: Request,
    _: Supervisor,
    door: DoorDep,
) -> AssetImported:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/json"):
        raise Problem(415, "Unsupported Media Type", "send the registry as text/csv or application/json")
    text = registry_text(await request.body())
    parsed = parse_csv(text) if content_type == "text/csv" else parse_json(text)
    return AssetImported(imported=await door.run(assets.import_assets, parsed))
