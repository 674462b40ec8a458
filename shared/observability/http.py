"""HTTP's side: requests by route, method and status with latency histograms (prometheus-fastapi-instrumentator,
plain ASGI middleware), server spans when tracing is on (OpenTelemetry's FastAPI instrumentation), and the
`/metrics` route that renders the process registry after the service's samplers refreshed their gauges."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from prometheus_client import REGISTRY
from prometheus_fastapi_instrumentator import Instrumentator

from shared.observability.metrics import exposition, sample

#: Per-route latency buckets (seconds): the library's default (0.1, 0.5, 1) cannot tell 5 ms from 90 ms.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Probes and scrapes would drown the routes that matter, and say nothing about them.
NOT_MEASURED = ("/metrics", "/healthz", "/readyz")


def instrument_http(app: FastAPI, *, metrics: bool, tracing: bool) -> None:
    """Measure and trace the app's requests. Route templates (`/v1/work-orders/{work_order_id}/acknowledge`),
    never raw paths, label the metrics; paths no route matched are counted as `none`."""
    if metrics:
        Instrumentator(
            should_group_status_codes=False,
            should_group_untemplated=True,
            excluded_handlers=[f"^{path}$" for path in NOT_MEASURED],
            registry=REGISTRY,
        ).instrument(app, latency_lowr_buckets=LATENCY_BUCKETS)
    if tracing:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls=",".join(NOT_MEASURED))


def add_metrics_route(app: FastAPI) -> None:
    """`GET /metrics`: Prometheus text format. The samplers (`app.state.metric_samplers`, filled by the
    service's composition root once its pool and broker exist) refresh the scrape-time gauges first."""

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await sample(getattr(request.app.state, "metric_samplers", ()))
        body, content_type = exposition()
        return Response(body, media_type=content_type)
