"""A case keeps the customer intake matched (complaint.received v4) and its address's key, which the household
archive and lookup find it by; an event before v4 leaves the customer empty."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.reporting.case_state import TimelineEvent, derive
from shared.addresses import address_key

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _received(**more: object) -> TimelineEvent:
    payload = {
        "customer": {"account_no": None, "name_masked": "王**", "phone_masked": "135******01"},
        "location": {"address": "和平区长青小区3号楼2单元301室", "district": "heping"},
        "channel": "partner_12345",
        "text": "账单有误",
        "accepted_at": T0.isoformat(),
        **more,
    }
    return TimelineEvent("00000000-0000-0000-0000-000000000001", "complaint.received", T0, payload)


def test_a_v4_case_keeps_its_customer_and_its_address_key() -> None:
    customer = str(uuid.uuid4())
    state = derive("c1", [_received(customer_id=customer, matched_by="phone")])
    assert state.customer_id == customer
    assert state.address_key == address_key("长青小区 3-2-301") == "长青小区|b3-u2-r301"


def test_a_case_from_before_v4_has_no_customer() -> None:
    assert derive("c1", [_received()]).customer_id is None
