"""Exact checks for a storm (one fault, many callers), after `wait_quiet`: one incident, one work order for it,
each caller linked once and told once; after its resolution, one fault_fixed and one callback per caller. Events
are counted by event id, so a redelivered copy (same id) is allowed and a doubled effect (a second id) is not."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any

import asyncpg

from shared import topics
from tests.faults.support.kafka import read_topics
from tests.faults.support.ledger import Ledger
from tests.support.platform import Platform

JOINED_TEMPLATES = ("group_joined", "group_joined_no_eta")


async def _event_ids(platform: Platform, names: list[str]) -> dict[tuple[str, str, str], set[str]]:
    """(topic, key, event type) → the distinct event ids published."""
    found: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for record in await read_topics(platform.bootstrap, names):
        event = json.loads(record.value)
        found[(record.topic, (record.key or b"").decode(), event["event_type"])].add(event["event_id"])
    return found


def _once_each(found: dict[tuple[str, str, str], set[str]], topic: str, event_type: str, keys: set[str]) -> None:
    counts = {k: len(found.get((topic, k, event_type), ())) for k in keys}
    wrong = {k: n for k, n in counts.items() if n != 1}
    assert not wrong, f"{event_type} not exactly once for {len(wrong)} of {len(keys)}: {list(wrong.items())[:5]}"


async def assert_storm_linked_once(platform: Platform, ledger: Ledger, compound: str, threshold: int) -> dict[str, Any]:
    callers = {uuid.UUID(c) for c in ledger.channels}
    n = len(callers)
    conn = await asyncpg.connect(platform.dsn)
    try:
        incidents = await conn.fetch("SELECT * FROM dispatch.incidents")
        assert len(incidents) == 1, f"{len(incidents)} incidents for one fault: {[dict(i) for i in incidents]}"
        incident = incidents[0]
        assert incident["compound"] == compound.removesuffix("小区") and incident["status"] == "open"
        assert (incident["complaint_count"], incident["households"]) == (n, n), dict(incident)
        linked = await conn.fetch("SELECT complaint_id, incident_id FROM dispatch.cases")
        assert {r["complaint_id"] for r in linked} == callers
        assert {r["incident_id"] for r in linked} == {incident["incident_id"]}
        orders = await conn.fetch("SELECT * FROM dispatch.work_orders")
        of_incident = [o for o in orders if o["incident_id"] == incident["incident_id"]]
        assert len(of_incident) == 1 and of_incident[0]["work_order_id"] == incident["work_order_id"]
        own = [o for o in orders if o["incident_id"] is None]
        # The households before the threshold had work orders of their own: each merged, none since.
        assert len(own) == threshold - 1, [dict(o) for o in own]
        assert {(o["status"], o["closing_reason"]) for o in own} == {
            ("reassigned", f"merged into incident {incident['reference_no']}")
        }
        told = await conn.fetch(
            "SELECT complaint_id, count(*) AS n FROM followup.notifications WHERE template_id = ANY($1::text[]) "
            "GROUP BY complaint_id",
            list(JOINED_TEMPLATES),
        )
        assert {r["complaint_id"] for r in told} == callers and {r["n"] for r in told} == {1}, "one message each"
        assert await conn.fetchval("SELECT count(*) FROM followup.callers") == n
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM followup.escalations WHERE complaint_id <> $1", incident["incident_id"]
            )
            == 0
        )
    finally:
        await conn.close()
    found = await _event_ids(platform, [topics.COMPLAINT_ROUTED, topics.INCIDENT_EVENTS])
    keys = {str(c) for c in callers}
    _once_each(found, topics.COMPLAINT_ROUTED, "complaint.joined", keys)
    key = str(incident["incident_id"])
    assert len(found[(topics.INCIDENT_EVENTS, key, "incident.opened")]) == 1
    links = len(found[(topics.INCIDENT_EVENTS, key, "incident.complaint_linked")])
    assert links == n, f"{links} incident.complaint_linked events for {n} callers"
    return {"callers": n, "incident": incident["reference_no"], "merged": len(own)}


async def assert_each_caller_called_back_once(platform: Platform, ledger: Ledger) -> dict[str, Any]:
    callers = {uuid.UUID(c) for c in ledger.channels}
    conn = await asyncpg.connect(platform.dsn)
    try:
        (incident,) = await conn.fetch("SELECT * FROM dispatch.incidents")
        assert incident["status"] == "resolved"
        callbacks = await conn.fetch("SELECT complaint_id, work_order_id FROM followup.callbacks")
        per_caller: dict[uuid.UUID, int] = defaultdict(int)
        for row in callbacks:
            per_caller[row["complaint_id"]] += 1
        assert set(per_caller) == callers and set(per_caller.values()) == {1}, "one callback per caller, no other"
        assert {r["work_order_id"] for r in callbacks} == {incident["work_order_id"]}
        fixed = await conn.fetchval(
            "SELECT count(DISTINCT complaint_id) FROM followup.notifications WHERE template_id = 'fault_fixed'"
        )
        assert fixed == len(callers)
    finally:
        await conn.close()
    found = await _event_ids(platform, [topics.COMPLAINT_ROUTED, topics.CALLBACK_EVENTS])
    keys = {str(c) for c in callers}
    _once_each(found, topics.COMPLAINT_ROUTED, "complaint.fault_fixed", keys)
    _once_each(found, topics.CALLBACK_EVENTS, "callback.scheduled", keys)
    return {"callbacks": len(callbacks)}
