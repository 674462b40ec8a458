"""Timers in Postgres under load and crashes: 10,000 due at once fire exactly once across two followup
processes, and a process killed with SIGKILL mid-firing leaves the rest to the other, none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from shared import topics
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import read_topic, wait_until
from tests.support.platform import wait_service_ready
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
N = 10_000


async def _due_timers(db: asyncpg.Pool, n: int) -> tuple[list[uuid.UUID], list[int]]:
    """n work orders, each with a top-rung breach timer already due (firing it escalates once)."""
    now = datetime.now(UTC)
    complaints = [uuid.uuid4() for _ in range(n)]
    orders = [uuid.uuid4() for _ in range(n)]
    await db.copy_records_to_table(
        "work_orders",
        schema_name="followup",
        columns=[
            "work_order_id",
            "complaint_id",
            "reference_no",
            "department",
            "cycle",
            "category",
            "severity",
            "channel",
            "starts_at",
            "acknowledge_by",
            "resolve_by",
            "callback_limit",
            "status",
            "correlation_id",
        ],
        records=[
            (
                o,
                c,
                f"TS-LOAD-{c.hex[:16]}",  # unique: reporting (same topics) keeps references unique
                "repair",
                1,
                "outage",
                "normal",
                "web",
                now - timedelta(hours=2),
                now - timedelta(hours=1),
                now + timedelta(hours=1),
                "1wd",
                "assigned",
                f"load-{c}",
            )
            for i, (o, c) in enumerate(zip(orders, complaints, strict=True))
        ],
    )
    await db.copy_records_to_table(
        "timers",
        schema_name="followup",
        columns=["complaint_id", "subject_id", "kind", "stage", "level", "due_at", "deadline"],
        records=[
            (c, o, "breach", "acknowledge", 3, now - timedelta(seconds=1), now - timedelta(hours=1))
            for o, c in zip(orders, complaints, strict=True)
        ],
    )
    ids = await db.fetch("SELECT timer_id FROM followup.timers WHERE complaint_id = ANY($1::uuid[])", complaints)
    return complaints, [r["timer_id"] for r in ids]


@contextmanager
def followup_process(
    infra: Infrastructure, log_path: Path, group: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m services.followup` on the session's Postgres and Kafka; yields it and its URL, SIGTERMs it after."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": infra.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "APP_ENV": "test",
        "FOLLOWUP_HTTP_PORT": str(port),
        "FOLLOWUP_CONSUMER_GROUP": group,
        "TIMER_BATCH_SIZE": "50",
        "TIMER_POLL_MS": "50",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "ERROR",
    }
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.followup"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _fired(db: asyncpg.Pool, timer_ids: list[int]) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM followup.timers WHERE timer_id = ANY($1::bigint[]) AND fired_at IS NOT NULL", timer_ids
    )


async def _assert_each_fired_once(
    db: asyncpg.Pool, infra: Infrastructure, complaints: list[uuid.UUID], timer_ids: list[int]
) -> None:
    assert await _fired(db, timer_ids) == N
    escalated = await db.fetchval(
        "SELECT count(*) FROM followup.escalations WHERE timer_id = ANY($1::bigint[])", timer_ids
    )
    assert escalated == N, "one escalation per timer (timer_id is unique there, so none twice)"
    wanted = {str(c).encode() for c in complaints}
    records = await read_topic(
        infra.kafka_bootstrap_servers,
        topics.COMPLAINT_ESCALATED,
        until=lambda rs: wanted <= {r.key for r in rs},
        timeout=120,
    )
    per_complaint: dict[bytes, set[str]] = {}
    for r in records:
        if r.key in wanted:
            per_complaint.setdefault(r.key, set()).add(r.headers["event_id"])
    assert len(per_complaint) == N
    assert {len(ids) for ids in per_complaint.values()} == {1}, "redeliveries allowed, a second escalation not"


async def test_ten_thousand_timers_two_processes_each_fires_once(
    migrated: Infrastructure, db: asyncpg.Pool, tmp_path: Path
) -> None:
    group = f"followup-load-{uuid.uuid4().hex[:6]}"
    with (
        followup_process(migrated, tmp_path / "a.log", group) as (_, a),
        followup_process(migrated, tmp_path / "b.log", group) as (_, b),
    ):
        # Both up before the timers fall due: else the first to start could fire them all while the other starts.
        await asyncio.gather(wait_service_ready(a), wait_service_ready(b))
        complaints, timer_ids = await _due_timers(db, N)
        await wait_until(lambda: _fired_all(db, timer_ids), timeout=180, interval=0.2)
        # Still running: the escalations leave through the outbox relay, which stops with its process.
        await _assert_each_fired_once(db, migrated, complaints, timer_ids)
    by_worker = await db.fetch(
        "SELECT fired_by, count(*) AS n FROM followup.timers WHERE timer_id = ANY($1::bigint[]) GROUP BY fired_by",
        timer_ids,
    )
    assert len(by_worker) == 2, f"both processes fired timers: {[dict(r) for r in by_worker]}"


async def test_killed_process_leaves_the_rest_to_the_other(
    migrated: Infrastructure, db: asyncpg.Pool, tmp_path: Path
) -> None:
    complaints, timer_ids = await _due_timers(db, N)
    group = f"followup-kill-{uuid.uuid4().hex[:6]}"
    with followup_process(migrated, tmp_path / "victim.log", group) as (victim, _):
        await wait_until(lambda: _fired_at_least(db, timer_ids, 500), timeout=120, interval=0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    fired_before = await _fired(db, timer_ids)
    assert 0 < fired_before < N, "killed mid-way"
    with followup_process(migrated, tmp_path / "survivor.log", group):
        await wait_until(lambda: _fired_all(db, timer_ids), timeout=180, interval=0.2)
        await _assert_each_fired_once(db, migrated, complaints, timer_ids)


async def _fired_all(db: asyncpg.Pool, timer_ids: list[int]) -> bool:
    return await _fired(db, timer_ids) == len(timer_ids)


async def _fired_at_least(db: asyncpg.Pool, timer_ids: list[int], n: int) -> bool:
    return await _fired(db, timer_ids) >= n
