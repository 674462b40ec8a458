"""Followup's round trips per routed complaint, counted on real Postgres (issue 27): the four events one routed
complaint brings followup (`complaint.received`, `complaint.contact`, `complaint.routed`, `workorder.assigned`), each
run through its subscription's row of `consumers.SUBSCRIPTIONS` and the door, as the broker would hand them — alone,
and as batches of 50. Every statement the repository sends is counted (a counting wrapper on the connection), and
every transaction the door opens (each one more round trip for BEGIN and one for COMMIT). The bounds are the figures
after issue 27 (services/followup/README.md, "Round trips"), so a change that adds statements says so here."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from services.followup import consumers
from services.followup.handlers.context import FollowupContext, FollowupDoor
from services.followup.model import CallbackPolicy
from services.followup.notifications import Notifier, Templates
from services.followup.repository import FollowupRepository, PostgresFollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.contracts import ComplaintContact, Event, new_event
from shared.db import Work, transactions
from shared.handling import Door
from shared.kafka.subscription import Subscription
from shared.sla import load_sla_table
from tests.support.followup_events import Order, assigned, invalid, new_order, received, routed

STATEMENTS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table")
SLA = load_sla_table()


@dataclass
class Tally:
    statements: Counter[str] = field(default_factory=Counter)
    transactions: int = 0

    @property
    def total(self) -> int:
        return sum(self.statements.values())


class CountingConnection:
    """The unit of work's connection, counting each statement sent (by its first words)."""

    def __init__(self, conn: asyncpg.Connection, tally: Tally) -> None:
        self._conn, self._tally = conn, tally

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name not in STATEMENTS:
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            sql = str(args[0]) if args else name
            door = "door: " if "processed_events" in sql or ".outbox" in sql else ""
            self._tally.statements[door + " ".join(sql.split()[:3])] += 1
            return await attr(*args, **kwargs)

        return counted


def counting(pool: asyncpg.Pool, tally: Tally) -> Callable[[], AbstractAsyncContextManager[Work[FollowupRepository]]]:
    opener = transactions(pool, lambda conn: PostgresFollowupRepository(CountingConnection(conn, tally)))  # type: ignore[arg-type]

    @asynccontextmanager
    async def opened() -> AsyncIterator[Work[FollowupRepository]]:
        tally.transactions += 1
        async with opener() as work:
            yield work

    return opened


def _contact(order: Order) -> ComplaintContact:
    return new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload={
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "name": "吴十",
            "phone": "13600136000",
            "email": None,
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )


#: What one routed complaint brings followup, by subscription (a web complaint: no duty manager; a phone one's
#: assignment promises an interim reply, so its work order has all its clocks).
def _routed_complaint(order: Order, now: datetime) -> list[tuple[Subscription, Event]]:
    return [
        (consumers.COMPLAINT_CONTACT, received(order, channel="web", at=now)),
        (consumers.COMPLAINT_CONTACT, _contact(order)),
        (consumers.CALLERS, routed(order, at=now)),
        (consumers.WORK_ORDERS, assigned(order, at=now, interim_in=timedelta(hours=12))),
    ]


async def _deliver(door: FollowupDoor, subscription: Subscription, events: Sequence[Event]) -> None:
    if subscription.batched:
        await door.batch(subscription.handler, events, consumer=subscription.consumer)
    else:
        await door.each(subscription.handler, events, consumer=subscription.consumer)


async def measure(db: asyncpg.Pool, complaints: int) -> dict[str, Tally]:
    """Each event type of `complaints` routed complaints as one batch of its subscription; the tally per type."""
    context = FollowupContext(
        clocks=ClockRules(SLA),
        notifier=Notifier(Templates(), "en", ZoneInfo(SLA.config.timezone)),
        callbacks=CallbackPolicy(max_attempts=3, retry_interval=timedelta(hours=2)),
    )
    now = datetime.now(UTC)
    flows = [_routed_complaint(new_order(), now) for _ in range(complaints)]
    tallies: dict[str, Tally] = {}
    for step in range(len(flows[0])):
        subscription, first = flows[0][step]
        tally = tallies[first.event_type] = Tally()
        door: FollowupDoor = Door(counting(db, tally), context)
        await _deliver(door, subscription, [flow[step][1] for flow in flows])
    return tallies


def _report(complaints: int, tallies: dict[str, Tally]) -> str:
    lines = [f"{complaints} routed complaint(s):"]
    for event_type, t in tallies.items():
        lines.append(f"  {event_type}: {t.total} statements, {t.transactions} transactions {dict(t.statements)}")
    total = sum(t.total for t in tallies.values())
    tx = sum(t.transactions for t in tallies.values())
    lines.append(f"  per complaint: {total / complaints:.2f} statements, {tx / complaints:.2f} transactions")
    return "\n".join(lines)


