"""Two dispatch processes in one consumer group split the partitions and together create exactly one
work order per complaint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx

from shared import topics
from tests.support.dispatch import received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_two_processes_share_the_work_without_doubling(
    migrated: Infrastructure, db: asyncpg.Pool, tmp_path: Path
) -> None:
    group = f"dispatch-pair-{uuid.uuid4().hex[:6]}"
    procs: list[tuple[subprocess.Popen[bytes], Path, int]] = []
    for i in range(2):
        port = _free_port()
        log_path = tmp_path / f"dispatch-{i}.log"
        env = {
            **os.environ,
            "DATABASE_URL": migrated.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": migrated.kafka_bootstrap_servers,
            "APP_ENV": "test",
            "DISPATCH_HTTP_PORT": str(port),
            "DISPATCH_CONSUMER_GROUP": group,
            "DISPATCH_BATCH_SIZE": "20",
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.dispatch"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        procs.append((proc, log_path, port))
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            for _, _, port in procs:
                await wait_until(lambda p=port: _kafka_connected(client, p), timeout=60, interval=0.2)

        complaint_ids: list[uuid.UUID] = []

        async def both_working() -> bool:
            wave = [received(f"第{len(complaint_ids) + i}号：家里暖气不热，室温只有15度。") for i in range(40)]
            complaint_ids.extend(e.complaint_id for e in wave)
            await produce(
                migrated.kafka_bootstrap_servers,
                topics.COMPLAINT_RECEIVED,
                [(e.key, e.model_dump_json().encode()) for e in wave],
            )
            await wait_until(lambda: _routed_count(db, complaint_ids, len(complaint_ids)), timeout=30)
            ids = {str(c) for c in complaint_ids}
            return all(_routed_by(log_path, ids) for _, log_path, _ in procs)

        await wait_until(both_working, timeout=120, interval=0)
        counts = await db.fetch(
            "SELECT complaint_id, count(*) AS n FROM dispatch.work_orders WHERE complaint_id = ANY($1::uuid[]) "
            "GROUP BY complaint_id",
            complaint_ids,
        )
        assert len(counts) == len(complaint_ids) and {r["n"] for r in counts} == {1}
        shares = [_routed_by(log_path, {str(c) for c in complaint_ids}) for _, log_path, _ in procs]

        assert all(shares) and sum(shares) == len(complaint_ids), shares
    finally:
        for proc, _, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _kafka_connected(client: httpx.AsyncClient, port: int) -> bool:
    try:
        body = (await client.get(f"http://127.0.0.1:{port}/readyz")).json()
    except httpx.HTTPError:
        return False
    return body.get("kafka") == "connected"


async def _routed_count(db: asyncpg.Pool, ids: list[uuid.UUID], n: int) -> bool:
    found = await db.fetchval("SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = ANY($1::uuid[])", ids)
    return found >= n


def _routed_by(log_path: Path, ids: set[str]) -> int:
    """How many of `ids` this process routed, from its JSON log lines."""
    text = log_path.read_text(errors="replace")
    return sum(1 for line in text.splitlines() if '"complaint routed"' in line and _complaint(line) in ids)


def _complaint(line: str) -> str:
    try:
        return str(json.loads(line).get("complaint_id"))
    except ValueError:
        return ""
