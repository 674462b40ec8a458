"""Reporting's metrics: how many events it read and how many were new to the read models (the rest were
redeliveries, deduplicated on event id). Reporting emits no events: its consumers' use case notes each batch it
projected (`handlers.projection.Projected`), and `count_committed` counts it once the transaction committed — into
the Prometheus counters and into the app's `stats` (readiness and tests read them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from services.reporting.handlers.projection import Projected

EVENTS_SEEN = Counter("reporting_events_seen_total", "Events read by the read-model consumer.")
EVENTS_PROJECTED = Counter("reporting_events_projected_total", "Events new to the read models (not redeliveries).")


def count_committed(items: Sequence[Any]) -> None:
    """What a committed unit of work projected (registered with `shared.observability.committed`)."""
    for item in items:
        if isinstance(item, Projected):
            item.stats["events_seen"] += item.seen
            item.stats["events_projected"] += item.new
            EVENTS_SEEN.inc(item.seen)
            EVENTS_PROJECTED.inc(item.new)
