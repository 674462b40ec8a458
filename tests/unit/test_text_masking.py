"""Free text on the shared topics is masked (phone numbers, ID numbers, mail addresses) whatever a service writes
into it, and an event read again stays masked; the restricted topics keep the contact in clear."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.contracts import WorkOrderNoteAdded
from shared.contracts.channels import ChannelReplyPayload
from shared.contracts.dispatch import WorkOrderNotePayload
from shared.logging import mask_personal_data
from shared.privacy import mask_email, mask_id_number, mask_text

SECRETS = "13812345678, 110101199003074578, 11010119900307457X, 110101900307457, wang.xm@example.com"


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("身份证110101199003074578请核实", "110101199003074578"),
        ("ID 11010119900307457x.", "11010119900307457x"),
        ("旧证 110101900307457 号", "110101900307457"),
        ("邮箱13812345678@qq.com", "13812345678"),
        ("mail Wang.XM+bill@example.com.cn now", "Wang.XM+bill"),
    ],
)
def test_id_numbers_and_mail_addresses_in_text_are_masked(text: str, raw: str) -> None:
    masked = mask_text(text)
    assert raw not in masked and "*" in masked
    assert mask_text(masked) == masked, "masking what is masked changes nothing (events are masked again on read)"


def test_what_a_masked_value_keeps() -> None:
    assert mask_id_number("110101199003074578") == "110*************78"
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    kept = "TS-20261123-000042 work order 71059222-eb6b-4e17-949d-138123456789 at 16°C, HES-0012"
    assert mask_text(kept) == kept, "reference numbers, ids, measurements and asset ids stay readable"


def _note(text: str) -> WorkOrderNoteAdded:
    complaint_id = uuid.uuid4()
    at = datetime(2026, 11, 23, 1, tzinfo=UTC)
    payload = WorkOrderNotePayload(
        work_order_id=uuid.uuid4(),
        complaint_id=complaint_id,
        reference_no="TS-20261123-000042",
        department="repair",
        cycle=1,
        status="acknowledged",
        actor="repair.zhao",
        at=at,
        note=text,
    )
    return WorkOrderNoteAdded(
        event_id=uuid.uuid4(),
        complaint_id=complaint_id,
        occurred_at=at,
        producer="dispatch",
        correlation_id="k-1",
        payload=payload,
    )


def test_a_public_event_carries_free_text_masked_written_and_read() -> None:
    event = _note(f"客户说 {SECRETS}")
    for secret in ("13812345678", "110101199003074578", "wang.xm@", "110101900307457"):
        assert secret not in event.payload.note
    read_again = WorkOrderNoteAdded.model_validate_json(event.model_dump_json())
    assert read_again.payload.note == event.payload.note


def test_a_restricted_topic_keeps_the_text_in_clear_for_its_owner() -> None:
    """What channels hands intake (restricted) is the customer's own words; intake masks what it publishes."""
    reply = ChannelReplyPayload(
        message_id=uuid.uuid4(),
        channel="wechat",
        provider="wechat",
        provider_message_id="m-1",
        received_at=datetime(2026, 11, 23, 1, tzinfo=UTC),
        reference_no="TS-20261123-000042",
        kind="note",
        text=f"回电 {SECRETS}",
    )
    assert reply.text == f"回电 {SECRETS}"


def test_log_lines_mask_id_numbers_and_mail_addresses_too() -> None:
    line = mask_personal_data(None, "info", {"event": "reply from wang.xm@example.com", "note": SECRETS})
    assert "wang.xm@" not in line["event"] and "110101199003074578" not in line["note"]
