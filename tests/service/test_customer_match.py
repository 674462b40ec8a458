"""Intake's customer match in Postgres (`repository._STORE`, one statement with the submission): account, else
phone, else the dwelling; another account is another customer; two new complaints of one new customer racing
end with one customer (`_REMATCH`); a retry matches nothing again."""

from __future__ import annotations

import asyncio
import uuid
from zoneinfo import ZoneInfo

import asyncpg

from services.intake.customers import phone_hash
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.submit import submit_complaint
from services.intake.model import SubmitComplaint, Submitted
from services.intake.repository import IntakeRepository, PostgresIntakeRepository
from services.intake.schemas import ComplaintCreate
from shared.db import transactions
from shared.handling import Door
from tests.support.complaints import complaint

SECRET = "customer-match-test-key-0123456789"


def _door(db: asyncpg.Pool) -> Door[IntakeRepository, IntakeContext]:
    return Door(transactions(db, PostgresIntakeRepository), IntakeContext(ZoneInfo("Asia/Shanghai"), SECRET))


def _unique_phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


async def _submit(
    door: Door[IntakeRepository, IntakeContext],
    account: str | None,
    phone: str,
    address: str = "和平区测试路1号",
) -> Submitted:
    body = complaint(
        "web",
        customer={"account_no": account, "phone": phone, "preferred_contact": "phone"},
        location={"address": address, "district": "heping"},
    )
    return await door.run(submit_complaint, SubmitComplaint(ComplaintCreate.model_validate(body), None, "c"))


async def test_account_then_phone_then_dwelling_and_the_keys_are_learnt(db: asyncpg.Pool) -> None:
    door, tag = _door(db), uuid.uuid4().hex[:8]
    phone, other_phone = _unique_phone(), _unique_phone()
    home = f"和平区长青{tag}小区3号楼2单元301室"
    first = await _submit(door, f"CM-{tag}", phone, home)
    assert first.customer is not None and first.customer.matched_by == "new"
    same = first.customer.customer_id
    by_account = await _submit(door, f"cm-{tag}", other_phone)
    by_phone = await _submit(door, None, other_phone)  # learnt from the account's second complaint
    by_address = await _submit(door, None, _unique_phone(), f"长青{tag}小区 3-2-301")
    assert [
        (s.customer.customer_id, s.customer.matched_by) for s in (by_account, by_phone, by_address) if s.customer
    ] == [
        (same, "account"),
        (same, "phone"),
        (same, "address"),
    ]
    stored = await db.fetchval("SELECT count(*) FROM intake.complaints WHERE customer_id = $1", same)
    assert stored == 4
    kept = await db.fetch("SELECT kind, key FROM intake.customer_keys WHERE customer_id = $1", same)
    assert ("phone", phone_hash(phone, SECRET)) in {(r["kind"], r["key"]) for r in kept}
    assert not any(phone in r["key"] for r in kept), "no phone number stored, only its keyed hash"


async def test_another_account_on_a_known_phone_is_another_customer_and_a_retry_is_not_matched_again(
    db: asyncpg.Pool,
) -> None:
    door, tag, phone = _door(db), uuid.uuid4().hex[:8], _unique_phone()
    body = complaint("web", customer={"account_no": f"CA-{tag}", "phone": phone, "preferred_contact": "phone"})
    cmd = SubmitComplaint(ComplaintCreate.model_validate(body), f"k-{tag}", "c")
    first = await door.run(submit_complaint, cmd)
    other = await _submit(door, f"CB-{tag}", phone)
    retry = await door.run(submit_complaint, cmd)
    assert first.customer and other.customer
    assert other.customer.matched_by == "new" and other.customer.customer_id != first.customer.customer_id
    assert retry.replayed and retry.customer is None


async def test_two_new_complaints_of_one_new_customer_racing_end_with_one_customer(db: asyncpg.Pool) -> None:
    door = _door(db)
    for _ in range(3):
        phone = _unique_phone()
        both = await asyncio.gather(*(_submit(door, None, phone) for _ in range(2)))
        customers = {s.customer.customer_id for s in both if s.customer}
        assert len(customers) == 1, both
        assert sorted(s.customer.matched_by for s in both if s.customer)[1] in ("new", "phone")
