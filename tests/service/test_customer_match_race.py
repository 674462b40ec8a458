"""Two first complaints of one caller stored at once end with one customer, whichever key each was matched by.

The case CI61 met by chance: an e-mailed complaint whose address is a known household's and a 12345 ticket from the
same, new phone, accepted in the same second. The e-mail's statement matched the household by its address and could
not see the ticket's customer, which had just taken the phone. Serially, the phone would have matched one of them to
the other's customer; without the rematch the two stayed apart, and an erasure by that phone found one case of two.
Here the two statements are interleaved on purpose: the ticket's transaction holds the new phone key while the
e-mail's statement runs and waits on it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg

from services.intake.customers import customer_keys
from services.intake.model import NewComplaint
from services.intake.repository import PostgresIntakeRepository
from tests.support.kafka import wait_until

SECRET = "race-test-secret"


def _new(channel: str) -> NewComplaint:
    now = datetime.now(UTC)
    return NewComplaint(
        complaint_id=uuid.uuid4(),
        day=date(2031, 2, 1),
        channel=channel,
        channel_ticket_id=f"{channel}-{uuid.uuid4().hex[:12]}",
        idempotency_key=None,
        request_fingerprint=uuid.uuid4().hex,
        received_at=now,
        accepted_at=now,
        correlation_id=f"race-{uuid.uuid4().hex[:8]}",
        submission={},
    )


async def _waiting(pool: asyncpg.Pool) -> bool:
    """Some backend waits on a lock (the e-mail's key insert, on the ticket's uncommitted phone key)."""
    return bool(await pool.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"))


async def test_a_complaint_matched_by_address_joins_the_concurrent_new_customer_of_its_phone(db: asyncpg.Pool) -> None:
    phone, dwelling = f"137{uuid.uuid4().int % 10**8:08d}", f"铁西区兴华街{uuid.uuid4().int % 1000}号2单元301室"
    household = customer_keys(account_no=None, phone=None, address=dwelling, district="tiexi", secret=SECRET)
    async with db.acquire() as conn:  # the household, known by its address from an earlier complaint
        assert (await PostgresIntakeRepository(conn).store(_new("web"), household)) is not None
    ticket_keys = customer_keys(account_no=None, phone=phone, address="铁西区", district="tiexi", secret=SECRET)
    mail_keys = customer_keys(account_no=None, phone=phone, address=dwelling, district="tiexi", secret=SECRET)
    ticket, mail = _new("partner_12345"), _new("email")
    async with db.acquire() as first, db.acquire() as second:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        stored_ticket = await PostgresIntakeRepository(first).store(ticket, ticket_keys)
        assert stored_ticket is not None and stored_ticket.customer is not None
        assert stored_ticket.customer.matched_by == "new"
        await second_tx.start()
        racing = asyncio.ensure_future(PostgresIntakeRepository(second).store(mail, mail_keys))
        await wait_until(lambda: _waiting(db), timeout=10, interval=0.05)
        assert not racing.done(), "the e-mail's key insert waits for the ticket's transaction"
        await first_tx.commit()
        stored_mail = await racing
        await second_tx.commit()
    assert stored_mail is not None and stored_mail.customer is not None
    assert stored_mail.customer.customer_id == stored_ticket.customer.customer_id, "one caller, one customer"
    assert stored_mail.customer.matched_by == "phone"
    owners = await db.fetch(
        "SELECT DISTINCT customer_id FROM intake.complaints WHERE complaint_id = ANY($1::uuid[])",
        [ticket.complaint_id, mail.complaint_id],
    )
    assert [r["customer_id"] for r in owners] == [stored_ticket.customer.customer_id]
