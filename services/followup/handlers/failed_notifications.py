"""A message notify could not deliver on any channel after its last attempt (`notification.failed`): a customer's
becomes an agent's task in the callbacks worklist — phone the customer and tell them what the message said — and a
staff member's is logged and counted (their clocks escalate on their own; nothing new is escalated).

The task is a row of `callbacks` of kind `notification_failed`, keyed by the notification id in place of a work
order (the table's (complaint, work order) key makes it once per notification, whatever the redeliveries). It is
due within `TASK_LIMIT` (scaled like every clock), for the case's owner when it has one, else the team. Its outcome
only completes it (reached) or retries it (unreachable): it does not close, reopen or call back the case, and
publishes no callback event (the case's callbacks and their coverage stay the resolution's, `outcomes.py`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.followup.handlers.context import FollowupWork
from services.followup.metrics import NotificationUndelivered
from services.followup.model import Callback
from shared.contracts import Department, NotificationFailed
from shared.logging import get_logger
from shared.observability import committed

log = get_logger(__name__)
KIND = "notification_failed"
#: How soon an agent should phone a customer no message reached.
TASK_LIMIT = timedelta(hours=2)
#: The agents' own department holds the task.
TASK_DEPARTMENT = Department.CUSTOMER_SERVICE.value


async def on_failed(event: NotificationFailed, work: FollowupWork) -> None:
    """Counted (after the commit); a customer's becomes a task, a staff member's is logged."""
    p = event.payload
    committed.note([NotificationUndelivered(p.template_id, p.recipient_kind)])
    if p.recipient_kind == "customer":
        await _task(event, work)
    else:
        log.warning(
            "staff notification undelivered", template_id=p.template_id, channels=p.channels_tried, reason=p.reason
        )


async def _task(event: NotificationFailed, work: FollowupWork) -> None:
    p, now = event.payload, work.now
    record = await work.repo.notification(p.notification_id)
    complaint_id: uuid.UUID = record.complaint_id if record else event.complaint_id
    reference_no = p.reference_no or (record.reference_no if record else None) or ""
    task = Callback(
        callback_id=uuid.uuid4(),
        complaint_id=complaint_id,
        work_order_id=p.notification_id,
        reference_no=reference_no,
        department=TASK_DEPARTMENT,
        cycle=1,
        resolution=None,
        due_at=now + TASK_LIMIT * work.context.time_scale,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        completed_at=None,
        last_note=None,
        last_agent=None,
        severity="normal",
        correlation_id=(record.correlation_id if record else None) or event.correlation_id,
        owner=await work.repo.case_owner(complaint_id),
        kind=KIND,
        reason=KIND,
        template_id=p.template_id,
        message=record.text if record else None,
    )
    if await work.repo.add_callback(task):
        log.warning("customer notification undelivered: agent to phone", template_id=p.template_id, reason=p.reason)
