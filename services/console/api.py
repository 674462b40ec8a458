"""The console's JSON API: the staff directory and the rota, for the other services and later screens (who is
the duty manager now, where a staff notice goes). Thin routes: decode, read a view, answer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from services.console.auth import DirectoryReader
from services.console.deps import Directory
from services.console.model import DEPARTMENTS, DUTIES, StaffMember
from services.console.schemas import OnDutyList, OnDutyRead, StaffList, StaffRead
from shared.errors import NotFound
from shared.http.person import STAFF_ROLES
from shared.http.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["directory"])
PROBLEMS = problem_responses(404, s404="No such staff member")
Department = Literal[DEPARTMENTS]  # type: ignore[valid-type]
Duty = Literal[DUTIES]  # type: ignore[valid-type]
Role = Literal[tuple(sorted(STAFF_ROLES))]  # type: ignore[valid-type]


def _read(member: StaffMember) -> StaffRead:
    return StaffRead.model_validate({**asdict(member), "roles": list(member.roles)})


@router.get("/staff", response_model=StaffList, responses=problem_responses(), summary="The staff directory")
async def staff(
    _: DirectoryReader,
    directory: Directory,
    department: Department | None = None,
    role: Role | None = None,  # type: ignore[valid-type]
    include_inactive: bool = False,
) -> StaffList:
    members = await directory.staff(department=department, role=role, include_inactive=include_inactive)
    return StaffList(items=[_read(m) for m in members])


@router.get("/staff/{staff_id}", response_model=StaffRead, responses=PROBLEMS, summary="One staff member")
async def staff_member(
    staff_id: Annotated[str, Path(min_length=1, max_length=64)], _: DirectoryReader, directory: Directory
) -> StaffRead:
    member = await directory.member(staff_id)
    if member is None:
        raise NotFound(f"no staff member {staff_id!r}")
    return _read(member)


@router.get(
    "/rota/now",
    response_model=OnDutyList,
    responses=problem_responses(),
    summary="Who holds a duty now: the duty manager, a department's manager, who is on call",
)
async def on_duty_now(
    _: DirectoryReader,
    directory: Directory,
    duty: Duty = "duty_manager",
    department: Annotated[Department | Literal[""] | None, Query()] = None,
) -> OnDutyList:
    now = datetime.now(UTC)
    found = await directory.on_duty(duty, department or None, now)
    return OnDutyList(
        duty=duty,
        department=department or None,
        at=now,
        items=[
            OnDutyRead(
                duty=entry.duty,
                department=entry.department,
                starts_at=entry.starts_at,
                ends_at=entry.ends_at,
                staff=_read(member),
            )
            for entry, member in found
        ],
    )
