"""One complaint, one trace: the four services run in-process on the session's Kafka and Postgres with tracing
on and an in-memory exporter; a complaint POSTed to intake leaves spans of intake (HTTP, outbox relay),
dispatch, followup and reporting that all carry the HTTP request's trace id — through the outbox, Kafka
headers and batch consumers.

The complaint has an account of its own: a repeat of an open case of the same account is linked to it, and a
linked caller whose contact has not arrived yet is told later by a followup timer — deferred work, which starts
a trace of its own (it happened under load in CI44: the contact's consumer joined its group seconds after the
link's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.dispatch.consumers import SUBSCRIPTIONS as DISPATCH
from services.followup.consumers import SUBSCRIPTIONS as FOLLOWUP
from services.reporting.consumers import SUBSCRIPTIONS as REPORTING
from shared.observability import tracing
from tests.support.complaints import complaint, headers
from tests.support.dispatch import running_dispatch
from tests.support.followup import running_followup
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import start_groups_at_end, wait_until
from tests.support.reporting import running_reporting

SERVICES = {"intake", "dispatch", "followup", "reporting"}


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)  # once per process; later tests find it installed
    memory = InMemorySpanExporter()
    processor = SimpleSpanProcessor(memory)
    provider.add_span_processor(processor)
    try:
        yield memory
    finally:
        tracing.disable()
        memory.shutdown()  # the processor stays registered; a shut-down exporter drops what it is handed


def _service(span: ReadableSpan) -> str | None:
    return (span.attributes or {}).get(tracing.SERVICE_ATTRIBUTE)  # type: ignore[return-value]


async def test_one_complaint_is_one_trace_across_intake_dispatch_followup_and_reporting(
    migrated: Infrastructure, exporter: InMemorySpanExporter
) -> None:
    db, kafka = migrated.database_url, migrated.kafka_bootstrap_servers
    on = {"tracing_enabled": True}
    # Groups of their own, starting at the topics' end: the session's earlier events are not this test's.
    groups = {name: f"trace-{uuid.uuid4().hex[:8]}-{name}" for name in ("dispatch", "followup", "reporting")}
    for name, subscriptions in (("dispatch", DISPATCH), ("followup", FOLLOWUP), ("reporting", REPORTING)):
        await start_groups_at_end(kafka, subscriptions, groups[name])
    async with (
        running_dispatch(db, kafka, dispatch_consumer_group=groups["dispatch"], **on),
        running_followup(db, kafka, followup_consumer_group=groups["followup"], **on),
        running_reporting(db, kafka, reporting_consumer_group=groups["reporting"], **on),
        running_intake(db, kafka, **on) as (_, intake),
    ):
        body = complaint("web", text="家里暖气不热，室温只有15度。")
        body["customer"]["account_no"] = f"HT-{uuid.uuid4().int % 10**8:08d}"
        response = await intake.post("/v1/complaints", json=body, headers=headers("web"))
        assert response.status_code == 202, response.text
        complaint_id = response.json()["complaint_id"]
        server = [
            s
            for s in exporter.get_finished_spans()
            if s.kind is trace.SpanKind.SERVER and (s.attributes or {}).get("http.route") == "/v1/complaints"
        ]
        assert len(server) == 1, [s.name for s in server]
        trace_id = server[0].context.trace_id

        def services_in_trace() -> set[str]:
            return {
                service
                for s in exporter.get_finished_spans()
                if s.context.trace_id == trace_id and (service := _service(s))
            }

        await wait_until(lambda: services_in_trace() >= SERVICES, timeout=60, interval=0.2)

    case_spans = [
        s
        for s in exporter.get_finished_spans()
        if (s.attributes or {}).get(tracing.COMPLAINT_ATTRIBUTE) == complaint_id
    ]
    by_service: dict[str, set[int]] = {}
    for s in case_spans:
        by_service.setdefault(_service(s) or "?", set()).add(s.context.trace_id)
    # Every span about this complaint, in every service, carries the one trace id of the HTTP request.
    assert by_service.keys() >= SERVICES, by_service
    strays = [
        (_service(s), s.name, s.kind.name, s.parent and s.parent.span_id, [link.context.trace_id for link in s.links])
        for s in case_spans
        if s.context.trace_id != trace_id
    ]
    assert not strays, strays
    names = {s.name for s in case_spans}
    assert {"complaint.received publish", "dispatch.complaint-received handle"} <= names, names
    assert any(n.startswith("reporting") and n.endswith(" handle") for n in names), names
    assert any(n.startswith("followup") and n.endswith(" handle") for n in names), names
