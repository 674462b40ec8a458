"""Dispatch's handlers on the in-memory repository (tests/fakes/dispatch.py) with a clock the test moves."""

from __future__ import annotations

import pytest

from services.dispatch.classification import Rules, load_rules
from services.dispatch.views import DispatchViews
from shared.sla import SlaTable, load_sla_table
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, dispatch_driver
from tests.unit.dispatch.clocks import START


@pytest.fixture
def clock() -> SetClock:
    return SetClock(START)


@pytest.fixture
def store() -> FakeTransactions:
    return FakeTransactions()


@pytest.fixture(scope="session")
def dispatch_rules() -> Rules:
    return load_rules()


@pytest.fixture(scope="session")
def sla_table() -> SlaTable:
    return load_sla_table()


@pytest.fixture
def dispatcher(store: FakeTransactions, clock: SetClock, dispatch_rules: Rules, sla_table: SlaTable) -> DispatchDriver:
    return dispatch_driver(store, clock, dispatch_rules, sla_table)


@pytest.fixture
def views(store: FakeTransactions) -> DispatchViews:
    return DispatchViews(store)
