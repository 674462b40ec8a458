"""`python -m operations.reconcile --since T [--execute]`: after Postgres was restored to T, make the database and
Kafka agree again before any service starts (issue 26; the restore itself is `operations.backup`).

Kafka was not restored: it still holds every event published after T, and every group's offsets point past them.
Left so, a restore loses the effects of all that happened after T and reissues reference numbers already read out
to callers. With every service stopped, this tool:

1. **Reference numbers.** Reads `complaint.received` from T and moves each day's reference sequence past the highest
   number published that day: a number read out to a caller is never issued again.
2. **Complaints intake has lost.** Every complaint on `complaint.received` that the restored intake does not know is
   put back, with its reference number, channel ticket id and customer, so a status lookup finds it and a channel's
   redelivered ticket is a retry rather than a second complaint. What the event does not carry is not invented: the
   row's submission is the event's public (masked) view, marked `restored_from`; the contact is in the event's sealed
   copy, readable while the customer's key survived the restore (a key made after T is lost with the database, so
   such a customer is reached through an agent: the count is printed).
3. **Consumer groups.** Every group of the platform's services is rewound to T minus a margin (records take a moment
   from their timestamp to their consumer's commit), so each service reads again what it handled after T. What the
   restored database already holds is a duplicate its consumer drops by event id; what it lost is done again.

Without `--execute` it prints what it would do and changes nothing. Refuses while any group has members. Runs as
the broker's super user and the database owner (`KAFKA_*`, `DATABASE_URL`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from operations.consumer_groups import GroupBusy, offsets_at, reset_group
from operations.times import aware_datetime
from services.intake.reference import looks_like_reference
from shared import topics
from shared.kafka.admin import topic_partitions
from shared.kafka.group_states import group_states
from shared.kafka.offsets import committed_offsets
from shared.kafka.replay import read_to_end
from shared.kafka.security import KafkaSecuritySettings, client_options

#: How far before T the groups are rewound by default.
DEFAULT_MARGIN = timedelta(minutes=10)


@dataclass
class Plan:
    """What reconciling found: the complaints published since T, and what the restored database lacks."""

    received: dict[str, dict[str, object]] = field(default_factory=dict)  # complaint id → payload
    correlation: dict[str, str] = field(default_factory=dict)  # complaint id → correlation id
    highest: dict[date, int] = field(default_factory=dict)  # day → highest reference sequence published
    unknown: list[str] = field(default_factory=list)  # complaint ids the restored intake lacks
    groups: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)  # group → offsets to commit
    skipped: int = 0  # records on the topic that are no complaint


async def published_since(bootstrap: str, since: datetime, security: KafkaSecuritySettings | None) -> Plan:
    """Every `complaint.received` record from `since` on, with each day's highest reference sequence."""
    plan = Plan()
    starts = await offsets_at(bootstrap, [topics.COMPLAINT_RECEIVED], since, security)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **client_options(security)
    )
    await consumer.start()
    try:
        partitions = list(starts)
        consumer.assign(partitions)
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        async for batch in read_to_end(consumer, partitions):
            for record in batch:
                _note(plan, record.value)
    finally:
        await consumer.stop()
    return plan


def _note(plan: Plan, value: bytes | None) -> None:
    """One record: a complaint and its reference number; anything else on the topic (a poison record someone
    published, which dispatch dead-lettered) is counted and left alone."""
    try:
        event = json.loads(value or b"")
        payload = event["payload"]
        complaint_id, reference = str(uuid.UUID(str(payload["complaint_id"]))), str(payload["reference_no"])
    except (ValueError, TypeError, KeyError):
        plan.skipped += 1
        return
    if not looks_like_reference(reference):
        plan.skipped += 1
        return
    plan.received[complaint_id] = payload
    plan.correlation[complaint_id] = str(event.get("correlation_id") or complaint_id)
    _, day, number = reference.split("-")
    when = datetime.strptime(day, "%Y%m%d").date()
    plan.highest[when] = max(plan.highest.get(when, 0), int(number))


async def plan_database(conn: asyncpg.Connection, plan: Plan) -> None:
    """The complaints of `plan` the restored intake does not know."""
    known = await conn.fetch(
        "SELECT complaint_id::text FROM intake.complaints WHERE complaint_id = ANY($1::uuid[])", list(plan.received)
    )
    have = {row[0] for row in known}
    plan.unknown = [complaint_id for complaint_id in plan.received if complaint_id not in have]


#: A lost complaint put back: no request fingerprint or idempotency key survives (an HTTP retry of it with its old
#: key is a new submission); its ticket id does, so a channel's redelivery is a retry.
_PUT_BACK = """
INSERT INTO intake.complaints (complaint_id, reference_no, channel, channel_ticket_id, idempotency_key,
    request_fingerprint, received_at, accepted_at, correlation_id, submission, customer_id)
SELECT $1::uuid, $2, $3, $4, NULL, 'restored', $5::timestamptz, $6::timestamptz, $7, $8::jsonb, $9::uuid
ON CONFLICT DO NOTHING
"""


async def apply_database(conn: asyncpg.Connection, plan: Plan) -> int:
    """Put the lost complaints back and move each day's reference sequence past what was published; returns how
    many complaints were put back. One transaction: a failure leaves the restored database as it was."""
    async with conn.transaction():
        for day, number in sorted(plan.highest.items()):
            await _move_sequence_past(conn, day, number)
        put_back = 0
        for complaint_id in plan.unknown:
            p = plan.received[complaint_id]
            submission = {key: p.get(key) for key in ("channel", "customer", "location", "text", "category_hint")}
            submission |= {"agent_id": p.get("agent_id"), "restored_from": topics.COMPLAINT_RECEIVED}
            status = await conn.execute(
                _PUT_BACK,
                complaint_id,
                p["reference_no"],
                p["channel"],
                p.get("channel_ticket_id"),
                datetime.fromisoformat(str(p["received_at"])),
                datetime.fromisoformat(str(p["accepted_at"])),
                plan.correlation[complaint_id],
                json.dumps(submission),
                p.get("customer_id"),
            )
            put_back += status.endswith(" 1")
    return put_back


