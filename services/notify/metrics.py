"""Notify's process metrics. Delivery statuses count from the events notify committed (`count_committed`, after
the commit, so a rolled-back batch never counts); provider calls and receipts count as they happen; the queue is
read from `notify.deliveries` when Prometheus scrapes. Labels name providers, templates, channels and outcomes —
never an address."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from shared.observability.metrics import Sampler

DELIVERIES = Counter(
    "notify_deliveries_total",
    "Deliveries entering a status (queued, sent, delivered, failed, suppressed), by provider and template.",
    ["provider", "template", "status"],
)
DELIVERY_SECONDS = Histogram(
    "notify_delivery_seconds",
    "From the request to delivery (the provider's acceptance when that is delivery, else its receipt).",
    ["channel"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600),
)
PROVIDER_CALLS = Counter(
    "notify_provider_calls_total",
    "Calls to providers: accepted, transient, permanent, timeout, error; find_sent: found, not_found, unknown.",
    ["provider", "outcome"],
)
RECEIPTS = Counter(
    "notify_receipts_total",
    "Delivery-status reports received: applied, stale (already settled or another attempt's), unknown, refused.",
    ["provider", "outcome"],
)
QUEUE = Gauge("notify_queue_depth", "Queued deliveries: due now, waiting (backoff, quiet hours), in doubt.", ["state"])
QUEUE_OLDEST = Gauge("notify_queue_oldest_due_seconds", "How long the longest-due queued delivery has waited.")


def _delivery(event: Any) -> None:
    p = event.payload
    DELIVERIES.labels(p.provider or "none", p.template_id, p.status).inc()
    if p.status == "delivered" and p.channel:
        DELIVERY_SECONDS.labels(p.channel).observe(max(0.0, (p.status_at - p.requested_at).total_seconds()))


def count_committed(items: Sequence[Any]) -> None:
    for item in items:
        if getattr(item, "event_type", "") == "notification.delivery":
            _delivery(item)


def provider_call(provider: str, outcome: str) -> None:
    PROVIDER_CALLS.labels(provider, outcome).inc()


def receipt(provider: str, outcome: str, count: int = 1) -> None:
    RECEIPTS.labels(provider, outcome).inc(count)


#: (due, waiting, in doubt, seconds the oldest due one has waited)
Depth = tuple[int, int, int, float]


def queue_sampler(read: Callable[[], Awaitable[Depth]]) -> Sampler:
    async def sample_queue() -> None:
        due, waiting, in_doubt, oldest = await read()
        QUEUE.labels("due").set(due)
        QUEUE.labels("waiting").set(waiting)
        QUEUE.labels("in_doubt").set(in_doubt)
        QUEUE_OLDEST.set(oldest)

    return sample_queue
