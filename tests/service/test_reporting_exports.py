"""Reporting's exports through the real consumer (real Postgres, real Kafka).

Must-show 5: a complaint whose text is `=HYPERLINK("http://x","y")` — and a cause analysis, corrective action and
root-cause note written the same way — comes out of every CSV export as text: the cell starts with an apostrophe,
and no cell of any export starts with what a spreadsheet reads as a formula.

Who read what: the cases export carries names and phones only for a key above the lowest reader (an agent's key
exports none), and every export, household archive, lookup and case read is in the access log with who, whose,
which fields and when.

The day (2024-03-05, Asia/Shanghai) is one no other test uses.
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

from services.reporting.exports import FORMULA_STARTS
from shared.contracts import ComplaintReceived, Event
from tests.support.infrastructure import Infrastructure
from tests.support.reporting import AGENT, MANAGER, reporting_with_projected
from tests.support.reporting_events.handling import Action, RootCause, Scripted, events

T0 = datetime(2024, 3, 5, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
PERIOD = {"from": "2024-03-05", "to": "2024-03-05"}
FORMULA = '=HYPERLINK("http://x","y")'
SUPERVISOR = {"X-API-Key": "dev-only-duty-supervisor-key"}
CREDENTIALS = {
    "dev-only-manager-key": {"name": "operations-manager", "role": "manager"},
    "dev-only-reporting-agent-key": {"name": "hotline-agent", "role": "agent"},
    "dev-only-duty-supervisor-key": {"name": "duty-supervisor", "role": "supervisor"},
}
EXPORTS = (
    "/v1/cases.csv",
    "/v1/kpis.csv",
    "/v1/reports/serious.csv",
    "/v1/reports/root-causes.csv",
    "/v1/reports/staff.csv",
    "/v1/reports/incidents.csv",
    "/v1/reports/outages.csv",
)


def _scripted() -> Scripted:
    return Scripted(
        random.randrange(100, 800),  # accepted n minutes after 09:00: the same day,
        "phone",
        "heping",
        agent="agent-a",
        severity="serious",
        resolved_h=3,
        root_cause=RootCause("repair.valve_failure", "阀门故障", "Valve failure", note="+cmd|' /C calc'!A0"),
        cause_analysis=FORMULA,
        actions=[Action("@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", 5)],
    )


def _with_formula_text(event: Event) -> Event:
    if isinstance(event, ComplaintReceived):
        return event.model_copy(update={"payload": event.payload.model_copy(update={"text": FORMULA})})
    return event


@pytest.fixture(scope="module")
async def served(migrated: Infrastructure) -> AsyncIterator[dict[str, Any]]:
    case = _scripted()
    published = [_with_formula_text(e) for e in events(case, T0)]
    async with reporting_with_projected(
        migrated.database_url,
        migrated.kafka_bootstrap_servers,
        published,
        clock=lambda: T0 + timedelta(hours=10),
        reporting_credentials=CREDENTIALS,
    ) as (client, dsn):
        yield {"client": client, "case": case, "dsn": dsn}


async def _export(client: Any, path: str) -> list[dict[str, str]]:
    answer = await client.get(path, params=PERIOD, headers=MANAGER)
    assert answer.status_code == 200, (path, answer.text)
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_the_formula_text_comes_out_of_every_csv_export_as_text(served: dict[str, Any]) -> None:
    client, case = served["client"], served["case"]
    cases = {r["reference_no"]: r for r in await _export(client, "/v1/cases.csv")}
    assert cases[case.reference_no]["text"] == "'" + FORMULA
    serious = [r for r in await _export(client, "/v1/reports/serious.csv") if r["reference_no"] == case.reference_no]
    assert [
        (r["cause_analysis"], r["action_description"], r["action_owner"], r["root_cause_note"]) for r in serious
    ] == [("'" + FORMULA, "'@SUM(1+1)*cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0")]
    for path in EXPORTS:
        for row in await _export(client, path):
            # A negative figure (a duration from another test's odd dates on the shared topics) stays a number.
            risky = {k: v for k, v in row.items() if v.startswith(FORMULA_STARTS) and not _number(v)}
            assert not risky, (path, risky)


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


async def test_names_and_phones_leave_only_above_the_lowest_reader_and_every_read_is_logged(
    served: dict[str, Any],
) -> None:
    client, case, dsn = served["client"], served["case"], served["dsn"]
    header = {}
    for who, key in ((AGENT, "agent"), (SUPERVISOR, "supervisor")):
        answer = await client.get("/v1/cases.csv", params=PERIOD, headers=who)
        assert answer.status_code == 200, answer.text
        header[key] = next(csv.reader(io.StringIO(answer.text)))
    assert "phone" not in header["agent"] and {"name", "phone"} <= set(header["supervisor"])
    account = f"H13-{case.n}"
    assert (await client.get(f"/v1/households/{account}/cases", headers=AGENT)).status_code == 200
    assert (await client.get("/v1/households/lookup", params={"account_no": account}, headers=AGENT)).status_code == 200
    assert (await client.get(f"/v1/cases/{case.reference_no}", headers=AGENT)).status_code == 200
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT reader, reader_kind, role, endpoint, subject, what, at FROM reporting_audit.read_access_log "
            "WHERE reader IN ('hotline-agent', 'duty-supervisor') ORDER BY id"
        )
    finally:
        await conn.close()
    logged = [(r["reader"], r["role"], r["endpoint"], r["subject"], tuple(r["what"])) for r in rows]
    contact = ("account_no", "address", "text", "name", "phone")
    assert logged == [
        ("hotline-agent", "agent", "GET /v1/cases.csv", "2024-03-05..2024-03-05", contact[:3]),
        ("duty-supervisor", "supervisor", "GET /v1/cases.csv", "2024-03-05..2024-03-05", contact),
        ("hotline-agent", "agent", "GET /v1/households/{account_no}/cases", account, contact),
        ("hotline-agent", "agent", "GET /v1/households/lookup", f"account_no={account}", contact),
        ("hotline-agent", "agent", "GET /v1/cases/{ref}", case.reference_no, contact),
    ]
    assert all(r["reader_kind"] == "key" and r["at"] is not None for r in rows)
    managers = await client.get("/v1/personal-data-reads", params={"reader": "hotline-agent"}, headers=MANAGER)
    assert managers.status_code == 200, managers.text
    assert [e["endpoint"] for e in managers.json()["items"]][-2:] == [
        "GET /v1/households/{account_no}/cases",
        "GET /v1/cases.csv",
    ], "newest first"
    assert (await client.get("/v1/personal-data-reads", headers=AGENT)).status_code == 403
