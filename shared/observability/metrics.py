"""The platform's own Prometheus metrics, shared by every service: consumers (retries, dead letters, lag,
rebalances), the outbox (waiting, oldest, published, failures) — and how `/metrics` renders them.

One registry per process (prometheus-client's default): in production every service is its own process,
so a scrape shows one service; labels name consumers, groups and outbox schemas, never a complaint, a
phone number or free text. Gauges that describe state in Postgres or Kafka (outbox backlog, lag) are
sampled when Prometheus scrapes, by the service's samplers, so they cost nothing between scrapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from shared.logging import get_logger

log = get_logger(__name__)

#: Refreshes scrape-time gauges; one per concern (outbox, lag, timers, …).
Sampler = Callable[[], Awaitable[None]]
SAMPLE_TIMEOUT_S = 3.0

CONSUMER_RETRIES = Counter(
    "kafka_consumer_retries_total",
    "Handler attempts that failed and were retried (not an outage: those are redelivered).",
    ["consumer", "topic"],
)
CONSUMER_DEAD_LETTERS = Counter(
    "kafka_consumer_dead_letters_total",
    "Messages sent to <topic>.dlq: undecodable, invalid, or failing every attempt.",
    ["consumer", "topic"],
)
CONSUMER_TRANSIENT_FAILURES = Counter(
    "kafka_consumer_redeliveries_total",
    "Messages or batches nacked for redelivery because a dependency (database, broker) was down.",
    ["consumer", "topic"],
)
CONSUMER_NEWER_VERSIONS = Counter(
    "kafka_consumer_newer_versions_total",
    "Events of a newer schema version than the consumer reads, nacked for redelivery (a rolling deploy under way,"
    " or a partition held until a consumer that knows the version is deployed).",
    ["consumer", "topic"],
)
#: Why: the cost of a batch (its transaction, its offset commit, a statement per table) is shared by its records, so
#: how full the batches are says whether a consumer is keeping up cheaply or paying per record (issue 27).
CONSUMER_BATCH_RECORDS = Histogram(
    "kafka_consumer_batch_records",
    "Records per batch a consumer handled (1 for single-message consumers).",
    ["consumer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
CONSUMER_REBALANCES = Counter(
    "kafka_consumer_rebalances_total", "Partition assignments received by this process's consumers.", ["group"]
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Records not yet committed by the group on a partition assigned to this process (end offset - committed).",
    ["group", "topic", "partition"],
)
CONSUMER_ASSIGNED = Gauge("kafka_consumer_assigned_partitions", "Partitions assigned to this process.", ["group"])
#: Consumer groups read from outside their consumers (`shared.observability.group_probe`): every replica of a service
#: reports the same figures for its groups, so alert on `max by`.
GROUP_LAG = Gauge(
    "kafka_group_lag",
    "Records of the partition the group has not committed (end offset - committed), whether or not it has members.",
    ["group", "topic", "partition"],
)
GROUP_COMMITTED = Gauge(
    "kafka_group_committed_offset",
    "The group's committed offset on the partition (0 before its first commit): unchanged while lag > 0 = stalled.",
    ["group", "topic", "partition"],
)
GROUP_MEMBERS = Gauge(
    "kafka_group_members", "Members of the consumer group now, with the coordinator's state of it.", ["group", "state"]
)

OUTBOX_WAITING = Gauge("outbox_waiting_events", "Events committed but not yet acknowledged by Kafka.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_event_age_seconds", "Age of the oldest event waiting in the outbox (0 when empty).", ["service"]
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events Kafka acknowledged.", ["service"])
OUTBOX_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox events Kafka did not acknowledge (retried later).", ["service"]
)
OUTBOX_RELAY_ERRORS = Counter(
    "outbox_relay_errors_total", "Relay rounds that failed (broker or database unreachable).", ["service"]
)


async def sample(samplers: Sequence[Sampler]) -> None:
    """Run the samplers concurrently, each bounded: a slow Kafka or database leaves the old value."""

    async def bounded(sampler: Sampler) -> None:
        try:
            await asyncio.wait_for(sampler(), timeout=SAMPLE_TIMEOUT_S)
        except Exception as exc:
            name = getattr(sampler, "__qualname__", type(sampler).__qualname__)  # a function, or a sampler object
            log.warning("metrics sampler failed", sampler=name, error=repr(exc))

    await asyncio.gather(*(bounded(s) for s in samplers))


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format of this process's registry, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
