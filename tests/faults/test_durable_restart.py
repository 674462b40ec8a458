"""Events outlive the platform: what intake published but dispatch had not consumed when `python -m embedded`
stopped is on Kafka, in the data folder, when the platform starts again on that folder, and gets routed
then, each complaint exactly once.

Dispatch is frozen (SIGSTOP) before anything is posted, so it consumes nothing: its consumers stop
heartbeating and hold no partition once their session expires. 200 complaints are accepted and intake's
relay publishes them (its outbox drains to empty). The platform is then stopped as Ctrl-C would: the runner
SIGTERMs every service, SIGKILLs the frozen dispatch after its grace (`PLATFORM_STOP_GRACE_S`, 3 s here rather
than the default 10: the wait proves nothing more), stops Kafka and Postgres. Started again
on the same data folder, dispatch finds its group's offsets where they were (nothing committed on
`complaint.received`) and routes the 200 complaints from the retained events.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from collections import defaultdict

import pytest

from shared import topics
from shared.kafka.admin import topic_partitions
from tests.faults.support.checks import settle_and_check
from tests.faults.support.kafka import committed_offsets, end_offsets, group_members, read_topics
from tests.faults.support.ledger import Ledger
from tests.faults.support.probes import (
    outbox_backlog,
    wait_for,
    wait_outbox_drained,
    work_orders_held,
    work_orders_per_complaint,
)
from tests.support.complaint_streams import Poster, make_submissions
from tests.support.identity import IdentityProvider
from tests.support.kafka import wait_until
from tests.support.platform import Platform, start_platform, stop_platform

pytestmark = [pytest.mark.faults, pytest.mark.timeout(480)]

COMPLAINTS = 200
DISPATCH_GROUP = "dispatch.complaint-received"


async def _group_empty(bootstrap: str) -> bool:
    return await group_members(bootstrap, DISPATCH_GROUP) == 0


async def test_events_published_but_not_consumed_when_the_platform_stops_are_routed_after_a_restart(
    identity_provider: IdentityProvider,
) -> None:
    began = time.monotonic()
    # The session's Keycloak, not one per start: the identity provider is not what this test restarts.
    identity = identity_provider.platform_env()
    first = await asyncio.to_thread(start_platform, extra_env={**identity, "PLATFORM_STOP_GRACE_S": "3"})
    workdir = first.workdir
    second: Platform | None = None
    try:
        frozen = first.service("dispatch")
        assert frozen is not None, first.output_tail()
        frozen.send_signal(signal.SIGSTOP)
        subs = make_submissions("durable", COMPLAINTS)
        poster = Poster(first.url("intake"), subs, concurrency=8).start()
        await poster.wait()
        assert dict(poster.statuses) == {202: COMPLAINTS}, poster.summary()
        ledger = Ledger()
        ledger.add(subs)

        await wait_outbox_drained(first, "intake")
        assert await work_orders_held(first) == 0, "dispatch routed nothing"
        # On Kafka and unconsumed: the 200 events are on complaint.received, and dispatch's group has committed
        # none of them.
        received = await read_topics(first.bootstrap, [topics.COMPLAINT_RECEIVED])
        assert sorted(r.key.decode() for r in received) == sorted(ledger.channels)
        partitions = await topic_partitions(first.bootstrap, [topics.COMPLAINT_RECEIVED])
        ends = await end_offsets(first.bootstrap, partitions)
        committed = await committed_offsets(first.bootstrap, DISPATCH_GROUP, partitions)
        assert sum(ends.values()) - sum(committed.values()) == COMPLAINTS, (ends, committed)
        # The frozen consumers' sessions expire: the group is empty before the stop, as after a crash long enough
        # ago (a member still counted would hold the restarted dispatch's join until its session ran out again).
        await wait_until(lambda: _group_empty(first.bootstrap), timeout=60, interval=0.5)
        published = time.monotonic()

        # Ctrl-C with dispatch still frozen: it cannot handle SIGTERM, so the runner SIGKILLs it after the grace.
        before = len(first.runner_output())
        await asyncio.to_thread(stop_platform, first, keep_data=True)
        stopping = first.runner_output()[before:]
        assert first.proc.returncode == 0, stopping
        assert "dispatch did not stop within 3s; killing it" in stopping, stopping
        stopped = time.monotonic()

        second = await asyncio.to_thread(start_platform, workdir=workdir, extra_env=identity)
        starting = second.runner_output()[before + len(stopping) :]
        assert ", 0 new, " in starting, f"Kafka came back with every topic (none created):\n{starting}"
        restarted = time.monotonic()

        assert await outbox_backlog(second, "intake") == 0, "nothing left for intake to publish"
        await wait_for(second, "all routed", work_orders_held, COMPLAINTS)
        # Routed in the database first; the outbox relay puts the events on Kafka just after.
        await wait_outbox_drained(second, "dispatch")
        assert await work_orders_per_complaint(second) == dict.fromkeys(ledger.channels, 1)
        routed = time.monotonic()

        events: dict[str, set[str]] = defaultdict(set)
        for r in await read_topics(second.bootstrap, [topics.COMPLAINT_ROUTED]):
            events[r.key.decode()].add(json.loads(r.value)["event_id"])
        assert {k: len(v) for k, v in events.items()} == dict.fromkeys(ledger.channels, 1), (
            "one complaint.routed event per complaint"
        )
        print(
            f"\n[durable-restart] {COMPLAINTS} published with dispatch frozen {published - began:.1f}s in; "
            f"platform stopped in {stopped - published:.1f}s, started again on its data in "
            f"{restarted - stopped:.1f}s; all routed {routed - restarted:.1f}s later"
        )
        # The rest, exactly once: dispatch cases, followup's timers and contacts, reporting's cases, timelines
        # and KPIs, one event id per event on every topic.
        await settle_and_check(second, ledger, "durable-restart", began)
    finally:
        for platform in (second, first):
            if platform is not None and platform.proc.poll() is None:
                await asyncio.to_thread(stop_platform, platform, keep_data=True)
        shutil.rmtree(workdir, ignore_errors=True)
