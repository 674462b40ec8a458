"""Staff's side of the partner pushes: ask a hotline for a later deadline (延期), and see what each hotline was told
about its ticket and what it answered. Thin: decode, run the use case through the door, answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field

from services.channels.deps import Door, Persons, Settings
from services.channels.handlers.partner_pushes import (
    PushesOf,
    RequestExtension,
    partner_pushes_of,
    request_extension,
)
from services.channels.pushes import Push
from shared.errors import Forbidden
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import STAFF_ROLES, Person
from shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/partner-tickets", tags=["partner hotlines"])

#: Who may ask a hotline for more time: those who answer for a case's deadline.
EXTENSION_ROLES = ("dispatcher", "supervisor", "duty_manager", "department_manager")


async def _person(token: PresentedToken, settings: Settings, persons: Persons) -> Person:
    caller = await identify_caller(token, settings.system_by_key, "a signed-in staff", persons)
    if not isinstance(caller, Person) or not caller.has(*STAFF_ROLES):
        raise Forbidden("a signed-in staff member: what a hotline is told is attributed to a person")
    return caller


Staff = Annotated[Person, Depends(_person)]


class ExtensionCreate(BaseModel):
    reason: str = Field(min_length=2, max_length=500, examples=["需更换换热站主阀，配件三日后到货"])
    new_deadline: AwareDatetime = Field(description="The deadline asked of the hotline.")


class PushRead(BaseModel):
    push_id: uuid.UUID = Field(description="Also the Idempotency-Key the hotline dedupes on.")
    seq: int
    kind: str = Field(description="accept 签收, return 退单, extend 延期, reply 办结, visit 回访")
    label: str
    fields: dict[str, Any]
    occurred_at: datetime
    status: str = Field(description="pending, delivered or refused")
    attempts: int
    next_attempt_at: datetime
    answer_status: int | None
    answer_body: str | None
    receipt_id: str | None
    last_error: str | None
    answered_at: datetime | None

    @classmethod
    def of(cls, push: Push) -> PushRead:
        values = {name: getattr(push, name) for name in cls.model_fields if name not in ("label", "fields")}
        return cls(label=push.label, fields=dict(push.fields), **values)


class PartnerTicketRead(BaseModel):
    partner: str
    ticket_id: str
    reference_no: str
    pushes: list[PushRead]


@router.post(
    "/{reference_no}/extensions",
    status_code=202,
    response_model=PushRead,
    responses=problem_responses(
        403, 404, 409, body=True, s404="Not a partner hotline's ticket", s409="The ticket was returned or answered"
    ),
    summary="Ask the hotline for a later deadline (延期): queued, sent in order after the ticket's earlier states",
)
async def ask_for_extension(reference_no: str, body: ExtensionCreate, staff: Staff, door: Door) -> PushRead:
    if not staff.has(*EXTENSION_ROLES):
        raise Forbidden(f"an extension is asked by {', '.join(EXTENSION_ROLES)}")
    command = RequestExtension(reference_no, body.reason.strip(), body.new_deadline, staff.staff_id)
    return PushRead.of(await door.run(request_extension, command))


@router.get(
    "/{reference_no}/pushes",
    response_model=PartnerTicketRead,
    responses=problem_responses(403, 404, s404="Not a partner hotline's ticket"),
    summary="What the hotline was told about its ticket, in order, and what it answered",
)
async def pushes(reference_no: str, staff: Staff, door: Door) -> PartnerTicketRead:
    ticket, pushes = await door.run(partner_pushes_of, PushesOf(reference_no))
    return PartnerTicketRead(
        partner=ticket.partner,
        ticket_id=ticket.ticket_id,
        reference_no=ticket.reference_no,
        pushes=[PushRead.of(p) for p in pushes],
    )
