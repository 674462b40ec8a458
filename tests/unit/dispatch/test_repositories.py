"""The in-memory fake and the Postgres repository implement the same `DispatchRepository` protocol, so a handler
tested on the fake runs unchanged on Postgres."""

from __future__ import annotations

import inspect

import pytest

from services.dispatch.repository import DispatchRepository, PostgresDispatchRepository
from tests.fakes.dispatch import FakeDispatchRepository

METHODS = sorted(name for name, member in vars(DispatchRepository).items() if inspect.iscoroutinefunction(member))


def test_the_protocol_names_what_handlers_use() -> None:
    assert {"first_deliveries", "add_to_outbox", "get_work_order", "queue"} <= set(METHODS)


@pytest.mark.parametrize("implementation", [PostgresDispatchRepository, FakeDispatchRepository])
@pytest.mark.parametrize("name", METHODS)
def test_each_repository_has_every_method_with_the_same_signature(implementation: type, name: str) -> None:
    expected = inspect.signature(getattr(DispatchRepository, name))
    actual = inspect.signature(getattr(implementation, name))
    assert inspect.iscoroutinefunction(getattr(implementation, name))
    assert list(actual.parameters.values()) == list(expected.parameters.values())
