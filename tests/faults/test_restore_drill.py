"""The restore drill (issue 26): Postgres lost and restored from a base backup older than what Kafka holds.

A base backup is taken of the running platform (`python -m operations.backup base`), then 200 complaints are
accepted and routed. The platform stops, its database is replaced by the backup (`... backup restore`): the 200
complaints, their reference numbers, customers and work orders are gone from Postgres but their events are on
Kafka. With Postgres and Kafka up and no service running, `python -m operations.reconcile` moves the reference
sequences past the numbers published, puts back the complaints intake lost and rewinds every consumer group to the
backup. The platform then starts and 200 more complaints come in. Afterwards: no reference number was issued twice,
every complaint on `complaint.received` is known to intake and to dispatch, with one work order each, and followup
keeps one work order's clocks for each.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime

import pytest

from shared import topics
from tests.faults.support.kafka import read_topics
from tests.faults.support.probes import (
    followup_work_orders_held,
    followup_work_orders_per_complaint,
    intake_references,
    wait_for,
    wait_outbox_drained,
    work_orders_held,
    work_orders_per_complaint,
)
from tests.support.complaint_streams import Poster, make_submissions
from tests.support.identity import IdentityProvider
from tests.support.platform import ROOT, Platform, start_platform, stop_platform

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

COMPLAINTS = 200


def operate(module: str, *args: str, platform: Platform | None = None) -> str:
    """Run `python -m operations.<module>` as an operator would, against `platform`; returns its output."""
    env = dict(os.environ)
    if platform is not None:
        env |= {"DATABASE_URL": platform.dsn, "KAFKA_BOOTSTRAP_SERVERS": platform.bootstrap}
    result = subprocess.run(
        [sys.executable, "-m", f"operations.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"operations.{module} {args}: exit {result.returncode}\n{result.stderr}"
    return result.stdout


async def post_and_route(platform: Platform, prefix: str, expected_total: int) -> list[str]:
    """Post COMPLAINTS complaints, wait until dispatch holds `expected_total` work orders and its relay drained."""
    subs = make_submissions(prefix, COMPLAINTS)
    poster = Poster(platform.url("intake"), subs, concurrency=8).start()
    await poster.wait()
    assert dict(poster.statuses) == {202: COMPLAINTS}, poster.summary()
    await wait_for(platform, "all routed", work_orders_held, expected_total)
    await wait_outbox_drained(platform, "dispatch")
    return [str(s.complaint_id) for s in subs]


async def test_a_database_restored_from_an_older_backup_is_reconciled_with_kafka(
    identity_provider: IdentityProvider,
) -> None:
    identity = identity_provider.platform_env()
    first = await asyncio.to_thread(start_platform, extra_env=identity)
    workdir, backup = first.workdir, first.workdir / "backup"
    running: list[Platform] = [first]
    try:
        operate("backup", "base", "--to", str(backup), platform=first)
        started = datetime.fromisoformat(json.loads((backup / "backup.json").read_text())["started_at"])
        before = await post_and_route(first, "restore-a", COMPLAINTS)
        assert len(await intake_references(first)) == COMPLAINTS
        began = time.monotonic()
        await asyncio.to_thread(stop_platform, first, keep_data=True)

        out = operate("backup", "restore", "--backup", str(backup), "--data-dir", str(first.data_dir / "postgres"))
        assert "the old data is kept in" in out, out
        tools = await asyncio.to_thread(start_platform, workdir=workdir, extra_env=identity, infrastructure_only=True)
        running.append(tools)
        assert await intake_references(tools) == {}, "the backup predates every complaint"
        out = operate("reconcile", "--since", started.isoformat(), "--execute", platform=tools)
        assert f"{COMPLAINTS} complaints unknown to the restored intake put back" in out, out
        assert "group dispatch.complaint-received: 12 partitions rewound" in out, out
        await asyncio.to_thread(stop_platform, tools, keep_data=True)
        reconciled = time.monotonic()

        second = await asyncio.to_thread(start_platform, workdir=workdir, extra_env=identity)
        running.append(second)
        # Dispatch read complaint.received again from the backup: the first 200 are routed anew, once each.
        await wait_for(second, "the first complaints routed again", work_orders_held, COMPLAINTS)
        after = await post_and_route(second, "restore-b", 2 * COMPLAINTS)
        restored = time.monotonic()

        received = await read_topics(second.bootstrap, [topics.COMPLAINT_RECEIVED])
        published: dict[str, set[str]] = {}
        for record in received:
            payload = json.loads(record.value)["payload"]
            published.setdefault(payload["reference_no"], set()).add(payload["complaint_id"])
        reused = {reference: ids for reference, ids in published.items() if len(ids) > 1}
        assert not reused, f"reference numbers issued twice: {reused}"
        on_kafka = {complaint_id for ids in published.values() for complaint_id in ids}
        assert on_kafka == set(before) | set(after)
        known = await intake_references(second)
        assert set(known) == on_kafka, "intake knows every complaint on complaint.received"
        assert {known[c] for c in on_kafka} == set(published), "with the reference number published"
        assert await work_orders_per_complaint(second) == dict.fromkeys(on_kafka, 1), "one work order each"
        # Followup, rewound too, read the first 200 work orders twice: as published before the loss and as dispatch
        # made them again. Made again under the same ids (`derived_id`), they are one work order each to it.
        await wait_for(second, "followup has every work order", followup_work_orders_held, 2 * COMPLAINTS)
        assert await followup_work_orders_per_complaint(second) == dict.fromkeys(on_kafka, 1), "one set of clocks each"
        print(
            f"\n[restore-drill] stop, restore and reconcile took {reconciled - began:.1f}s; "
            f"{2 * COMPLAINTS} complaints routed {restored - reconciled:.1f}s after"
        )
    finally:
        for platform in reversed(running):
            if platform.proc.poll() is None:
                await asyncio.to_thread(stop_platform, platform, keep_data=True)
        shutil.rmtree(workdir, ignore_errors=True)
