"""The department access rule, and the open statuses the database's indexes repeat in SQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.dispatch.model import Actor
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import Department as D

MIGRATIONS = Path(__file__).parents[3] / "services" / "dispatch" / "migrations"


@pytest.mark.parametrize("department", list(D))
def test_a_department_handles_only_its_own_work(department: D) -> None:
    actor = Actor(name=f"{department.value}-desk", department=department)
    assert [d for d in D if actor.may_handle(d.value)] == [department]


def test_a_supervisor_handles_every_department_and_nobody_else_does() -> None:
    assert all(Actor(name="duty", supervisor=True).may_handle(d.value) for d in D)
    assert not any(Actor(name="nobody").may_handle(d.value) for d in D)


def test_the_open_work_order_indexes_use_the_state_machines_open_statuses() -> None:
    """`work_orders_one_open` (since 007 `work_orders_one_open_lead`), `work_orders_queue` and (010)
    `work_orders_crew` spell OPEN in SQL; they must not drift from lifecycle.py."""
    sql = "\n".join(p.read_text(encoding="utf-8") for p in sorted(MIGRATIONS.glob("*.sql")))
    lists = re.findall(r"WHERE (?:role = 'lead' AND |crew IS NOT NULL AND )?status IN \(([^)]*)\)", sql)
    assert len(lists) == 4
    for listed in lists:
        assert {s.strip().strip("'") for s in listed.split(",")} == {s.value for s in OPEN}