@pytest.mark.parametrize("complaints", [1, 50])
async def test_round_trips_per_routed_complaint(db: asyncpg.Pool, complaints: int) -> None:
    tallies = await measure(db, complaints)
    print(_report(complaints, tallies))
    own = {event_type: _own(t) for event_type, t in tallies.items()}
    # Before issue 27 (followup's own statements, without the door's mark and outbox): received 4 per complaint,
    # contact 6 (one routed complaint) — the receipt read alone, then claimed; assigned 2 + 2 per timer per work order
    # (its INSERT and its own pg_notify): 12 for one, 600 for 50.
    # Since the receipts went set-based: a batch's complaints kept in one statement, their contacts read in one, their
    # receipts claimed in one, their messages recorded in one.
    assert own["complaint.received"] == 3, "lock, keep the complaints, read their contacts (none yet: none claimed)"
    assert own["complaint.contact"] == 4, "lock, keep the contacts, claim the receipts, record the messages"
    assert own["complaint.routed"] == 1, "the batch's untold invalid notices read (none: nothing to drop)"
    # Since issue 26, one more a batch: the steps held for the new work orders (`followup.held_work_order_events`).
    assert own["workorder.assigned"] == 4, "cases, work orders, their held steps, all the timers (with the NOTIFY)"
    assert all(t.transactions == 1 for t in tallies.values())


async def test_an_invalid_notice_overturned_in_its_batch_or_a_later_one_is_dropped_the_rest_ask_once(
    db: asyncpg.Pool,
) -> None:
    """A batch of `complaint.routed` reads its untold invalid notices in one statement first: a valid routing of a
    complaint without one drops nothing and asks nothing more; a notice kept in an earlier batch, or earlier in the
    same batch, is still dropped."""
    context = FollowupContext(
        clocks=ClockRules(SLA),
        notifier=Notifier(Templates(), "en", ZoneInfo(SLA.config.timezone)),
        callbacks=CallbackPolicy(max_attempts=3, retry_interval=timedelta(hours=2)),
    )
    earlier, same, others = new_order(), new_order(), [new_order() for _ in range(48)]
    await _deliver(Door(counting(db, Tally()), context), consumers.CALLERS, [invalid(earlier)])
    tally = Tally()
    batch = [invalid(same), routed(same), routed(earlier), *(routed(o) for o in others)]
    await _deliver(Door(counting(db, tally), context), consumers.CALLERS, batch)
    kept = await db.fetch(
        "SELECT complaint_id FROM followup.invalid_complaints WHERE complaint_id = ANY($1::uuid[])",
        [earlier.complaint_id, same.complaint_id],
    )
    assert kept == [], "both notices dropped: the earlier batch's and the one kept in this batch"
    assert tally.statements["SELECT complaint_id FROM"] == 1, dict(tally.statements)
    assert tally.statements["DELETE FROM followup.invalid_complaints"] == 2, "only the two that hold a notice ask"


def _own(tally: Tally) -> int:
    """Followup's own statements: without the door's processed-event mark and the outbox (shared/)."""
    return sum(n for sql, n in tally.statements.items() if not sql.startswith("door: "))


async def test_a_batch_of_serious_assignments_tells_management_in_one_statement(db: asyncpg.Pool) -> None:
    """Serious and emergency cases' management notices (two each: the department's manager and leadership) are
    recorded for the whole batch of `workorder.assigned` in one INSERT — they had been one per message, a quarter of
    a drain's cases being serious — and every one of them is kept and published."""
    context = FollowupContext(
        clocks=ClockRules(SLA),
        notifier=Notifier(Templates(), "en", ZoneInfo(SLA.config.timezone)),
        callbacks=CallbackPolicy(max_attempts=3, retry_interval=timedelta(hours=2)),
    )
    orders = [new_order() for _ in range(50)]
    severities = ["serious", "emergency", "normal"]
    batch = [assigned(o, severity=severities[i % 3], at=datetime.now(UTC)) for i, o in enumerate(orders)]
    tally = Tally()
    await _deliver(Door(counting(db, tally), context), consumers.WORK_ORDERS, batch)
    assert tally.statements["INSERT INTO followup.notifications"] == 1, dict(tally.statements)
    told = await db.fetch(
        "SELECT complaint_id, count(*) AS n FROM followup.notifications "
        "WHERE template_id = 'serious_case_opened' AND complaint_id = ANY($1::uuid[]) GROUP BY complaint_id",
        [o.complaint_id for o in orders],
    )
    serious = {o.complaint_id for i, o in enumerate(orders) if i % 3 != 2}
    assert {r["complaint_id"]: r["n"] for r in told} == dict.fromkeys(serious, 2)
    published = await db.fetchval(
        "SELECT count(*) FROM followup.outbox WHERE key = ANY($1::text[]) AND headers->>'event_type' = "
        "'notification.requested'",
        [str(c) for c in serious],
    )
    assert published == 2 * len(serious)
