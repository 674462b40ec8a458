"""Reporting's metrics: how many events it read and how many were new to the read models (the rest were
redeliveries, deduplicated on event id), and the complaint surges happening now.

Reporting emits no events: its consumers' use case notes each batch it projected (`handlers.projection.Projected`),
and `count_committed` counts it once the transaction committed — into the Prometheus counters and into the app's
`stats` (readiness and tests read them).

Surges (issue 24, live surge alerts): at every scrape `surge_sampler` scores the hotspots of the last
`hotspot_alert_window_hours` against the `hotspot_alert_baseline_days` before (the same rule and the same hourly
tables as `/v1/reports/hotspots`, `model.score_hotspots` / `score_asset_hotspots`) and exports one series per
district x category and per asset that surges now, valued at its complaints in the window; a surge that ended
leaves no series behind. Every replica exports the same figures (they come from the shared read models), so the
alert rules take `max by` the area or asset. Scrape-time, not per event: a surge is a count against a baseline, and
two small aggregate reads per scrape cost less than re-scoring after every batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Gauge

from services.reporting.handlers.projection import Projected
from services.reporting.settings import ReportingSettings
from services.reporting.views import ReportViews
from shared.observability.metrics import Sampler

EVENTS_SEEN = Counter("reporting_events_seen_total", "Events read by the read-model consumer.")
EVENTS_PROJECTED = Counter("reporting_events_projected_total", "Events new to the read models (not redeliveries).")
AREA_SURGES = Gauge(
    "reporting_area_surge_complaints",
    "Complaints in the alert window of each district x category surging against its baseline now (absent: none).",
    ["district", "category"],
)
ASSET_SURGES = Gauge(
    "reporting_asset_surge_complaints",
    "Complaints in the alert window about each network asset surging against its baseline now (absent: none).",
    ["asset_type", "asset_id"],
)


def count_committed(items: Sequence[Any]) -> None:
    """What a committed unit of work projected (registered with `shared.observability.committed`)."""
    for item in items:
        if isinstance(item, Projected):
            item.stats["events_seen"] += item.seen
            item.stats["events_projected"] += item.new
            EVENTS_SEEN.inc(item.seen)
            EVENTS_PROJECTED.inc(item.new)


def surge_sampler(reports: ReportViews, settings: ReportingSettings) -> Sampler:
    """Refresh the surge gauges from the hotspot scores of the alert window: set every surging area and asset, remove
    those that no longer surge (a failed read leaves the last figures: `shared.observability.metrics.sample`)."""
    shown: dict[Gauge, set[tuple[str, str]]] = {AREA_SURGES: set(), ASSET_SURGES: set()}
    window_hours, baseline_days = settings.hotspot_alert_window_hours, settings.hotspot_alert_baseline_days

    async def sample_surges() -> None:
        found = await reports.hotspots(window_hours, baseline_days)
        now: dict[Gauge, dict[tuple[str, str], int]] = {
            AREA_SURGES: {(str(h.district), str(h.category)): h.count for h in found.rows if h.surge},
            ASSET_SURGES: {(h.asset_type, h.asset_id): h.count for h in found.assets if h.surge},
        }
        for gauge, surging in now.items():
            for labels, count in surging.items():
                gauge.labels(*labels).set(count)
            for gone in shown[gauge] - surging.keys():
                gauge.remove(*gone)
            shown[gauge] = set(surging)

    return sample_surges
