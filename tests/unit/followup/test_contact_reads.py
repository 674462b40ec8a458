"""Who was shown whose contact in followup: one row per callback that carried a contact (who, whose, which fields,
through which request, when), none for a callback without one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.followup.handlers.contact_reads import Shown, record
from services.followup.repository.contact_reads import ContactReadLog
from services.followup.schemas import CallbackRead, ContactRead
from shared.handling import Door
from tests.fakes.followup_contact_reads import InMemoryContactReadLog
from tests.fakes.transactions import CopyOnCommit

AT = datetime(2026, 11, 23, 1, tzinfo=UTC)


def _callback(reference_no: str, contact: ContactRead | None) -> CallbackRead:
    fields: dict[str, Any] = dict.fromkeys(CallbackRead.model_fields)
    fields.update(
        callback_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        reference_no=reference_no,
        work_order_id=uuid.uuid4(),
        department="repair",
        cycle=1,
        due_at=AT,
        status="pending",
        attempts=0,
        overdue=False,
        contact=contact,
    )
    return CallbackRead.model_construct(**fields)


async def test_each_contact_shown_is_recorded_and_nothing_else() -> None:
    transactions = CopyOnCommit(InMemoryContactReadLog(), lambda state: state)
    door: Door[ContactReadLog, None] = Door(transactions, None, clock=lambda: AT)
    contact = ContactRead(name="孙八", phone="13600136000", email=None, wechat_openid=None, preferred_contact="phone")
    shown = [_callback("TS-20261123-000001", contact), _callback("TS-20261123-000002", None)]
    await door.run(record, Shown("agent.li", "李娜", True, shown, "GET /v1/callbacks"))
    rows = transactions.state.rows
    assert [(r.reader, r.reader_name, r.reader_kind, r.reference_no, r.what, r.endpoint, r.at) for r in rows] == [
        ("agent.li", "李娜", "person", "TS-20261123-000001", ("name", "phone"), "GET /v1/callbacks", AT)
    ]
