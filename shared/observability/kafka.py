"""Kafka's side of the metrics and traces: FastStream's own Prometheus and OpenTelemetry middlewares on every
broker (messages handled, handler latency, publishes; consume and publish spans), a rebalance listener, and
consumer lag sampled at scrape time."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from shared.observability import tracing
from shared.observability.metrics import CONSUMER_ASSIGNED, CONSUMER_LAG, CONSUMER_REBALANCES, Sampler


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


def lag_sampler(broker: KafkaBroker) -> Sampler:
    """Lag of every group this process consumes with, per assigned partition: end offset minus committed
    offset. Each replica reports its own partitions, so `sum by (group)` over replicas is the group's lag.

    Two requests per group and scrape: the committed offsets of all assigned partitions at once (aiokafka's
    public `committed()` asks one partition per request; reporting alone reads 120 partitions), and their
    end offsets."""
    seen: set[tuple[str, str, str]] = set()

    async def sample_lag() -> None:
        current: set[tuple[str, str, str]] = set()
        for subscriber in broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            group = getattr(subscriber, "group_id", None)
            if consumer is None or not group:
                continue
            assigned: set[TopicPartition] = set(consumer.assignment())
            if not assigned:
                continue
            committed = await consumer._coordinator.fetch_committed_offsets(assigned)
            ends = await consumer.end_offsets(list(assigned))
            for tp in assigned:
                meta = committed.get(tp)
                position = meta.offset if meta is not None and meta.offset >= 0 else 0
                labels = (group, tp.topic, str(tp.partition))
                CONSUMER_LAG.labels(*labels).set(max(0, ends.get(tp, position) - position))
                current.add(labels)
        for gone in seen - current:  # partitions that moved to another replica are no longer ours to report
            CONSUMER_LAG.remove(*gone)
        seen.clear()
        seen.update(current)

    return sample_lag
