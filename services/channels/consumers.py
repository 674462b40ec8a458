"""What channels consumes, as one table (`SUBSCRIPTIONS`, wired by `bootstrap.py` through the door).

Registration point (shared): an area adds its `Subscription` row here with one import and one line. Each row is its
own consumer group (`channels.<what it does>`), so an area's consumer keeps its own offsets and its own processed
marks; the group name is also the consumer's name in dead-letter headers and processed-event marks — never rename
one (it would replay the topics' history).
"""

from __future__ import annotations

from services.channels.handlers.cases import CASE_TOPICS, CaseEvent, keep_cases
from shared.kafka.subscription import Subscription

CASES = Subscription(
    group="channels.cases",
    topics=CASE_TOPICS,
    model=CaseEvent,
    title="channels/cases",
    description="The case read model: reference number, status, department, notes, ETA, keyed hashes of the contact "
    "data, and the messages sent to the customer — what every customer-facing protocol reads.",
    batch_size=200,
    handler=keep_cases,
    batched=True,
)

SUBSCRIPTIONS: tuple[Subscription, ...] = (CASES,)
