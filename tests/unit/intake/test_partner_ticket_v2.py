"""Partner ticket v2 (the hotline's deadline, the caller's demand 诉求, attachments) on the in-memory fake: they
reach `complaint.received` v4, phone numbers in the demand masked; a v1 ticket still reads as before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.intake.handlers.context import IntakeContext
from services.intake.handlers.partner_tickets import take_partner_ticket
from services.intake.partner_ingress import PartnerTicket
from services.intake.repository import IntakeRepository
from shared.contracts import ComplaintReceived
from shared.handling import Door
from tests.fakes.intake import FakeTransactions

NOW = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
CONTEXT = IntakeContext(ZoneInfo("Asia/Shanghai"))
V1 = {
    "source": "12345",
    "ticket_id": "GD-20261205-0007",
    "received_at": "2026-12-04T23:00:00+00:00",
    "caller_phone": "13700137000",
    "address": "和平区南京北街8号2单元301",
    "district": "heping",
    "content": "暖气不热，室温只有14度。",
}


def door() -> tuple[Door[IntakeRepository, IntakeContext], FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, CONTEXT, clock=lambda: NOW), transactions


def received(transactions: FakeTransactions) -> ComplaintReceived:
    (event,) = [e for e in transactions.state.outbox if isinstance(e, ComplaintReceived)]
    return event


async def test_a_v2_ticket_carries_deadline_demand_and_attachments_into_complaint_received() -> None:
    entrance, transactions = door()
    ticket = PartnerTicket.model_validate(
        V1
        | {
            "schema_version": 2,
            "deadline_at": "2026-12-06T09:00:00+08:00",
            "demand": "  要求今天上门处理，回电13700137000  ",
            "attachments": [
                {
                    "file_name": "室温.jpg",
                    "content_type": "image/jpeg",
                    "size_bytes": 20480,
                    "url": "https://12345.example/f/1",
                }
            ],
        }
    )
    await entrance.each(take_partner_ticket, [ticket, ticket], consumer="intake.partner-tickets")
    p = received(transactions).payload
    assert received(transactions).schema_version == 5
    assert p.partner_deadline_at == datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    assert p.demand is not None and p.demand.startswith("要求今天上门处理") and "13700137000" not in p.demand
    (attachment,) = p.attachments
    assert (attachment.file_name, attachment.size_bytes, attachment.url) == (
        "室温.jpg",
        20480,
        "https://12345.example/f/1",
    )
    # Derived from the ticket: a redelivery (or a rebuild) names the same file.
    again = PartnerTicket.model_validate(ticket.model_dump(mode="json"))
    assert attachment.attachment_id == uuid.uuid5(again.event_id, "attachment:0:https://12345.example/f/1")


async def test_a_v1_ticket_reads_as_before_with_no_partner_facts() -> None:
    entrance, transactions = door()
    ticket = PartnerTicket.model_validate(V1)
    assert ticket.schema_version == 1
    await entrance.each(take_partner_ticket, [ticket], consumer="intake.partner-tickets")
    p = received(transactions).payload
    assert (p.partner_deadline_at, p.demand, p.attachments) == (None, None, ())
    assert p.channel_ticket_id == "GD-20261205-0007"


@pytest.mark.parametrize(
    ("field", "value"),
    [("deadline_at", "2026-12-06T09:00:00"), ("attachments", [{"file_name": "x", "url": "file:///etc/passwd"}])],
)
def test_a_v2_field_that_is_wrong_makes_the_ticket_invalid(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        PartnerTicket.model_validate(V1 | {"schema_version": 2, field: value})
