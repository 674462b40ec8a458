"""What notify consumes, as one table (`SUBSCRIPTIONS`, wired by `bootstrap.py` through the door): the
notification requests (restricted topic), in batches.

The group name is also the consumer name in processed-event marks and dead-letter headers: changing it would
replay the topic's retained week and rely on the primary key alone to dedupe.
"""

from __future__ import annotations

from services.notify.handlers import erasures
from services.notify.handlers.requests import deliver_requests
from shared import topics
from shared.contracts import SubjectErased
from shared.contracts.followup import NotificationRequested
from shared.kafka.subscription import Subscription

REQUESTS = Subscription(
    group="notify.requests",
    topics=(topics.NOTIFICATION_REQUESTED,),
    model=NotificationRequested,
    title="notify/notification.requested",
    description="Messages to deliver (customers' addresses inside): one delivery per notification id, its channel "
    "chosen (preferred → SMS → email; staff: their phone, email, the console inbox), held by quiet hours or "
    "suppressed by the daily cap.",
    batch_size=200,
    # The batch's staff are resolved with the directory once, before any delivery row is touched.
    handler=deliver_requests,
    batched=True,
)

ERASURES = Subscription(
    group="notify.privacy-erasures",
    topics=(topics.PRIVACY_ERASURES,),
    model=SubjectErased,
    title="notify/privacy.erasures",
    description="An erased customer (issue 25): the addresses of the messages to them removed.",
    handler=erasures.purge,
)

SUBSCRIPTIONS = (REQUESTS, ERASURES)
