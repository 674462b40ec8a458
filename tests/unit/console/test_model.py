"""Where a person lands after sign-in, which screens their menu shows, and how long a session lives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.console.model import home_path, may_open, menu, session_expiry
from shared.http.person import Person


def _person(*roles: str, department: str | None = None, crew: str | None = None) -> Person:
    return Person("x", "某人", frozenset(roles), department, crew)


@pytest.mark.parametrize(
    ("person", "home"),
    [
        (_person("agent"), "/agent/complaints/new"),
        (_person("dispatcher", department="repair"), "/departments/repair/queue"),
        (_person("department_manager", department="billing"), "/departments/billing/queue"),
        (_person("crew", department="repair", crew="repair-crew-1"), "/crew/jobs"),
        (_person("supervisor"), "/supervisor"),
        (_person("duty_manager"), "/duty"),
        (_person("leadership"), "/leadership/serious"),
        (_person("hr_admin"), "/leadership/serious"),
        (_person("dispatcher"), "/"),  # no department: nothing to queue
        (_person(), "/"),
    ],
)
def test_each_person_lands_on_their_screen(person: Person, home: str) -> None:
    assert home_path(person) == home


def test_menus_follow_the_roles() -> None:
    assert menu(_person("agent")) == [
        ("agent_new", "/agent/complaints/new", None),
        ("agent_callbacks", "/agent/callbacks", None),
        ("inbox", "/inbox", None),
    ]
    assert menu(_person("crew", crew="repair-crew-1")) == [("crew_jobs", "/crew/jobs", None), ("inbox", "/inbox", None)]
    assert menu(_person("dispatcher", department="billing")) == [
        ("department_queue", "/departments/billing/queue", "billing"),
        ("inbox", "/inbox", None),
    ]
    # Every staff role has its notices; the duty manager and leadership have them as their one screen so far.
    assert menu(_person("duty_manager")) == [
        ("inbox", "/inbox", None),
        ("dashboard", "/dashboard", None),
        ("escalations", "/supervisor/escalations", None),
        ("duty", "/duty", None),
    ]
    assert menu(_person("leadership")) == [
        ("inbox", "/inbox", None),
        ("dashboard", "/dashboard", None),
        ("escalations", "/supervisor/escalations", None),
        ("leadership_serious", "/leadership/serious", None),
    ]
    assert menu(_person("hr_admin")) == [("inbox", "/inbox", None), ("leadership_serious", "/leadership/serious", None)]
    assert [item.path for item in menu(_person("supervisor"))] == [
        "/agent/complaints/new",
        "/agent/callbacks",
        "/departments/repair/queue",
        "/departments/billing/queue",
        "/departments/customer_service/queue",
        "/inbox",
        "/dashboard",
        "/supervisor",
        "/supervisor/escalations",
        "/supervisor/incidents",
        "/supervisor/corrective-actions",
        "/supervisor/contact-access",
        "/supervisor/triage",
        "/supervisor/model",
        "/leadership/serious",
        "/duty",
        "/supervisor/coordination",
    ]
    assert not may_open(_person("crew"), "agent_new")
    assert not may_open(_person("agent"), "work_order")
    assert may_open(_person("crew"), "work_order")
    assert may_open(_person("leadership"), "case")


def test_a_session_lasts_while_it_can_be_refreshed_never_beyond_a_shift() -> None:
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    shift = timedelta(hours=12)
    assert session_expiry(now, now + timedelta(minutes=30), now + timedelta(minutes=5), shift) == now + timedelta(
        minutes=30
    )
    assert session_expiry(now, now + timedelta(days=30), now + timedelta(minutes=5), shift) == now + shift
    assert session_expiry(now, None, now + timedelta(minutes=5), shift) == now + timedelta(minutes=5)
