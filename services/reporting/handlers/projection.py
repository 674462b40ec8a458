"""Projecting events into the read models: the one use case of reporting, run by its consumers and by `rebuild`
through the door (`shared.handling.Door`), one transaction per batch.

Per batch: new events go into the timeline (`timelines.record`; a redelivered `event_id` adds nothing), then every
key they touched is re-derived from its whole timeline — a customer's case (`cases`), an incident (`incidents`: its
own topic, and its work order and SLA clock keyed by its id) or an outage notice (`outages`). Events of an incident
or a notice never make a customer case. The live consumers and `rebuild` run the same `project`, so a rebuild
reproduces the live tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.reporting.handlers.cases import rederive_cases
from services.reporting.handlers.context import ReportingWork
from services.reporting.handlers.incidents import rederive_incidents
from services.reporting.handlers.outages import rederive_outages
from services.reporting.handlers.timelines import record
from shared.contracts import Event
from shared.observability import committed
from shared.subject_keys import sealed_customers


async def project(events: Sequence[Event], work: ReportingWork) -> int:
    """Project a batch; returns how many of its events were new to the timeline (contacts are not timeline)."""
    touched = await record(events, work)
    if not touched.keys:
        return 0
    await rederive_cases(touched.of("case"), touched.timelines, work)
    await rederive_incidents(touched.of("incident"), touched.timelines, work)
    await rederive_outages(touched.of("outage"), touched.timelines, work)
    return touched.new


@dataclass(frozen=True)
class Projected:
    """A consumer's batch, projected: how many events it held and how many were new. Noted in the transaction and
    counted (`metrics.count_committed`) only once it committed, so a batch retried is not counted twice."""

    seen: int
    new: int
    #: The process's counters to add to (`ReportingContext.stats`).
    stats: dict[str, int]


async def project_delivered(events: Sequence[Event], work: ReportingWork) -> None:
    """The consumers' use case (`consumers.SUBSCRIPTIONS`): `project`, and the batch noted for readiness and metrics."""
    await work.context.keys.preload(sealed_customers(events))
    new = await project(events, work)
    committed.note([Projected(len(events), new, work.context.stats)])
