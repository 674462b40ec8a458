"""Fault suite, the database: PostgreSQL restarted mid-stream (fast shutdown of the postmaster; the runner
starts it again on the same port and data). On the package's platform, after the broker's faults; exact checks
after the stream as described in test_process_faults.py.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.support.checks import settle_and_check
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
