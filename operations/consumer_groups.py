"""`python -m operations.consumer_groups reset --group G --to 2026-12-01T00:00:00+08:00 [--execute]`: start a consumer
group from a chosen point in time (issue 26).

Why: a new group starts at the earliest offset of topics kept forever, so it replays all their history (its side
effects included: followup's customer messages hold back only what is older than their horizon); and after a
database restore the groups must read again from the moment the backup was taken, not from where they were. The
operator sets each partition's committed offset to the first record at or after the time (the end, where none is),
with the group's consumers stopped: the tool refuses a group that has members. Without `--execute` it prints the
plan and changes nothing. Runs as the broker's super user (the environment's `KAFKA_*` settings).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from operations.times import aware_datetime
from shared.kafka.admin import topic_partitions
from shared.kafka.group_states import group_states
from shared.kafka.security import KafkaSecuritySettings, client_options


class GroupBusy(RuntimeError):
    """The group has members: their commits would overwrite the reset (stop its consumers first)."""


async def offsets_at(
    bootstrap_servers: str, topics: Iterable[str], at: datetime, security: KafkaSecuritySettings | None = None
) -> dict[TopicPartition, int]:
    """Per partition of `topics`, the offset of the first record at or after `at`; the end offset where none is."""
    partitions = await topic_partitions(bootstrap_servers, topics, security)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, **client_options(security))
    await consumer.start()
    try:
        found = await consumer.offsets_for_times({tp: int(at.timestamp() * 1000) for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        return {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in partitions}
    finally:
        await consumer.stop()


async def reset_group(
    bootstrap_servers: str,
    group: str,
    offsets: dict[TopicPartition, int],
    security: KafkaSecuritySettings | None = None,
) -> None:
    """Commit `offsets` for `group`, which must have no member (`GroupBusy` otherwise)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options(security))
    await admin.start()
    try:
        state, members = (await group_states(admin, [group])).get(group, ("Dead", 0))
    finally:
        await admin.close()
    if members:
        raise GroupBusy(f"group {group} has {members} member(s) ({state}): stop its consumers first")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False, **client_options(security)
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
    finally:
        await consumer.stop()


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m operations.consumer_groups", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    reset = commands.add_parser("reset", help="set a group's offsets to a point in time")
    reset.add_argument("--group", required=True)
    reset.add_argument("--topics", required=True, help="comma-separated: the topics the group consumes")
    reset.add_argument("--to", required=True, type=aware_datetime, help="ISO 8601 with its UTC offset")
    reset.add_argument("--execute", action="store_true", help="commit the offsets (default: print the plan only)")
    return parser.parse_args(argv)


async def _main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    offsets = await offsets_at(bootstrap, args.topics.split(","), args.to)
    for tp, offset in sorted(offsets.items()):
        print(f"{args.group}  {tp.topic}[{tp.partition}]  -> {offset}")
    if not args.execute:
        print("plan only: add --execute to commit it")
        return 0
    try:
        await reset_group(bootstrap, args.group, offsets)
    except GroupBusy as busy:
        print(busy, file=sys.stderr)
        return 1
    print(f"{args.group}: {len(offsets)} partitions reset to {args.to.isoformat()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(sys.argv[1:])))
