"""What channels consumes, as one table (`SUBSCRIPTIONS`, wired by `bootstrap.py` through the door).

Registration point (shared): an area adds its `Subscription` row here with one import and one line. Each row is its
own consumer group (`channels.<what it does>`), so an area's consumer keeps its own offsets and its own processed
marks; the group name is also the consumer's name in dead-letter headers and processed-event marks — never rename
one (it would replay the topics' history).
"""

from __future__ import annotations

from services.channels.handlers.cases import CASE_TOPICS, CaseEvent, keep_cases
from services.channels.handlers.partner_pushes import PUSH_TOPICS, PushEvent, push_partner_states
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

PARTNER_PUSHES = Subscription(
    group="channels.partner-pushes",
    topics=PUSH_TOPICS,
    model=PushEvent,
    title="channels/partner-pushes",
    description="The partner hotlines' tickets (12345, 95598): 签收 on complaint.received, 退单 on complaint.invalid, "
    "办结 on the workorder.resolved that resolves the case, 回访 on the final callback.attempted — queued in order per "
    "ticket for the delivery worker (`partners/worker.py`).",
    batch_size=200,
    handler=push_partner_states,
    batched=True,
)

SUBSCRIPTIONS: tuple[Subscription, ...] = (CASES, PARTNER_PUSHES)
