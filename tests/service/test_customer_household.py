"""Issue 23, must-show 6: a 12345 ticket with no account, from a phone that complained last week, appears in that
household's archive and counts as a repeat — through intake (the customer matched by phone), dispatch (the
household's third billing complaint in 30 days: serious) and reporting (the account's archive, the lookup by phone
and by the address typed another way), all in-process on the session's Kafka and Postgres.

"Last week": the household's two earlier complaints were received by the channel seven days ago (`received_at`);
intake accepts them now (a service cannot be handed an acceptance time), which is inside the 30-day window as a
week ago would be."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.dispatch.consumers import SUBSCRIPTIONS as DISPATCH
from services.intake.consumers import SUBSCRIPTIONS as INTAKE
from services.reporting.consumers import SUBSCRIPTIONS as REPORTING
from shared import topics
from tests.support.complaints import complaint, headers
from tests.support.dispatch import running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import produce, start_groups_at_end, wait_until
from tests.support.reporting import MANAGER, running_reporting

BILL = "这个月取暖费账单比去年多了一倍，要求核实。"


async def _settled_on_the_phone_last_week(intake: httpx.AsyncClient, customer: dict[str, Any], address: str) -> str:
    """A billing complaint the agent settled on the call (no work order stays open to link a later one to)."""
    body = complaint(
        "phone",
        customer=customer,
        location={"address": address, "district": "heping"},
        text=BILL,
        category_hint="billing",
        received_at=(datetime.now(UTC) - timedelta(days=7)).isoformat(),
        agent_id="agent-0042",
        handled_on_contact="已向用户解释账单构成",
    )
    response = await intake.post("/v1/complaints", json=body, headers=headers("phone"))
    assert response.status_code == 202, response.text
    return str(response.json()["complaint_id"])


async def _dispatched(db: asyncpg.Pool, complaint_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT severity, reasons, household FROM dispatch.cases WHERE complaint_id = $1", uuid.UUID(complaint_id)
    )


async def test_a_12345_ticket_without_account_from_last_weeks_phone_is_in_the_household_and_a_repeat(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    database, kafka, tag = migrated.database_url, migrated.kafka_bootstrap_servers, uuid.uuid4().hex[:8]
    account, phone = f"HH-{tag}", f"135{uuid.uuid4().int % 10**8:08d}"
    home = f"和平区长青{tag}小区3号楼2单元301室"
    groups = {name: f"household-{tag}-{name}" for name in ("intake", "dispatch", "reporting")}
    for name, subscriptions in (("intake", INTAKE), ("dispatch", DISPATCH), ("reporting", REPORTING)):
        await start_groups_at_end(kafka, subscriptions, groups[name])
    async with (
        running_dispatch(database, kafka, dispatch_consumer_group=groups["dispatch"]),
        running_reporting(database, kafka, reporting_consumer_group=groups["reporting"]) as (_, reporting),
        running_intake(database, kafka, intake_consumer_group=groups["intake"]) as (_, intake),
    ):
        customer = {"account_no": account, "name": "王小明", "phone": phone, "preferred_contact": "phone"}
        earlier = [await _settled_on_the_phone_last_week(intake, customer, home) for _ in range(2)]
        for complaint_id in earlier:  # routed before the ticket arrives, as last week's would have been
            await wait_until(lambda: _dispatched(db, complaint_id), timeout=30)  # noqa: B023
        ticket_id = f"12345-{tag}"
        ticket = {
            "source": "12345",
            "ticket_id": ticket_id,
            "received_at": datetime.now(UTC).isoformat(),
            "caller_phone": phone,  # no account: 12345 does not know it
            "address": f"长青{tag}小区 3-2-301",
            "district": "heping",
            "content": BILL,
            "category_hint": "billing",
        }
        await produce(kafka, topics.PARTNER_TICKETS, [(ticket_id.encode(), json.dumps(ticket).encode())])

        async def ticket_case() -> str | None:
            return await db.fetchval(
                "SELECT complaint_id::text FROM intake.complaints WHERE channel = 'partner_12345' "
                "AND channel_ticket_id = $1",
                ticket_id,
            )

        ticket_complaint = await wait_until(ticket_case, timeout=30)
        routed = await wait_until(lambda: _dispatched(db, ticket_complaint), timeout=30)

        # Intake: one customer, the ticket matched by the phone.
        matched = await db.fetch(
            "SELECT complaint_id::text, customer_id FROM intake.complaints WHERE complaint_id = ANY($1::uuid[])",
            [*earlier, ticket_complaint],
        )
        assert len({r["customer_id"] for r in matched}) == 1

        # Dispatch: the household's third billing complaint in the window, so serious; in the account's household.
        assert routed["household"] == account
        assert routed["severity"] == "serious", (routed, [await _dispatched(db, c) for c in earlier])
        assert any("repeat complaint (3rd billing complaint" in reason for reason in routed["reasons"]), routed

        # Reporting: in the account's archive, and found by the phone and by the address however it is typed.
        async def archive() -> dict[str, Any] | None:
            answer = await reporting.get(f"/v1/households/{account}/cases", headers=MANAGER)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            return body if body["total"] == 3 else None

        listed = await wait_until(archive, timeout=30)
        assert {i["complaint_id"] for i in listed["items"]} == {*earlier, ticket_complaint}
        for query in ({"phone": phone}, {"address": f"长青{tag}小区3号楼2单元301室"}):
            found = await reporting.get("/v1/households/lookup", params=query, headers=MANAGER)
            assert found.status_code == 200, found.text
            assert {i["complaint_id"] for i in found.json()["items"]} == {*earlier, ticket_complaint}, query
            assert found.json()["accounts"] == [account]
