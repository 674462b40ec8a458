"""What the console reads from Kafka: the public topics behind its live pages (`live.py`), as one row like every
service's table, so the broker's grants (`shared.kafka.principals`) and the tools see it.

Unlike the other services' rows, this one is not wired through `subscribe_all` and has no use case: each replica
reads every partition itself, without a consumer group (`group` only names the row), from the latest offset,
because every replica must hear every change for the streams it holds; nothing is committed, stored or
dead-lettered — a notice is only a hint that a page should re-read.
"""

from __future__ import annotations

from services.console.live_kinds import LIVE_TOPICS
from shared.kafka.subscription import Subscription

LIVE = Subscription(
    group="console.live",
    topics=LIVE_TOPICS,
    model=None,
    title="console/live",
    description="Every public event of a case, work order, escalation, duty call, incident, outage notice or "
    "corrective action, turned into a change notice (kinds and ids only) for the open pages' live regions.",
)

SUBSCRIPTIONS = (LIVE,)
