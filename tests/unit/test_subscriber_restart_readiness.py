"""Readiness while the watchdog restarts a subscriber (`shared.kafka.liveness.restart`): stopped and not yet started
again, the subscriber is not running and takes nothing, so readiness lists it — until its new consumer started. A
restart that failed keeps it listed until a later one succeeds. (A CI run read 200 in that window, with the old,
dead consumer still in place.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from shared.kafka.liveness import restart, stopped_subscribers


@dataclass(eq=False)  # hashable by identity, as a FastStream subscriber is (readiness holds it weakly)
class _Subscriber:
    """What the watchdog and readiness read of a FastStream subscriber; `start` waits for `go`, then may fail."""

    group_id: str = "dispatch.department-updates"
    topic_names: tuple[str, ...] = ("ingress.department-updates",)
    running: bool = True
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    fail: bool = False

    async def stop(self) -> None:
        self.running = False

    async def start(self) -> None:
        await self.go.wait()
        if self.fail:
            raise ConnectionError("broker not reachable")
        self.running = True


@dataclass
class _Broker:
    subscribers: list[_Subscriber]


async def test_a_subscriber_is_listed_from_its_stop_until_its_new_consumer_started() -> None:
    subscriber = _Subscriber()
    broker = _Broker([subscriber])
    assert stopped_subscribers(broker) == []
    restarting = asyncio.create_task(restart(subscriber))
    await asyncio.sleep(0)  # the restart has stopped it and waits in start()
    assert not subscriber.running
    assert stopped_subscribers(broker) == ["dispatch.department-updates: ingress.department-updates"]
    subscriber.go.set()
    assert await restarting is True
    assert stopped_subscribers(broker) == []


async def test_a_failed_restart_stays_listed_until_one_succeeds() -> None:
    subscriber = _Subscriber(fail=True)
    subscriber.go.set()
    broker = _Broker([subscriber])
    assert await restart(subscriber) is False
    assert stopped_subscribers(broker) == ["dispatch.department-updates: ingress.department-updates"]
    subscriber.fail = False
    assert await restart(subscriber) is True
    assert stopped_subscribers(broker) == []
