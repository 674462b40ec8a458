"""Persons in reporting over real Postgres and Kafka (reporting in-process, trusting a local token issuer): the
case timeline names the person at each step, the per-staff report puts one person's cases owned, work orders
resolved and callbacks done on one row, an agent looks a caller's household up by phone, account or address, and a
person always sees customers' contact data masked (a reader key with a contact role still sees it), and a department
person's lists (queues, overdue, exports, households, serious cases) hold only their own department's work while a
single case by reference stays readable.

The day is one no other test uses (2025-07-15, Asia/Shanghai), so the per-staff rows of that day are the script's.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.contracts import ComplaintRouted, Department, Event, WorkOrderAssigned
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, wait_until
from tests.support.reporting import AGENT, MANAGER, fresh_database, running_reporting
from tests.support.reporting_events.persons import CHEN, LI, ZHAO, Household, household_events
from tests.support.tokens import LocalIssuer

T0 = datetime(2025, 7, 15, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
DAY = {"from": "2025-07-15", "to": "2025-07-15"}
ISSUER = LocalIssuer()


def bearer(staff_id: str, name: str, *roles: str, **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.mint(staff_id, roles=roles, name=name, **claims)}"}


# Minted when used, not at import: a token lives 300 s, and the whole suite runs far longer than that.
def agent_li() -> dict[str, str]:
    return bearer(*LI, "agent", department="customer_service")


def supervisor() -> dict[str, str]:
    return bearer("supervisor.wu", "吴静", "supervisor")


def dispatcher() -> dict[str, str]:
    return bearer(*ZHAO, "dispatcher", department="repair")


def billing_dispatcher() -> dict[str, str]:
    return bearer("billing.sun", "孙丽", "dispatcher", department="billing")


def billing_manager() -> dict[str, str]:
    return bearer("billing.boss", "钱亮", "department_manager", department="billing")


def billing_case(other: Household) -> list[Event]:
    """Another household's open case (its `waiting` one) routed to billing instead: the script's routing and
    assignment with the department changed, nothing else."""

    def to_billing(event: Event) -> Event:
        if isinstance(event, ComplaintRouted | WorkOrderAssigned):
            return event.model_copy(
                update={"payload": event.payload.model_copy(update={"department": Department.BILLING})}
            )
        return event

    return [to_billing(e) for e in household_events(other, T0) if e.complaint_id == other.waiting]


@pytest.fixture(scope="module")
async def served(migrated: Infrastructure) -> AsyncIterator[dict[str, Any]]:
    household = Household(random.randrange(10_000_000, 99_999_999))
    billed = Household(household.n + 1 if household.n < 99_999_999 else household.n - 1)
    published = [*household_events(household, T0), *billing_case(billed)]
    bootstrap = migrated.kafka_bootstrap_servers
    async with (
        fresh_database(migrated.database_url) as dsn,
        running_reporting(dsn, bootstrap, clock=lambda: T0 + timedelta(hours=10), persons=ISSUER.verifier()) as (
            app,
            client,
        ),
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        await publish(bootstrap, *published)
        conn = await asyncpg.connect(dsn)
        try:

            async def projected() -> bool:
                timeline = await conn.fetchval(
                    "SELECT count(*) FROM reporting.timeline WHERE event_id = ANY($1::uuid[])",
                    [e.event_id for e in published],
                )
                contacts = await conn.fetchval(
                    "SELECT count(*) FROM reporting.contacts WHERE complaint_id = ANY($1::uuid[])",
                    [household.worked, household.waiting, household.elsewhere, billed.waiting],
                )
                return timeline + contacts == len(published)

            await wait_until(projected, timeout=90, interval=0.3)
        finally:
            await conn.close()
        yield {"client": client, "household": household, "billed": billed}


async def test_the_timeline_names_the_person_at_each_step(served: dict[str, Any]) -> None:
    client, h = served["client"], served["household"]
    answer = await client.get(f"/v1/cases/{h.ref(h.worked)}", headers=agent_li())
    assert answer.status_code == 200, answer.text
    case = answer.json()
    steps = [(e["event_type"], e["actor"], e["actor_name"]) for e in case["timeline"]]
    assert steps == [
        ("complaint.received", *LI),
        ("complaint.routed", "system", None),
        ("workorder.assigned", "dispatch", "dispatch"),
        ("workorder.acknowledged", *ZHAO),
        ("workorder.crew_assigned", *ZHAO),
        ("workorder.appointment_agreed", *ZHAO),
        ("workorder.started", *CHEN),
        ("workorder.findings_recorded", *CHEN),
        ("workorder.photo_added", *CHEN),
        ("workorder.resolved", *CHEN),
        ("callback.scheduled", "system", None),
        ("callback.attempted", *LI),
        ("complaint.closed", "system", None),
    ]
    assert (case["owner"], case["owner_name"]) == LI
    (order,) = case["work_orders"]
    assert (order["resolved_by"], order["resolved_by_name"]) == CHEN
    (callback,) = case["callbacks"]
    assert (callback["agent"], callback["agent_name"], callback["method"]) == (*LI, "phone")
    resolved = next(e for e in case["timeline"] if e["event_type"] == "workorder.resolved")
    assert resolved["payload"]["acceptance"] == {"customer_name": "王**", "confirmed": True, "note": None}


async def test_persons_always_see_contact_data_masked(served: dict[str, Any]) -> None:
    client, h = served["client"], served["household"]
    keyed = await client.get(f"/v1/cases/{h.worked}", headers=AGENT)  # a reader key with a contact role
    assert keyed.status_code == 200 and (keyed.json()["phone"], keyed.json()["name"]) == (h.phone, "王小明")
    resolved = next(e for e in keyed.json()["timeline"] if e["event_type"] == "workorder.resolved")
    assert resolved["payload"]["acceptance"]["customer_name"] == "王小明"
    for who in (agent_li(), supervisor(), dispatcher()):
        for path in (f"/v1/cases/{h.worked}", f"/v1/households/{h.account_no}/cases"):
            answer = await client.get(path, headers=who)
            assert answer.status_code == 200, answer.text
            assert h.phone not in answer.text and "王小明" not in answer.text, path
        export = await client.get("/v1/cases.csv", params=DAY, headers=who)
        assert export.status_code == 200 and "phone" not in next(csv.reader(io.StringIO(export.text)))
    nobody = bearer("visitor", "访客")  # signed in, but no role of the utility's staff
    assert (await client.get(f"/v1/cases/{h.worked}", headers=nobody)).status_code == 403


async def test_one_row_per_person_joins_owned_resolved_and_callbacks(served: dict[str, Any]) -> None:
    client = served["client"]
    for who in (supervisor(), bearer("leader.he", "何建国", "leadership"), MANAGER):
        answer = await client.get("/v1/reports/staff", params=DAY, headers=who)
        assert answer.status_code == 200, answer.text
        rows = {r["staff_id"]: r for r in answer.json()["rows"]}
        assert rows.keys() == {LI[0], CHEN[0]}, "the dispatcher owns nothing; the department system is nobody"
        li, chen = rows[LI[0]], rows[CHEN[0]]
        assert (li["staff_name"], li["cases_owned"], li["work_orders_resolved"], li["callbacks_done"]) == (
            LI[1],
            1,
            0,
            1,
        )
        assert (chen["staff_name"], chen["cases_owned"], chen["work_orders_resolved"], chen["callbacks_done"]) == (
            CHEN[1],
            0,
            1,
            0,
        )
    export = await client.get("/v1/reports/staff.csv", params=DAY, headers=supervisor())
    lines = {r["staff_id"]: r for r in csv.DictReader(io.StringIO(export.text))}
    assert (lines[LI[0]]["staff_name"], lines[LI[0]]["callbacks_done"]) == (LI[1], "1")
    for who in (agent_li(), dispatcher(), bearer(*CHEN, "crew", department="repair", crew="repair-crew-1")):
        for path in ("/v1/reports/staff", "/v1/reports/staff.csv"):
            assert (await client.get(path, params=DAY, headers=who)).status_code == 403


async def test_an_agent_looks_the_household_up_by_phone_account_or_address(served: dict[str, Any]) -> None:
    client, h = served["client"], served["household"]
    typed = f"+86 {h.phone[:3]}-{h.phone[3:7]}-{h.phone[7:]}"
    for params in ({"phone": typed}, {"account_no": h.account_no}, {"address": f"长青小区{h.n}号楼"}):
        answer = await client.get("/v1/households/lookup", params=params, headers=agent_li())
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert found["accounts"] == [h.account_no], params
        items = found["items"]
        assert [i["complaint_id"] for i in items][:2] == [str(h.waiting), str(h.worked)], "open ones first"
        waiting, worked = items[0], items[1]
        assert (waiting["open"], waiting["status"], waiting["channel"]) == (True, "assigned", "web")
        assert (worked["open"], worked["status"], worked["reference_no"]) == (False, "closed", h.ref(h.worked))
        assert (worked["category"], worked["department"], worked["district"]) == (
            "heating_temperature",
            "repair",
            "heping",
        )
        assert worked["received_at"] == (T0 + timedelta(hours=0.95)).isoformat().replace("+00:00", "Z")
        assert (worked["owner"], worked["owner_name"]) == LI
        assert worked["phone_masked"] and h.phone not in answer.text and "王小明" not in answer.text
        assert str(h.elsewhere) not in answer.text, "another household's case"
    none = await client.get("/v1/households/lookup", headers=agent_li())
    assert none.status_code == 422
    assert {e["field"] for e in none.json()["errors"]} == {"phone", "account_no", "address"}
    bad = await client.get("/v1/households/lookup", params={"phone": "139-abc-0000"}, headers=agent_li())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phone"
    unknown = await client.get("/v1/households/lookup", params={"phone": "13000000001"}, headers=agent_li())
    assert unknown.status_code == 200 and unknown.json() == {"accounts": [], "items": [], "total": 0}
    assert (await client.get("/v1/households/lookup", params={"phone": h.phone})).status_code == 401
    assert (await client.get("/v1/households/lookup", params={"phone": h.phone}, headers=MANAGER)).status_code == 200


async def test_a_department_person_lists_only_their_departments_work(served: dict[str, Any]) -> None:
    client, h, billed = served["client"], served["household"], served["billed"]
    repair_cases = {str(h.worked), str(h.waiting), str(h.elsewhere)}

    # The suite's broker is shared: this reporting also projects other tests' cases. Lists are compared on this
    # module's own cases; what else a department person sees must still be their department's.
    ours = {*repair_cases, str(billed.waiting)}

    def queue_departments(answer: Any) -> list[str]:
        assert answer.status_code == 200, answer.text
        return [q["department"] for q in answer.json()["departments"]]

    def overdue_ids(answer: Any) -> set[str]:
        assert answer.status_code == 200, answer.text
        return {i["complaint_id"] for i in answer.json()["items"]} & ours

    def exported(answer: Any) -> set[str]:
        assert answer.status_code == 200, answer.text
        return {r["complaint_id"] for r in csv.DictReader(io.StringIO(answer.text))} & ours

    # Everyone's: a key, a supervisor, an agent.
    for who in (MANAGER, supervisor(), agent_li()):
        assert {"billing", "repair"} <= set(queue_departments(await client.get("/v1/queues", headers=who)))
        assert overdue_ids(await client.get("/v1/overdue", headers=who)) == {str(h.waiting), str(billed.waiting)}
        assert exported(await client.get("/v1/cases.csv", params=DAY, headers=who)) == {
            *repair_cases,
            str(billed.waiting),
        }
    # A department person's: their own department only, whatever the list.
    for who, own, cases in (
        (dispatcher(), "repair", repair_cases),
        (billing_dispatcher(), "billing", {str(billed.waiting)}),
        (billing_manager(), "billing", {str(billed.waiting)}),
    ):
        assert queue_departments(await client.get("/v1/queues", headers=who)) == [own]
        overdue = await client.get("/v1/overdue", headers=who)
        assert overdue_ids(overdue) == cases & {str(h.waiting), str(billed.waiting)}
        assert {i["department"] for i in overdue.json()["items"]} == {own}
        asked = await client.get("/v1/overdue", params={"department": own}, headers=who)
        assert overdue_ids(asked) == overdue_ids(overdue)
        assert exported(await client.get("/v1/cases.csv", params=DAY, headers=who)) == cases
        other = "billing" if own == "repair" else "repair"
        refused = await client.get("/v1/overdue", params={"department": other}, headers=who)
        assert refused.status_code == 403 and other in refused.json()["detail"], refused.text
        for account, phone in ((h.account_no, h.phone), (billed.account_no, billed.phone)):
            archive = await client.get(f"/v1/households/{account}/cases", headers=who)
            assert archive.status_code == 200, archive.text
            assert {i["department"] for i in archive.json()["items"]} <= {own}
            found = await client.get("/v1/households/lookup", params={"phone": phone}, headers=who)
            assert found.status_code == 200, found.text
            assert {i["complaint_id"] for i in found.json()["items"]} <= cases
            assert found.json()["total"] == len(found.json()["items"])
        serious = await client.get("/v1/reports/serious", params=DAY, headers=who)
        assert serious.status_code == 200 and {c["department"] for c in serious.json()["cases"]} <= {own}
    # A single case by reference stays readable: dispatch lets every department read a whole case.
    for ref in (h.ref(h.worked), str(billed.waiting)):
        assert (await client.get(f"/v1/cases/{ref}", headers=billing_dispatcher())).status_code == 200
    # A department person whose token names no department sees no department's list.
    homeless = bearer("nobody.dispatch", "无部门", "dispatcher")
    assert (await client.get("/v1/queues", headers=homeless)).status_code == 403
