"""The projection handler over an in-memory store: idempotent, independent of how events are batched,
and contact data kept out of the timeline."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

from services.reporting.handlers import project
from tests.fakes.reporting import InMemoryTransactions
from tests.unit.reporting.case_events import case_events

CN = ZoneInfo("Asia/Shanghai")
EVENTS = [
    *case_events(1),
    *case_events(2, district="tiexi"),
    *case_events(3, department="billing"),
]


async def test_a_redelivered_batch_changes_nothing() -> None:
    tx = InMemoryTransactions()
    assert await project(EVENTS, transactions=tx, timezone=CN) == len(EVENTS) - 3  # contacts are not timeline
    before = tx.tables
    assert await project(EVENTS[::2], transactions=tx, timezone=CN) == 0
    assert tx.tables == before


async def test_batching_and_order_do_not_change_the_tables() -> None:
    """What a rebuild relies on: its batches and interleaving differ from the live consumer's."""
    at_once = InMemoryTransactions()
    await project(EVENTS, transactions=at_once, timezone=CN)
    rng = random.Random(11)
    for _ in range(5):
        shuffled = EVENTS[:]
        rng.shuffle(shuffled)
        piecewise = InMemoryTransactions()
        for start in range(0, len(shuffled), 4):
            await project(shuffled[start : start + 4], transactions=piecewise, timezone=CN)
        assert piecewise.tables.kpi_rollup == at_once.tables.kpi_rollup
        assert piecewise.tables.handling == at_once.tables.handling
        assert piecewise.tables.hotspots == at_once.tables.hotspots
        assert piecewise.tables.cases == at_once.tables.cases


async def test_contacts_go_to_the_restricted_table_only() -> None:
    tx = InMemoryTransactions()
    await project(case_events(1), transactions=tx, timezone=CN)
    assert [c.phone for c in tx.tables.contacts.values()] == ["13900000000"]
    assert all(e.event_type != "complaint.contact" for e in tx.tables.timeline.values())
    assert "13900000000" not in repr([e.payload for e in tx.tables.timeline.values()])


async def test_the_kpi_rollups_count_each_case_once_per_dimension() -> None:
    tx = InMemoryTransactions()
    await project(EVENTS, transactions=tx, timezone=CN)
    by_dimension: dict[str, int] = {}
    for (dimension, _day, _key), row in tx.tables.kpi_rollup.items():
        by_dimension[dimension] = by_dimension.get(dimension, 0) + row[0]  # received
    assert by_dimension == {"department": 3, "category": 3, "channel": 3, "district": 3, "all": 3}
    assert {key for (dimension, _, key) in tx.tables.kpi_rollup if dimension == "district"} == {"heping", "tiexi"}
