"""Fault suite, the database: PostgreSQL restarted mid-stream (fast shutdown of the postmaster; the runner
starts it again on the same port and data), then reporting rebuilt from offset 0 against its live read
models. Its own platform: a database restart the services do not recover from would leave nothing for the
other scenarios. Exact checks after the stream as described in test_process_faults.py.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.support.checks import assert_no_personal_data, assert_rebuild_equals_live, settle_and_check
from tests.faults.support.ledger import Ledger, record_accepted
from tests.support.complaint_streams import Poster, make_submissions
from tests.support.platform import Platform, restart_postgres

pytestmark = pytest.mark.faults


async def test_postgres_restarted_mid_stream_services_recover_nothing_lost_or_doubled(
    platform: Platform, ledger: Ledger
) -> None:
    """At 600 of 2,000 accepted, the postmaster gets SIGINT (fast shutdown: open transactions aborted,
    every connection closed) and the runner starts it again. Intake may answer 503 meanwhile: the poster
    retries those with the same Idempotency-Key and counts only 202s. No service may die of it: their pools
    reconnect, consumers redeliver what failed, relays and the timer worker carry on."""
    began = time.monotonic()
    subs = make_submissions("postgres", 2000)
    poster = Poster(platform.url("intake"), subs, concurrency=16).start()
    try:
        await poster.wait_accepted(600)
        at_restart = poster.accepted
        old_pid, new_pid, took = await restart_postgres(platform)
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    print(
        f"\n[postgres] postmaster {old_pid} -> {new_pid} at {at_restart}/{len(subs)} accepted, accepting again "
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


async def test_reporting_rebuilt_from_offset_zero_equals_the_live_read_models(
    platform: Platform, ledger: Ledger
) -> None:
    assert len(ledger) > 0, "runs after the module's scenarios"
    await assert_rebuild_equals_live(platform, ledger)


async def test_no_phone_or_name_in_any_log_dead_letter_or_shared_topic(platform: Platform, ledger: Ledger) -> None:
    """Runs last: after every fault of the module (crash tracebacks, outage retries, dead letters)."""
    print(f"\n[privacy] {await assert_no_personal_data(platform, ledger)}")
