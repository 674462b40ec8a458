"""The dead-letter command lists letters with their reasons and replays them to the original topic."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

from shared import topics
from shared.kafka.dead_letter import dead_letter_headers
from shared.kafka.security import client_options
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import read_topic


async def test_list_and_replay(migrated: Infrastructure) -> None:
    from aiokafka import AIOKafkaProducer

    # A dedicated ingress-like pair, so other tests' letters don't interfere.
    source = topics.DEPARTMENT_UPDATES
    dlq = topics.dead_letter_topic(source)
    key = uuid.uuid4().hex.encode()
    headers = dead_letter_headers(
        original_headers={"event_type": "x", "correlation_id": "c-1"},
        topic=source,
        partition=3,
        offset=41,
        consumer="test",
        reason="bad things",
        error_type="ValueError",
        attempts=3,
    )
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=migrated.kafka_bootstrap_servers)
    await producer.start()
    await producer.send_and_wait(dlq, value=b'{"n": 1}', key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    await producer.stop()

    env_cmd = [sys.executable, "-m", "shared.dead_letters", "--bootstrap", migrated.kafka_bootstrap_servers]
    listed = await asyncio.to_thread(
        subprocess.run, [*env_cmd, "list", dlq], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    mine = next(r for r in rows if r["key"] == key.decode())
    assert mine["reason"] == "bad things" and mine["original_topic"] == source and mine["original_offset"] == "41"

    replayed = await asyncio.to_thread(
        subprocess.run,
        [*env_cmd, "replay", dlq, "--partition", str(mine["partition"]), "--offset", str(mine["offset"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode == 0, replayed.stderr
    records = await read_topic(migrated.kafka_bootstrap_servers, source, until=lambda rs: any(r.key == key for r in rs))
    back = next(r for r in records if r.key == key)
    assert back.value == b'{"n": 1}'
    assert back.headers["correlation_id"] == "c-1"
    assert not any(h.startswith("dlq.") for h in back.headers)
