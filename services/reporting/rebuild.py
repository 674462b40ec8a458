"""`python -m services.reporting.rebuild`: rebuild the read models by replaying every topic from offset 0.

    python -m services.reporting.rebuild                      # in place: stop reporting first
    python -m services.reporting.rebuild --schema reporting_check   # side by side, to compare

The schema is dropped and recreated from the migrations, then every topic reporting reads is consumed
from its first offset up to the end offsets taken at the start (no consumer group, nothing committed)
and projected in batches through the door (`shared.handling.Door`), one transaction each — the same use case the
live consumers run (`handlers.project`), so the result is identical.
Reads DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import asyncpg
from aiokafka import AIOKafkaConsumer
from pydantic import TypeAdapter, ValidationError

from services.reporting.handlers import ReportingContext, project
from services.reporting.model import REBUILT_TOPICS, ReportedEvent
from services.reporting.repository import ProjectionStore, ReadModels
from shared.contracts import Event
from shared.db import create_pool, transactions
from shared.handling import Door
from shared.kafka.replay import assign_from_start, read_to_end
from shared.kafka.security import client_options
from shared.migrations import apply
from shared.subject_keys import SubjectKeys

_ADAPTER: TypeAdapter[object] = TypeAdapter(ReportedEvent)


async def rebuild(dsn: str, bootstrap: str, schema: str, timezone: str, batch_size: int = 2000) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await apply(conn, Path(__file__).with_name("migrations"), schema)
    finally:
        await conn.close()
    pool = await create_pool(dsn, min_size=1, max_size=2)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=batch_size,
        **client_options(),
    )
    await consumer.start()
    door: Door[ProjectionStore, ReportingContext] = Door(
        transactions(pool, lambda conn: ReadModels(conn, schema)),
        ReportingContext(ZoneInfo(timezone), keys=SubjectKeys(pool)),
    )
    counts = {"read": 0, "projected": 0, "skipped_invalid": 0}
    try:
        partitions = await assign_from_start(consumer, bootstrap, REBUILT_TOPICS)
        async for records in read_to_end(consumer, partitions, batch_size=batch_size):
            events: list[Event] = []
            for record in records:
                counts["read"] += 1
                try:
                    events.append(cast(Event, _ADAPTER.validate_json(record.value or b"")))
                except ValidationError:
                    counts["skipped_invalid"] += 1  # the live consumer dead-lettered it too
            if events:
                counts["projected"] += await door.run(project, events)
        return counts
    finally:
        await consumer.stop()
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.reporting.rebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--schema", default="reporting", help="schema to rebuild into (default: reporting)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--timezone", default=os.environ.get("TIMEZONE", "Asia/Shanghai"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    started = time.monotonic()
    counts = asyncio.run(rebuild(args.database_url, args.bootstrap, args.schema, args.timezone))
    print(
        f"rebuilt {args.schema}: {counts['read']} events read, {counts['projected']} projected, "
        f"{counts['skipped_invalid']} invalid skipped, in {time.monotonic() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