async def _move_sequence_past(conn: asyncpg.Connection, day: date, number: int) -> None:
    """The day's sequence (made if missing, as intake makes it) so that its next number is above `number`."""
    name = f"intake.reference_{day:%Y%m%d}"  # digits only: safe to splice
    await conn.execute("SELECT intake.create_reference_sequence($1::date)", day)
    row = await conn.fetchrow(f"SELECT last_value, is_called FROM {name}")
    assert row is not None  # a sequence always has its one row
    if (row["last_value"] if row["is_called"] else row["last_value"] - 1) < number:
        await conn.execute("SELECT setval($1::regclass, $2, true)", name, number)


def platform_groups() -> dict[str, tuple[str, ...]]:
    """Every consumer group of the platform's services (their default names) → the topics it reads.

    Only these are rewound: their state is in the restored database. A subscriber of another department reads our
    topics under a group of its own, with state of its own that was not restored; rewinding it would replay its
    side effects. It sees the events published again after the restore, under the same work-order ids."""
    from services.channels import consumers as channels
    from services.dispatch import consumers as dispatch
    from services.followup import consumers as followup
    from services.intake import consumers as intake
    from services.notify import consumers as notify
    from services.reporting import consumers as reporting

    services = (intake, dispatch, followup, reporting, notify, channels)
    return {s.group: s.topics for service in services for s in service.SUBSCRIPTIONS}


async def plan_groups(
    bootstrap: str, since: datetime, security: KafkaSecuritySettings | None
) -> dict[str, dict[TopicPartition, int]]:
    """Each platform group's offsets of `since` on the partitions it has committed on. The topics' partitions and
    their offsets of `since` are read once for all the groups (about thirty, sharing a dozen topics)."""
    groups = platform_groups()
    partitions = await topic_partitions(bootstrap, sorted({t for names in groups.values() for t in names}), security)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options(security))
    await admin.start()
    try:
        busy = {g: s for g, s in (await group_states(admin, sorted(groups))).items() if s[1]}
        if busy:
            raise GroupBusy(f"stop every service first: groups with members: {busy}")
        committed: dict[str, list[TopicPartition]] = {}
        for group, names in groups.items():
            # Read so, and not with aiokafka's listing, so that a coordinator still loading after the broker's
            # start is waited for rather than read as "nothing committed" (`shared.kafka.offsets`).
            offsets = await committed_offsets(admin, group, [tp for tp in partitions if tp.topic in names])
            committed[group] = [tp for tp, offset in offsets.items() if offset >= 0]
    finally:
        await admin.close()
    rewound = sorted({tp.topic for tps in committed.values() for tp in tps})
    at = await offsets_at(bootstrap, rewound, since, security) if rewound else {}
    return {group: {tp: at[tp] for tp in tps} for group, tps in committed.items() if tps}


async def reconcile(
    dsn: str, bootstrap: str, since: datetime, *, execute: bool, security: KafkaSecuritySettings | None = None
) -> Plan:
    """Plan (and with `execute`, apply) the reconciliation of a database restored to `since`; see the module."""
    plan = await published_since(bootstrap, since, security)
    plan.groups = await plan_groups(bootstrap, since, security)
    conn = await asyncpg.connect(dsn)
    try:
        await plan_database(conn, plan)
        if execute:
            await apply_database(conn, plan)
    finally:
        await conn.close()
    if execute:
        for group, offsets in sorted(plan.groups.items()):
            await reset_group(bootstrap, group, offsets, security)
    return plan


def _report(plan: Plan, since: datetime, execute: bool) -> None:
    done = "" if execute else "would be "
    print(f"since {since.isoformat()}: {len(plan.received)} complaints on {topics.COMPLAINT_RECEIVED}")
    if plan.skipped:
        print(f"  {plan.skipped} records there that are no complaint left alone")
    for day, number in sorted(plan.highest.items()):
        print(f"  reference sequence {day:%Y%m%d} {done}moved past {number}")
    print(f"  {len(plan.unknown)} complaints unknown to the restored intake {done}put back")
    for group, offsets in sorted(plan.groups.items()):
        print(f"  group {group}: {len(offsets)} partitions {done}rewound")
    if not execute:
        print("plan only: add --execute to apply it")


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m operations.reconcile", description=__doc__.split("\n")[0])
    parser.add_argument("--since", required=True, type=aware_datetime, help="the restore point (ISO 8601)")
    parser.add_argument("--margin-minutes", type=float, default=DEFAULT_MARGIN.total_seconds() / 60)
    parser.add_argument("--execute", action="store_true", help="apply it (default: print the plan only)")
    return parser.parse_args(argv)


async def _main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    since = args.since - timedelta(minutes=args.margin_minutes)
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        print("DATABASE_URL is needed", file=sys.stderr)
        return 2
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    try:
        plan = await reconcile(dsn, bootstrap, since, execute=args.execute, security=KafkaSecuritySettings())
    except GroupBusy as busy:
        print(busy, file=sys.stderr)
        return 1
    _report(plan, since, args.execute)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(sys.argv[1:])))
