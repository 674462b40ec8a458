"""OpenTelemetry traces that follow one complaint across the services: HTTP request → intake → outbox →
relay → Kafka → every consumer → their outboxes → …, the context carried in W3C `traceparent` headers.

Off by default: a service traces when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (spans go there over OTLP/HTTP)
or `TRACING_ENABLED=true` (spans go to whatever tracer provider the process installed, e.g. a test's
in-memory exporter). Off, every hook below is one boolean test.

Why the outbox and batches need help: an event is written in the handler's transaction and published later
by the relay, so its trace context is stored with the row (`headers`) and the relay's publish span continues
it. And a batch subscriber handles many complaints at once; FastStream's middleware gives a batch one span
linked to every message, which would cut each complaint's trace in two. So the guarded consumer opens one
span per record, parented on that record's headers, and events written while handling the batch take the
context of their own complaint's record (`case_contexts`, by Kafka key = complaint id).

Deferred work starts a trace of its own: an event written when a followup timer fires (a clock's warning, a
linked caller's first message retried until their contact arrives) has no request or record to continue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
#: Headers that carry the trace context (and nothing else of ours).
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
#: Span attribute naming the service a span belongs to (the resource says it too, when each service is its
#: own process; in a test process several services share one provider).
SERVICE_ATTRIBUTE = "utility.service"
#: The case a span is about (an id, not personal data; span attributes are not metric labels).
COMPLAINT_ATTRIBUTE = "utility.complaint_id"

_state = {"enabled": False}
_case_contexts: ContextVar[dict[str, Context] | None] = ContextVar("case_contexts", default=None)


def enabled() -> bool:
    return _state["enabled"]


def configure(service: str, *, tracing_enabled: bool, otlp_endpoint: str | None) -> bool:
    """Turn tracing on for this process when asked to; install an OTLP exporter when an endpoint is set and
    no SDK provider is installed yet. Returns whether tracing is on."""
    if not (tracing_enabled or otlp_endpoint):
        return False
    if otlp_endpoint:
        _install_otlp(service, otlp_endpoint)
    _state["enabled"] = True
    return True


def disable() -> None:
    """Tracing off again (tests that turned it on)."""
    _state["enabled"] = False


def _install_otlp(service: str, endpoint: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    traces_endpoint = endpoint.rstrip("/")
    if not traces_endpoint.endswith("/v1/traces"):
        traces_endpoint += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_endpoint)))
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    return trace.get_tracer("utility-complaints")


def extract(headers: Mapping[str, Any]) -> Context:
    return _PROPAGATOR.extract({k: str(v) for k, v in headers.items() if k in TRACE_HEADERS})


def inject(context: Context | None = None) -> dict[str, str]:
    """The trace headers of `context` (default: the current one); empty when nothing is recording."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return carrier


def headers_for(complaint_id: str) -> dict[str, str]:
    """Trace headers for an event of `complaint_id` written now: its own record's context inside a batch,
    else the current one (an HTTP request, a single message)."""
    if not enabled():
        return {}
    contexts = _case_contexts.get()
    return inject(contexts.get(complaint_id) if contexts else None)


@contextmanager
def case_contexts(contexts: dict[str, Context]) -> Iterator[None]:
    """While a batch is handled: which context an event of each complaint continues."""
    token = _case_contexts.set(contexts)
    try:
        yield
    finally:
        _case_contexts.reset(token)


@contextmanager
def current(context: Context) -> Iterator[None]:
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)
