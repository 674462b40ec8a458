"""Intake matches every complaint to a customer (household): by account, else phone, else the dwelling's
address; a complaint with its own account never joins another account's customer (on the in-memory fake; the
SQL is checked against Postgres in tests/service/test_customer_match.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.intake.customers import customer_keys, phone_hash
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.submit import submit_complaint
from services.intake.model import SubmitComplaint, Submitted
from services.intake.schemas import ComplaintCreate
from shared.contracts import ComplaintReceived
from shared.handling import Door
from tests.fakes.intake import FakeTransactions
from tests.support.complaints import complaint

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _customer(account: str | None, phone: str | None, address: str = "和平区测试路1号") -> dict[str, object]:
    return {
        "customer": {"account_no": account, "phone": phone, "name": "王小明", "preferred_contact": "phone"}
        if phone
        else {"account_no": account, "email": "wang@example.com", "preferred_contact": "email"},
        "location": {"address": address, "district": "heping"},
    }


async def _submit(
    entrance: Door, account: str | None, phone: str | None, address: str = "和平区测试路1号", channel: str = "web"
) -> Submitted:
    body = complaint(channel, **_customer(account, phone, address))
    return await entrance.run(submit_complaint, SubmitComplaint(ComplaintCreate.model_validate(body), None, "c"))


def _door() -> tuple[Door, FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, IntakeContext(ZoneInfo("Asia/Shanghai"), "k" * 32), clock=lambda: NOW), transactions


async def test_a_ticket_without_account_is_the_customer_of_its_phone_and_says_so_in_the_event() -> None:
    entrance, transactions = _door()
    first = await _submit(entrance, "HT-1", "13912340001")
    ticket = await _submit(entrance, None, "13912340001", channel="partner_12345")
    assert first.customer is not None and first.customer.matched_by == "new"
    assert ticket.customer == type(ticket.customer)(first.customer.customer_id, "phone")
    received = [e for e in transactions.state.outbox if isinstance(e, ComplaintReceived)]
    assert [(e.payload.customer_id, e.payload.matched_by) for e in received] == [
        (first.customer.customer_id, "new"),
        (first.customer.customer_id, "phone"),
    ]
    assert received[1].schema_version == 5


async def test_account_first_then_phone_then_the_dwelling() -> None:
    entrance, _ = _door()
    home = "和平区长青小区3号楼2单元301室"
    first = await _submit(entrance, "HT-2", "13912340002", home)
    assert first.customer is not None
    same = first.customer.customer_id
    by_account = await _submit(entrance, "ht-2", "13912349999")  # another phone, the account in lower case
    by_address = await _submit(entrance, None, None, "长青小区 3-2-301")  # the same flat written the short way
    learnt_phone = await _submit(entrance, None, "13912349999")  # learnt from the account's second complaint
    assert [s.customer for s in (by_account, by_address, learnt_phone)] == [
        type(first.customer)(same, "account"),
        type(first.customer)(same, "address"),
        type(first.customer)(same, "phone"),
    ]


async def test_another_account_on_a_known_phone_or_address_is_another_customer() -> None:
    """Two accounts are two households, whatever phone or flat they share; a compound alone matches nobody."""
    entrance, _ = _door()
    first = await _submit(entrance, "HT-3", "13912340003", "和平区松涛小区1号楼1单元101室")
    other = await _submit(entrance, "HT-4", "13912340003", "和平区松涛小区1号楼1单元101室")
    compound = await _submit(entrance, None, None, "和平区松涛小区")
    assert first.customer and other.customer and compound.customer
    assert other.customer.matched_by == "new" and other.customer.customer_id != first.customer.customer_id
    assert compound.customer.matched_by == "new"
    # The phone stays with the customer it first named.
    no_account = await _submit(entrance, None, "13912340003")
    assert no_account.customer == type(first.customer)(first.customer.customer_id, "phone")


def test_no_phone_is_kept_only_its_keyed_hash() -> None:
    keys = customer_keys(
        account_no="ht-5", phone="139 1234 0005", address="长青小区3-2-301", district="heping", secret="s"
    )
    assert keys.keys == (
        ("account", "HT-5"),
        ("phone", phone_hash("13912340005", "s")),
        ("address", "heping:长青小区|b3-u2-r301"),
    )
    assert "13912340005" not in repr(keys) and phone_hash("13912340005", "other") != keys.keys[1][1]
