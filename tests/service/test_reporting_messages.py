"""Issue 21 through Kafka into Postgres: notify's delivery reports (`notification.delivery`, group
`reporting.notifications`) become each case's messages with their latest status, one timeline line per message,
and the KPI "customers actually reached by message"; a rebuild from offset 0 gives the same rows. Compared on this
module's own cases and districts (the broker is shared)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.reporting.rebuild import rebuild
from shared.contracts import Event
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, wait_until
from tests.support.reporting import AGENT, MANAGER, fresh_database, running_reporting, wait_until_in_timeline
from tests.support.reporting_events.cases import T0, case_events
from tests.support.reporting_events.messages import delivery

DAY = T0.date().isoformat()


@pytest.fixture(scope="module")
async def served(migrated: Infrastructure) -> AsyncIterator[dict[str, Any]]:
    reached_district, silent_district = f"msg-{uuid.uuid4().hex[:8]}", f"quiet-{uuid.uuid4().hex[:8]}"
    rng = random.Random()
    cases = {
        name: case_events(rng.getrandbits(48), district=district)
        for name, district in (
            ("reached", reached_district),
            ("failed", reached_district),
            ("capped", reached_district),
            ("staff_only", silent_district),
        )
    }
    ids = {name: events[0].complaint_id for name, events in cases.items()}
    receipt, interim = uuid.uuid4(), uuid.uuid4()
    reports: list[Event] = [
        delivery(ids["reached"], receipt, "queued", 1, attempts=0),
        delivery(ids["reached"], receipt, "sent", 2),
        delivery(ids["reached"], receipt, "delivered", 3),
        delivery(ids["reached"], interim, "queued", 40, attempts=0, template="interim_reply", reason="quiet_hours"),
        delivery(ids["failed"], uuid.uuid4(), "failed", 9, attempts=12, reason="isv.MOBILE_NUMBER_ILLEGAL"),
        delivery(ids["capped"], uuid.uuid4(), "suppressed", 1, attempts=0, reason="daily_cap", channel=None),
        delivery(
            ids["staff_only"], uuid.uuid4(), "delivered", 1, template="escalation", kind="staff", channel="console"
        ),
    ]
    bootstrap = migrated.kafka_bootstrap_servers
    async with (
        fresh_database(migrated.database_url) as dsn,
        running_reporting(dsn, bootstrap) as (app, client),
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        # The delivery reports first: nothing to derive until each case's own events come.
        await publish(bootstrap, *reports)
        await publish(bootstrap, *(e for events in cases.values() for e in events))
        published = [*reports, *(e for events in cases.values() for e in events if e.event_type != "complaint.contact")]
        await wait_until_in_timeline(dsn, published)
        yield {
            "client": client,
            "ids": ids,
            "cases": cases,
            "districts": (reached_district, silent_district),
            "dsn": dsn,
            "bootstrap": bootstrap,
            "receipt": receipt,
        }


async def test_a_case_shows_each_message_once_with_its_latest_status(served: dict[str, Any]) -> None:
    ref = served["cases"]["reached"][0].payload.reference_no
    answer = await served["client"].get(f"/v1/cases/{ref}", headers=AGENT)
    assert answer.status_code == 200, answer.text
    case = answer.json()
    messages = {m["template_id"]: m for m in case["messages"]}
    assert set(messages) == {"complaint_received", "interim_reply"}
    receipt = messages["complaint_received"]
    assert (receipt["status"], receipt["channel"], receipt["attempts"], receipt["provider_message_id"]) == (
        "delivered",
        "sms",
        1,
        "vendor-1",
    )
    assert receipt["notification_id"] == str(served["receipt"])
    assert (messages["interim_reply"]["status"], messages["interim_reply"]["reason"]) == ("queued", "quiet_hours")
    lines = [e for e in case["timeline"] if e["event_type"] == "notification.delivery"]
    assert sorted((e["payload"]["template_id"], e["payload"]["status"]) for e in lines) == [
        ("complaint_received", "delivered"),
        ("interim_reply", "queued"),
    ], "one line per message, its latest status"
    assert all(e["actor"] == "system" for e in lines)


async def test_the_kpi_counts_customers_reached_by_message(served: dict[str, Any]) -> None:
    reached_district, silent_district = served["districts"]
    answer = await served["client"].get(
        "/v1/kpis", params={"from": DAY, "to": DAY, "group_by": "district"}, headers=MANAGER
    )
    assert answer.status_code == 200, answer.text
    rows = {r["key"]: r for r in answer.json()["rows"]}
    mine = rows[reached_district]
    # reached: delivered; failed: due but not reached; capped: suppressed, never due.
    assert (mine["received"], mine["messaged"], mine["reached_by_message"], mine["message_reach_rate"]) == (
        3,
        2,
        1,
        0.5,
    )
    silent = rows[silent_district]
    assert (silent["messaged"], silent["message_reach_rate"]) == (0, None), "only a staff notice: nothing due"
    csv = await served["client"].get(
        "/v1/kpis.csv", params={"from": DAY, "to": DAY, "group_by": "district"}, headers=MANAGER
    )
    assert csv.status_code == 200 and "message_reach_rate" in csv.text.splitlines()[0]


async def test_a_rebuild_from_offset_0_gives_the_same_messages_cases_and_kpis(served: dict[str, Any]) -> None:
    schema = f"reporting_check_{uuid.uuid4().hex[:8]}"
    await rebuild(served["dsn"], served["bootstrap"], schema, "Asia/Shanghai")
    ids = list(served["ids"].values())
    queries = {
        "messages": ("SELECT * FROM {s}.messages WHERE complaint_id = ANY($1) ORDER BY notification_id", ids),
        "cases": ("SELECT * FROM {s}.cases WHERE complaint_id = ANY($1) ORDER BY complaint_id", ids),
        "kpi_rollup": (
            "SELECT * FROM {s}.kpi_rollup WHERE dimension = 'district' AND key = ANY($1) ORDER BY key",
            list(served["districts"]),
        ),
    }
    conn = await asyncpg.connect(served["dsn"])
    try:
        for table, (sql, arg) in queries.items():
            live = [dict(r) for r in await conn.fetch(sql.format(s="reporting"), arg)]
            rebuilt = [dict(r) for r in await conn.fetch(sql.format(s=schema), arg)]
            assert live and rebuilt == live, table
        assert len(await conn.fetch(queries["messages"][0].format(s=schema), ids)) == 5
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
