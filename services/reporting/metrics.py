"""Reporting's metrics: how many events it read and how many were new to the read models (the rest were
redeliveries, deduplicated on event id). Reporting emits no events, so these are counted where it projects."""

from __future__ import annotations

from prometheus_client import Counter

EVENTS_SEEN = Counter("reporting_events_seen_total", "Events read by the read-model consumer.")
EVENTS_PROJECTED = Counter("reporting_events_projected_total", "Events new to the read models (not redeliveries).")
