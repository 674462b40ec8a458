"""Fault suite, service processes: each service SIGKILLed mid-stream in turn (the runner restarts it), then a
second replica of every service joining and leaving mid-stream (rebalances). On the package's platform
(`python -m embedded`, see conftest.py), after the broker's and the database's faults.

After each stream, once the platform is quiet (support.wait_quiet), exact checks over everything the package
posted (support.assert_exact, support.assert_topics): every accepted complaint (202) is one intake complaint,
one dispatch case and exactly one work order (cycle 1), tracked by followup with exactly the timers its
deadlines imply, one reporting case with exactly three timeline events, counted once in every KPI
dimension; one event id per event on the topics; nothing else. The default SLA policy runs unscaled: the
first timer of these complaints is over an hour away, so none fires during the run.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.faults.support.checks import settle_and_check
from tests.faults.support.ledger import Ledger, record_accepted
from tests.support.complaint_streams import Poster, make_submissions
from tests.support.kafka import wait_until
from tests.support.platform import (
    SERVICES,
    Platform,
    kill_and_await_restart,
    log_lines,
    start_replica,
    stop_process,
    wait_service_ready,
)

pytestmark = pytest.mark.faults


async def test_each_service_killed_in_turn_mid_stream_loses_and_doubles_nothing(
    platform: Platform, ledger: Ledger
) -> None:
    """One stream of complaints; intake, dispatch, followup and reporting in turn get SIGKILL (mid-batch:
    consumers, relays and HTTP requests in flight) each 250 accepted after the one before was back, and the runner
    restarts each; the stream ends 250 after the last is back. Posting never stops: requests the dead intake
    dropped are retried with their key."""
    began = time.monotonic()
    subs = make_submissions("kill", 3000)
    poster = Poster(platform.url("intake"), subs, concurrency=16).start()
    kills = []
    try:
        for service in SERVICES:
            await poster.wait_accepted(poster.accepted + 250)
            at_kill = poster.accepted
            old_pid, new_pid, took = await kill_and_await_restart(platform, service)
            kills.append(f"{service} {old_pid}->{new_pid} at {at_kill} (successor after {took:.1f}s)")
        assert poster.accepted < len(subs), "the last kill came mid-stream"
        poster.stop_after(250)
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    output = platform.runner_output()
    for service in SERVICES:
        assert f"{service} exited unexpectedly (exit -9)" in output
        assert f"restarting {service} (attempt 1/5)" in output
    print(f"\n[kill] {'; '.join(kills)}; posting {poster.finished_at - poster.started_at:.1f}s; {poster.summary()}")
    await settle_and_check(platform, ledger, "kill", began)


async def test_second_replicas_join_and_leave_mid_stream_effects_stay_exactly_once(
    platform: Platform, ledger: Ledger
) -> None:
    """A second process of every service (same environment as the runner gives the first: same database,
    broker and consumer groups) joins mid-stream, takes a share of the partitions (dispatch's replica routes
    complaints, reporting's projects events), then leaves on SIGTERM mid-stream: two rebalances per group."""
    began = time.monotonic()
    subs = make_submissions("replicas", 3000)
    poster = Poster(platform.url("intake"), subs, concurrency=16, rate=50).start()
    replicas = {}
    try:
        await poster.wait_accepted(200)
        for name in ("dispatch", "followup", "reporting", "intake"):
            replicas[name] = start_replica(platform, name)
        await asyncio.gather(*(wait_service_ready(url, timeout=60) for _, url, _ in replicas.values()))
        joined = time.monotonic()

        async def replicas_share_the_work() -> bool:
            routed = log_lines(replicas["dispatch"][2], "complaint routed")
            body = await wait_service_ready(replicas["reporting"][1])
            return bool(routed) and body["events_projected"] > 0

        await wait_until(replicas_share_the_work, timeout=90, interval=0.3)
        sharing_after = time.monotonic() - joined
        left_at = poster.accepted
        poster.stop_after(400)  # the stream goes on while they leave, and a while after
        leaving = time.monotonic()
        codes = await asyncio.gather(*(asyncio.to_thread(stop_process, proc) for proc, _, _ in replicas.values()))
        left_in, gone_at = time.monotonic() - leaving, poster.accepted
        assert gone_at < poster.limit, "the replicas were gone before the stream ended"
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
        await asyncio.gather(*(asyncio.to_thread(stop_process, proc) for proc, _, _ in replicas.values()))
    # uvicorn re-raises the SIGTERM it handled once shut down, hence -15; a clean stop is in the log.
    assert set(codes) <= {0, -signal.SIGTERM}, f"replicas' exit codes: {dict(zip(replicas, codes, strict=True))}"
    for name, (_, _, log_path) in replicas.items():
        assert log_lines(log_path, "service stopped"), f"{name} replica did not shut down gracefully"
    assert poster.accepted == poster.limit
    routed_by_replica = len(log_lines(replicas["dispatch"][2], "complaint routed"))
    print(
        f"\n[replicas] sharing work {sharing_after:.1f}s after joining; leaving at {left_at} accepted, gone "
        f"{left_in:.1f}s later at {gone_at}, {poster.limit} posted in all; dispatch replica routed "
        f"{routed_by_replica}; {poster.summary()}"
    )
    await settle_and_check(platform, ledger, "replicas", began)
