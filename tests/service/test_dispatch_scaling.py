"""Two dispatch processes in one consumer group split the partitions and together create exactly one
work order per complaint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx

from shared import topics
from tests.support.dispatch import received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_two_processes_share_the_work_without_doubling(
    migrated: Infrastructure, db: asyncpg.Pool, tmp_path: Path
) -> None:
    group = f"dispatch-pair-{uuid.uuid4().hex[:6]}"
    procs: list[tuple[subprocess.Popen[bytes], Path, int]] = []
    for i in range(2):
        port = free_port()
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

        await _storm_is_one_incident(migrated, db)
    finally:
        for proc, _, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _storm_is_one_incident(migrated: Infrastructure, db: asyncpg.Pool) -> None:
    """60 households about one compound, every event delivered twice and each complaint also republished under a
    new event id, split between the two processes: one incident, each complaint linked to it once."""
    compound = f"试验{uuid.uuid4().int % 10**6:06d}小区"
    storm = [
        received(
            "暖气片冰凉，室温只有14度。",
            account_no=f"S-{i:03d}-{uuid.uuid4().hex[:4]}",
            location={"address": f"和平区{compound}{i % 7 + 1}号楼", "district": "heping"},
        )
        for i in range(60)
    ]
    republished = [e.model_copy(update={"event_id": uuid.uuid4()}) for e in storm]
    messages = [(e.key, e.model_dump_json().encode()) for e in [*storm, *storm, *republished]]
    await produce(migrated.kafka_bootstrap_servers, topics.COMPLAINT_RECEIVED, messages)
    ids = [e.complaint_id for e in storm]

    async def all_linked() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM dispatch.cases WHERE complaint_id = ANY($1::uuid[]) AND incident_id IS NOT NULL", ids
        )
        return n == len(ids)

    await wait_until(all_linked, timeout=60)
    incidents = await db.fetch("SELECT * FROM dispatch.incidents WHERE compound = $1", compound.removesuffix("小区"))
    assert len(incidents) == 1, [dict(i) for i in incidents]
    (incident,) = incidents
    assert (incident["complaint_count"], incident["households"], incident["status"]) == (60, 60, "open")
    assert (
        await db.fetchval(
            "SELECT count(DISTINCT incident_id) FROM dispatch.cases WHERE complaint_id = ANY($1::uuid[])", ids
        )
        == 1
    )
    assert (
        await db.fetchval("SELECT count(*) FROM dispatch.work_orders WHERE incident_id = $1", incident["incident_id"])
        == 1
    )
    key = str(incident["incident_id"]).encode()
    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.INCIDENT_EVENTS,
        until=lambda rs: sum(r.key == key and r.json()["event_type"] == "incident.complaint_linked" for r in rs) >= 60,
    )
    linked = [
        r.json()["payload"]["complaint_id"]
        for r in records
        if r.key == key and r.json()["event_type"] == "incident.complaint_linked"
    ]
    assert sorted(linked) == sorted(str(i) for i in ids), "each complaint linked exactly once"


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
