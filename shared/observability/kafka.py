"""Kafka's side of the metrics and traces: FastStream's own Prometheus and OpenTelemetry middlewares on every
broker (messages handled, handler latency, publishes; consume and publish spans), a rebalance listener, and
consumer lag sampled at scrape time."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRebalanceListener
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from shared.observability import tracing
from shared.observability.group_probe import GroupProbe, GroupReading, group_probe_sampler
from shared.observability.metrics import CONSUMER_ASSIGNED, CONSUMER_LAG, CONSUMER_REBALANCES


def broker_middlewares(service: str, *, metrics: bool = True) -> tuple[Any, ...]:
    """FastStream's middlewares for a service's broker: Prometheus (`faststream_*` metrics, labelled
    `app_name=<service>`, `handler=<topic>`) unless metrics are off, and OpenTelemetry when tracing is on."""
    middlewares: list[Any] = []
    if metrics:
        middlewares.append(KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service))
    if tracing.enabled():
        middlewares.append(KafkaTelemetryMiddleware())
    return tuple(middlewares)


class RebalanceCounter(ConsumerRebalanceListener):  # type: ignore[misc]
    """Counts the assignments a group's consumer receives: a steady platform rebalances only when replicas
    come and go; a climbing count means consumers keep dropping out (slow handlers, crashes)."""

    def __init__(self, group: str) -> None:
        self.group = group

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Eager rebalancing: everything is revoked before the new assignment. A consumer that is left with none (or
        # stops) must not keep showing its last count (issue 26).
        CONSUMER_ASSIGNED.labels(self.group).set(0)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        CONSUMER_REBALANCES.labels(self.group).inc()
        CONSUMER_ASSIGNED.labels(self.group).set(len(assigned))


class LagSampler:
    """At each scrape, the groups this process consumes with, read from outside (`group_probe`: every partition of
    their topics, their state and members — `kafka_group_*`), and from that reading the lag of the partitions
    assigned to this process (`kafka_consumer_lag`: `sum by (group)` over replicas is the group's lag). `settings`:
    the service's, for the broker's address and its principal. Public API only: OffsetFetch through the admin client,
    end offsets through a group-less consumer. Its Kafka clients stay open between scrapes: `aclose()` at shutdown
    (`shared.http.service_app` does, for every sampler that has one)."""

    def __init__(self, broker: KafkaBroker, settings: Any) -> None:
        self.broker = broker
        self.probe = _SubscribersProbe(broker, settings)
        self.groups = group_probe_sampler(self.probe)
        self.seen: set[tuple[str, str, str]] = set()

    async def __call__(self) -> None:
        readings = await self.groups()
        current: set[tuple[str, str, str]] = set()
        for subscriber in self.broker.subscribers:
            consumer, group = getattr(subscriber, "consumer", None), getattr(subscriber, "group_id", None)
            if consumer is None or not group or group not in readings:
                continue
            for tp in consumer.assignment():
                if tp in readings[group].offsets:
                    labels = (group, tp.topic, str(tp.partition))
                    CONSUMER_LAG.labels(*labels).set(readings[group].lag(tp))
                    current.add(labels)
        for gone in self.seen - current:  # partitions that moved to another replica are no longer ours to report
            CONSUMER_LAG.remove(*gone)
        self.seen = current

    async def aclose(self) -> None:
        await self.probe.close()


class _SubscribersProbe(GroupProbe):
    """The groups of the broker's subscribers, as they are at each reading (subscribers register at start-up)."""

    def __init__(self, broker: KafkaBroker, settings: Any) -> None:
        super().__init__(settings.kafka_bootstrap_servers, {}, settings)
        self.broker = broker

    async def read(self) -> list[GroupReading]:
        subscribers = [(getattr(s, "group_id", None), getattr(s, "topic_names", ())) for s in self.broker.subscribers]
        self.groups = {group: tuple(names) for group, names in subscribers if group}
        return await super().read() if self.groups else []
