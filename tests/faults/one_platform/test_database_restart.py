"""Fault suite, the database: PostgreSQL restarted mid-stream (fast shutdown of the postmaster; the runner
starts it again on the same port and data), and made read-only for 15 s with its sessions terminated, as a failover
leaves a demoted primary (issue 26). On the package's platform, after the broker's faults; exact checks after each
stream as described in test_process_faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from shared import topics
from shared.kafka.admin import topic_partitions
from tests.faults.support.checks import settle_and_check
from tests.faults.support.kafka import end_offsets
from tests.faults.support.ledger import Ledger, record_accepted
from tests.support.complaint_streams import Poster, make_submissions
from tests.support.platform import Platform, restart_postgres

pytestmark = pytest.mark.faults


async def test_postgres_restarted_mid_stream_services_recover_nothing_lost_or_doubled(
    platform: Platform, ledger: Ledger
) -> None:
    """At 300 accepted, the postmaster gets SIGINT (fast shutdown: open transactions aborted,
    every connection closed) and the runner starts it again; the stream ends 500 after it is back. Intake may
    answer 503 meanwhile: the poster
    retries those with the same Idempotency-Key and counts only 202s. No service may die of it: their pools
    reconnect, consumers redeliver what failed, relays and the timer worker carry on."""
    began = time.monotonic()
    subs = make_submissions("postgres", 3000)
    poster = Poster(platform.url("intake"), subs, concurrency=16).start()
    try:
        await poster.wait_accepted(300)
        at_restart = poster.accepted
        old_pid, new_pid, took = await restart_postgres(platform)
        assert poster.accepted < len(subs), "the stream goes on after the restart"
        poster.stop_after(500)
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    print(
        f"\n[postgres] postmaster {old_pid} -> {new_pid} at {at_restart}/{poster.limit} accepted, accepting again "
        f"after {took:.1f}s; {poster.summary()}"
    )
    output = platform.runner_output()
    assert "postgres restarted" in output
    assert "exited unexpectedly" not in output, "no service died with the database: their pools reconnected"
    await settle_and_check(platform, ledger, "postgres", began)
    # Last, so that the exactly-once checks above speak first: the README promises 503 (with Retry-After)
    # while the database is down, never a 500.
    others = {k: v for k, v in poster.statuses.items() if k not in (202, 503)}
    assert not others, f"intake answered other than 202 or 503 while the database restarted: {others}"


#: Issue 26, must-show 1: how long the database refuses writes, and how many complaints flow through it.
READ_ONLY_S, READ_ONLY_STREAM = 15.0, 200


async def test_postgres_read_only_for_15s_nothing_is_dead_lettered_and_every_complaint_is_routed_once(
    platform: Platform, ledger: Ledger
) -> None:
    """A read-only database answers every write with SQLSTATE 25006, an ordinary `PostgresError`: that is "try
    later" (`shared.db_errors`), not bad data. 200 complaints, 16 at a time; at the 100th accepted, while the
    consumers are busy with them, the cluster turns read-only and every session is terminated; 15 s later it is
    writable and the sessions are ended again. The consumers redelivered what they were doing, no `.dlq` gains a
    record, intake answers only 202 or 503, and the exact checks hold: every complaint routed once."""
    began = time.monotonic()
    dead_letters = await topic_partitions(
        platform.bootstrap, [topics.dead_letter_topic(t) for t in topics.CONSUMED_TOPICS]
    )
    before = await end_offsets(platform.bootstrap, dead_letters)
    subs = make_submissions("readonly", READ_ONLY_STREAM)
    redelivered_before = await _redeliveries(platform)
    poster = Poster(platform.url("intake"), subs, concurrency=16).start()
    try:
        await poster.wait_accepted(READ_ONLY_STREAM // 2)  # a burst: the consumers are busy with it
        at_start = poster.accepted
        async with read_only(platform.dsn):
            await asyncio.sleep(READ_ONLY_S)  # the fault's length, not a wait for an event
        at_end = poster.accepted
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    redelivered = await _redeliveries(platform) - redelivered_before
    print(f"\n[read-only] {at_start} accepted before, {at_end} by its end; {redelivered:.0f} redeliveries")
    print(f"[read-only] {poster.summary()}")
    assert at_end < len(subs), "the stream went on after the database was writable again"
    assert redelivered > 0, "the consumers met the read-only database mid-work (and redelivered)"
    await settle_and_check(platform, ledger, "read-only", began)
    after = await end_offsets(platform.bootstrap, dead_letters)
    grown = {f"{tp.topic}[{tp.partition}]": after[tp] - before[tp] for tp in dead_letters if after[tp] != before[tp]}
    assert not grown, f"dead letters written while the database was read-only: {grown}"
    others = {k: v for k, v in poster.statuses.items() if k not in (202, 503)}
    assert not others, f"intake answered other than 202 or 503 while the database was read-only: {others}"
    assert poster.statuses.get(503), "intake said 503 while it could not write"


async def _redeliveries(platform: Platform) -> float:
    """`kafka_consumer_redeliveries_total` summed over the services that consume (from their /metrics)."""
    total = 0.0
    async with httpx.AsyncClient(timeout=10) as http:
        for service in ("intake", "dispatch", "followup", "reporting", "notify", "channels"):
            text = (await http.get(f"{platform.url(service)}/metrics")).text
            total += sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if _REDELIVERED.match(line))
    return total


_REDELIVERED = re.compile(r"^kafka_consumer_redeliveries_total\{")


@contextlib.asynccontextmanager
async def read_only(dsn: str) -> AsyncIterator[None]:
    """The cluster read-only for every session (ALTER SYSTEM, reloaded) and every other session ended, as a failover
    leaves a demoted primary; writable again on leaving, the sessions ended once more (their pools reconnect)."""
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute("SET default_transaction_read_only = off")  # this session keeps writing
        await admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        await admin.execute("SELECT pg_reload_conf()")
        await admin.execute(_END_OTHER_SESSIONS)
        yield
    finally:
        await admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
        await admin.execute("SELECT pg_reload_conf()")
        await admin.execute(_END_OTHER_SESSIONS)
        await admin.close()


_END_OTHER_SESSIONS = """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"""
