"""What reporting consumes: every event topic of the platform (see `model.REPORTED_TOPICS`) in one group, and what
became of each message (`notification.delivery`) in a group of its own, added with issue 21 so the read models'
group keeps its committed offsets (a new group reads the delivery topic from its start). Both run the same use case,
`handlers.project_delivered`, through the door, batched (one transaction per batch of up to `batch_size`, or the
`REPORTING_BATCH_SIZE` setting)."""

from __future__ import annotations

from services.reporting.handlers import project_delivered
from services.reporting.model import NOTIFICATION_TOPICS, REPORTED_TOPICS, ReportedEvent
from shared.kafka.subscription import Subscription

READ_MODELS = Subscription(
    group="reporting.read-models",
    topics=REPORTED_TOPICS,
    model=ReportedEvent,
    title="reporting/read-models",
    description="Every event of the platform into the read models, in batches, idempotently.",
    batch_size=1000,
    handler=project_delivered,
    batched=True,
    batch_size_setting="reporting_batch_size",
)

NOTIFICATIONS = Subscription(
    group="reporting.notifications",
    topics=NOTIFICATION_TOPICS,
    model=ReportedEvent,
    title="reporting/notifications",
    description="What became of each message (queued, sent, delivered, failed, suppressed): one line per message on "
    "its case's timeline, and the KPI of customers actually reached by message.",
    batch_size=1000,
    handler=project_delivered,
    batched=True,
    batch_size_setting="reporting_batch_size",
)

SUBSCRIPTIONS = (READ_MODELS, NOTIFICATIONS)
