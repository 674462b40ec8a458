"""A storm under faults: 500 households of one compound call about the heat while dispatch is killed, a second
dispatch process joins, and followup is killed; then the incident's work order is resolved and followup is killed
again while it calls everyone back. Once quiet, exactly: one incident, one work order for it (the households
before the threshold merged into it), each caller linked and told once; then one fault_fixed and one callback
per caller (support/incident_checks.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.dispatch.incidents.policy import load_incident_rules
from tests.faults.support.checks import wait_quiet
from tests.faults.support.incident_checks import assert_each_caller_called_back_once, assert_storm_linked_once
from tests.faults.support.ledger import Ledger, record_accepted
from tests.support.client import PlatformClient
from tests.support.complaint_streams import Poster, make_storm_submissions
from tests.support.dispatch import serious_resolution
from tests.support.platform import (
    Platform,
    kill_and_await_restart,
    start_replica,
    stop_process,
    wait_service_ready,
)

pytestmark = pytest.mark.faults


async def test_a_storm_under_faults_is_one_incident_each_caller_linked_told_and_called_back_once(
    platform: Platform, ledger: Ledger
) -> None:
    began = time.monotonic()
    subs, compound = make_storm_submissions("storm", 500)
    poster = Poster(platform.url("intake"), subs, concurrency=16, rate=60).start()
    replica = None
    try:
        await poster.wait_accepted(100)
        await kill_and_await_restart(platform, "dispatch")
        await poster.wait_accepted(200)
        replica = start_replica(platform, "dispatch")
        await wait_service_ready(replica[1], timeout=60)
        await poster.wait_accepted(300)
        await kill_and_await_restart(platform, "followup")
        await poster.wait()
    finally:
        await record_accepted(platform, ledger, poster)
    await wait_quiet(platform, timeout=120)
    if replica is not None:
        await asyncio.to_thread(stop_process, replica[0])
    linked = await assert_storm_linked_once(platform, ledger, compound, load_incident_rules().threshold_households)

    async with PlatformClient(platform) as client:
        (incident,) = await client.incidents(status="open")
        order = incident["work_order_id"]
        await client.acknowledge(order)
        await client.start(order)
        await client.resolve(
            order,
            serious_resolution(
                "循环泵更换",
                "repair.pump_failure",
                analysis="循环泵轴承磨损未在检修计划内",
                action="换热站循环泵纳入季度检修",
                owner="热力二所",
            ),
        )
    await kill_and_await_restart(platform, "followup")  # while it schedules 500 callbacks
    await wait_quiet(platform, timeout=120)
    called = await assert_each_caller_called_back_once(platform, ledger)
    print(f"\n[storm] {time.monotonic() - began:.1f}s; {linked}; {called}; {poster.summary()}")
