"""Who read what in reporting: names and phones leave in an export only for a role above the lowest reader (an
agent's key reads a case with its contact on the phone, never two years of them), and a read is recorded with
who, whose, what and when, through the door."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.reporting.handlers.access import read_by, record
from services.reporting.model import HotspotRules
from services.reporting.repository.access_log import ReadAccessLog
from services.reporting.settings import ReaderCredential, ReportingSettings
from services.reporting.views import ReportViews
from shared.handling import Door
from shared.http.person import Person
from tests.fakes.reporting_access import InMemoryReadAccessLog
from tests.fakes.transactions import CopyOnCommit

AT = datetime(2026, 11, 23, 1, tzinfo=UTC)


def test_the_export_of_names_and_phones_needs_a_role_above_the_lowest_reader() -> None:
    with pytest.raises(ValidationError, match="above 'agent'"):
        ReportingSettings(app_env="test", reporting_contact_export_roles=["agent", "supervisor"])
    assert ReportingSettings(app_env="test").reporting_contact_export_roles == ["supervisor"]


def _views() -> ReportViews:
    return ReportViews(
        # Nothing here reads the read models.
        queries=None,  # type: ignore[arg-type]
        snapshots=None,  # type: ignore[arg-type]
        clock=lambda: AT,
        timezone=ZoneInfo("Asia/Shanghai"),
        contact_roles=frozenset({"agent"}),
        hotspot_rules=HotspotRules(3.0, 5),
        contact_export_roles=frozenset({"supervisor"}),
    )


def test_an_agent_key_sees_a_contact_but_exports_none() -> None:
    views = _views()
    agent, supervisor = ReaderCredential(name="desk", role="agent"), ReaderCredential(name="wu", role="supervisor")
    assert views.personal_fields(agent) == ("account_no", "address", "text", "name", "phone")
    assert "phone" not in views.case_export_fields(agent) and "phone" in views.case_export_fields(supervisor)
    assert views.personal_fields(agent, export=True) == ("account_no", "address", "text")
    person = Person(staff_id="supervisor.wu", name="吴静", roles=frozenset({"supervisor"}))
    assert "phone" not in views.case_export_fields(person), "a person never gets them in bulk"


async def test_a_read_is_recorded_with_who_whose_what_and_when() -> None:
    log = InMemoryReadAccessLog()
    transactions = CopyOnCommit(log, lambda state: state)
    door: Door[ReadAccessLog, None] = Door(transactions, None, clock=lambda: AT)
    person = Person(staff_id="agent.li", name="李娜", roles=frozenset({"agent"}))
    await door.run(
        record, read_by(person, endpoint="GET /v1/households/{account_no}/cases", subject="H-1", what=("address",))
    )
    key = ReaderCredential(name="finance-desk", role="supervisor")
    await door.run(record, read_by(key, endpoint="GET /v1/cases.csv", subject="2026-11-01..2026-11-23", what=("name",)))
    rows = transactions.state.rows
    assert [(r.reader, r.reader_name, r.reader_kind, r.role, r.subject, r.what, r.at) for r in rows] == [
        ("agent.li", "李娜", "person", None, "H-1", ("address",), AT),
        ("finance-desk", None, "key", "supervisor", "2026-11-01..2026-11-23", ("name",), AT),
    ]
