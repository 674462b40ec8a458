"""What reporting consumes: every event topic of the platform (see `model.REPORTED_TOPICS`), one group."""

from __future__ import annotations

from services.reporting.model import REPORTED_TOPICS, ReportedEvent
from shared.kafka.subscription import Subscription

READ_MODELS = Subscription(
    group="reporting.read-models",
    topics=REPORTED_TOPICS,
    model=ReportedEvent,
    title="reporting/read-models",
    description="Every event of the platform into the read models, in batches, idempotently.",
    batch_size=1000,
)

SUBSCRIPTIONS = (READ_MODELS,)
