"""The projection use case through the door over an in-memory store: idempotent, independent of how events are
batched, contact data kept out of the timeline, and the consumers' batches counted once they committed."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest

from services.reporting import metrics
from services.reporting.case_state import CaseState, TimelineEvent, derive
from services.reporting.consumers import SUBSCRIPTIONS
from services.reporting.handlers import ReportingContext, project_delivered
from services.reporting.handlers import cases as cases_handler
from shared.handling import Door
from shared.observability import committed
from tests.fakes.reporting import InMemoryTransactions
from tests.support.reporting_events.cases import case_events
from tests.unit.reporting.door import project_through

CN = ZoneInfo("Asia/Shanghai")
EVENTS = [
    *case_events(1),
    *case_events(2, district="tiexi"),
    *case_events(3, department="billing"),
]


async def test_a_redelivered_batch_changes_nothing() -> None:
    tx = InMemoryTransactions()
    assert await project_through(tx, EVENTS) == len(EVENTS) - 3  # contacts are not timeline
    before = tx.tables
    assert await project_through(tx, EVENTS[::2]) == 0
    assert tx.tables == before


async def test_batching_and_order_do_not_change_the_tables() -> None:
    """What a rebuild relies on: its batches and interleaving differ from the live consumer's."""
    at_once = InMemoryTransactions()
    await project_through(at_once, EVENTS)
    rng = random.Random(11)
    for _ in range(5):
        shuffled = EVENTS[:]
        rng.shuffle(shuffled)
        piecewise = InMemoryTransactions()
        for start in range(0, len(shuffled), 4):
            await project_through(piecewise, shuffled[start : start + 4])
        assert piecewise.tables.kpi_rollup == at_once.tables.kpi_rollup
        assert piecewise.tables.handling == at_once.tables.handling
        assert piecewise.tables.hotspots == at_once.tables.hotspots
        assert piecewise.tables.cases == at_once.tables.cases


async def test_contacts_go_to_the_restricted_table_only() -> None:
    tx = InMemoryTransactions()
    await project_through(tx, case_events(1))
    assert [c.phone for c in tx.tables.contacts.values()] == ["13900000000"]
    assert all(e.event_type != "complaint.contact" for e in tx.tables.timeline.values())
    assert "13900000000" not in repr([e.payload for e in tx.tables.timeline.values()])


async def test_the_kpi_rollups_count_each_case_once_per_dimension() -> None:
    tx = InMemoryTransactions()
    await project_through(tx, EVENTS)
    by_dimension: dict[str, int] = {}
    for (dimension, _day, _key), row in tx.tables.kpi_rollup.items():
        by_dimension[dimension] = by_dimension.get(dimension, 0) + row[0]  # received
    assert by_dimension == {"department": 3, "category": 3, "channel": 3, "district": 3, "all": 3}
    assert {key for (dimension, _, key) in tx.tables.kpi_rollup if dimension == "district"} == {"heping", "tiexi"}


async def test_the_consumers_batches_are_counted_once_committed() -> None:
    """Both subscriptions run `project_delivered` batched through the door; what a batch held and what was new
    reaches the app's stats (readiness) only as the committed unit of work's noted facts."""
    assert all(s.handler is project_delivered and s.batched for s in SUBSCRIPTIONS)
    context = ReportingContext(CN)
    door = Door(InMemoryTransactions(), context)
    with committed.collecting() as noted:
        await door.batch(project_delivered, EVENTS, consumer=SUBSCRIPTIONS[0].consumer)
        await door.batch(project_delivered, EVENTS, consumer=SUBSCRIPTIONS[0].consumer)  # a redelivery
        assert context.stats == {"events_seen": 0, "events_projected": 0}
    metrics.count_committed(noted)
    assert context.stats == {"events_seen": 2 * len(EVENTS), "events_projected": len(EVENTS) - 3}


async def test_a_batch_holding_several_events_of_one_case_derives_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Projection is per case, not per event: a batch with a case's five events reads its timeline, derives it and
    saves its row once (and the case comes out as it does event by event)."""
    derived: list[str] = []

    def counted(complaint_id: str, timeline: list[TimelineEvent]) -> CaseState:
        derived.append(complaint_id)
        return derive(complaint_id, timeline)

    monkeypatch.setattr(cases_handler, "derive", counted)
    one_case = case_events(4)
    at_once = InMemoryTransactions()
    await project_through(at_once, one_case)
    assert derived == [str(one_case[0].complaint_id)]
    one_by_one = InMemoryTransactions()
    for event in one_case:
        await project_through(one_by_one, [event])
    assert one_by_one.tables == at_once.tables
