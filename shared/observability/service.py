"""What a service's composition root turns on, in one call: tracing (from its settings) and the observer that
turns what it committed into its process metrics."""

from __future__ import annotations

from dataclasses import dataclass

from shared.observability import committed, tracing
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class Telemetry:
    metrics: bool
    tracing: bool


def telemetry(service: str, settings: ServiceSettings, count_committed: committed.Observer | None = None) -> Telemetry:
    """Configure tracing for `service` and register its process-metrics observer (unless metrics are off)."""
    tracing_on = tracing.configure(
        service, tracing_enabled=settings.tracing_enabled, otlp_endpoint=settings.otel_exporter_otlp_endpoint
    )
    if settings.metrics_enabled and count_committed is not None:
        committed.observe(count_committed)
    return Telemetry(metrics=settings.metrics_enabled, tracing=tracing_on)
