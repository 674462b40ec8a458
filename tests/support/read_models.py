"""What a scenario reads in the services' databases where no public API tells it: whether the platform has
settled (no timer due, every outbox published, reporting's timeline still), and reporting's read models row by row,
live and rebuilt from offset 0 beside them. Each look is one named function, so the scenario reads as steps and
says what it compares; the SQL stays here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from services.reporting.rebuild import rebuild
from tests.support.kafka import wait_until

#: Reporting's read models compared after a rebuild or a redelivery, each with a total order of its rows.
READ_MODELS = {
    "timeline": "event_id",
    "cases": "complaint_id",
    "work_orders": "work_order_id",
    "callbacks": "callback_id",
    "contacts": "complaint_id",
    "kpi_rollup": "dimension, day, key",
    "kpi_rollup_handling": "dimension, day, key, bucket",
    "hotspot_hourly": "hour, district, category",
}
#: The services whose outbox must be empty before the platform counts as settled.
OUTBOXES = ("intake", "dispatch", "followup")

Rows = dict[str, list[tuple[Any, ...]]]


async def read_models(dsn: str, schema: str = "reporting") -> Rows:
    """Every row of reporting's read models (`READ_MODELS`) in `schema`, in their total order."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {order}")]
            for table, order in READ_MODELS.items()
        }
    finally:
        await conn.close()


async def rebuild_read_models(dsn: str, bootstrap: str, schema: str) -> dict[str, int]:
    """Reporting's read models rebuilt from offset 0 of its topics into `schema` (beside the live ones), as the
    operators' rebuild command does; its counts (`projected`, `skipped_invalid` ...)."""
    return await rebuild(dsn, bootstrap, schema, "Asia/Shanghai")


async def wait_settled(dsn: str, now: Callable[[], datetime], *, timeout: float = 90.0) -> None:
    """Until nothing moves: no followup timer due by `now()` (the scenario's clock), every outbox of `OUTBOXES`
    published, and reporting's timeline the same size on two reads in a row."""
    conn = await asyncpg.connect(dsn)
    last = -1

    async def quiet() -> bool:
        nonlocal last
        due = await conn.fetchval(
            "SELECT count(*) FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1",
            now(),
        )
        pending = 0
        for schema in OUTBOXES:
            pending += await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox")
        seen = await conn.fetchval("SELECT count(*) FROM reporting.timeline")
        steady, last = seen == last, seen
        return bool(due == 0 and pending == 0 and steady)

    try:
        await wait_until(quiet, timeout=timeout, interval=0.5)
    finally:
        await conn.close()
