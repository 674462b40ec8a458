"""Every consumer the services start heartbeats every second (`shared.kafka.subscription.HEARTBEAT_INTERVAL_MS`).

Why it matters: a member hears of a rebalance, or that its coordinator is back after a broker restart, at its next
heartbeat. At aiokafka's 3 s, the groups of a platform whose broker was killed were consuming again 2.5 s or 5.6 s
after the node was back, about half each. At 1 s it was 2.5–3.1 s in four kills of four (2026-12-07,
`BROKER_KILLS=4` of tests/faults/one_platform/test_broker_kills.py). Kafka asks for a heartbeat under a third of the
session timeout (aiokafka's 10 s when none is given).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from operations.reconcile import platform_groups
from services.channels import consumers as channels
from services.dispatch import consumers as dispatch
from services.followup import consumers as followup
from services.intake import consumers as intake
from services.notify import consumers as notify
from services.reporting import consumers as reporting
from shared.kafka.subscription import HEARTBEAT_INTERVAL_MS, subscribe

AIOKAFKA_SESSION_TIMEOUT_MS = 10_000
SETTINGS = SimpleNamespace(consumer_max_attempts=3, consumer_retry_backoff_ms=200)


class _Broker:
    """Keeps the consumer options each subscriber is registered with."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, Any]] = {}

    def subscriber(self, *topics: str, **options: Any) -> Callable[[Any], Any]:
        self.options[options["group_id"]] = options
        return lambda handler: handler


async def _nothing(batch: list[Any]) -> None:
    return None


def test_every_consumer_group_member_heartbeats_every_second() -> None:
    broker = _Broker()
    for service in (intake, dispatch, followup, reporting, notify, channels):
        for subscription in service.SUBSCRIPTIONS:
            subscribe(broker, SETTINGS, subscription, _nothing)  # type: ignore[arg-type]
    assert set(broker.options) == set(platform_groups()), "every group of the platform was registered"
    for group, options in broker.options.items():
        assert options["heartbeat_interval_ms"] == HEARTBEAT_INTERVAL_MS == 1000, group
        assert 3 * options["heartbeat_interval_ms"] <= options.get("session_timeout_ms", AIOKAFKA_SESSION_TIMEOUT_MS)
