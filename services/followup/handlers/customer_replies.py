"""A customer replied on their case (`complaint.customer_replied`: an answer to our SMS, a mail answering ours, a
WeChat message on an open case), and followup acts on what the channels service read in it.

- A survey score (the customer answered "2"): the mark is kept on the case's callback (`survey_score`), beside the
  agent's survey; the callback itself still happens (every customer is called back).
- Dissatisfied ("还是不热", "not fixed") while the case's callback is pending: the customer has answered the callback
  themselves, so it is recorded like an agent's — through `outcomes.record_outcome`, the same rules (reopened a
  severity up, the dissatisfied ladder, dissatisfied again to the top) — with agent `customer` and method `sms`
  (`email`, `wechat`: the channel the reply came by).
- Anything else, or a score or a complaint with no callback to put it on (the case is not resolved yet, or its
  callback is done: a closed case is reopened by a person, not by a text message): a staff notice to the case's
  owner, or to the supervisor of the case's department when nobody owns it yet, with the reply's (masked) text.
"""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from services.followup.handlers.outcomes import RecordOutcome, record_outcome
from services.followup.model import Callback
from shared.contracts import CustomerReplied, Department, Recipient
from shared.contracts.followup import CallbackMethod
from shared.logging import bind_case, get_logger

log = get_logger(__name__)
#: Who "made" a callback the customer answered themselves.
AGENT = "customer"
#: The channel a reply came by -> how the callback reached the customer (an SMS reply comes from their phone).
METHODS: dict[str, CallbackMethod] = {"phone": "sms", "email": "email", "wechat": "wechat"}
TEMPLATE = "customer_replied"
#: Who is told of a reply on a case nobody owns yet (in its department, else customer service).
UNOWNED_ROLE = "supervisor"
#: The longest reply a callback's note keeps (the API's limit for an agent's note).
NOTE_LIMIT = 2000


async def on_replied(event: CustomerReplied, work: FollowupWork) -> None:
    p = event.payload
    bind_case(complaint_id=str(p.complaint_id))
    callback = await work.repo.case_callback(p.complaint_id)
    if p.kind == "survey_score" and p.score is not None and callback is not None:
        await work.repo.record_survey_score(callback.callback_id, p.score, p.replied_at)
        log.info("survey score replied", score=p.score, channel=p.channel.value)
        return
    if p.kind == "dissatisfied" and callback is not None and callback.status == "pending":
        await _dissatisfied(event, callback, work)
        return
    await _tell_owner(event, work)


async def _dissatisfied(event: CustomerReplied, callback: Callback, work: FollowupWork) -> None:
    p = event.payload
    command = RecordOutcome(
        callback.callback_id,
        "dissatisfied",
        agent=AGENT,
        note=p.text[:NOTE_LIMIT] or None,
        method=METHODS.get(p.channel.value, "sms"),
    )
    await record_outcome(command, work)
    log.info("customer replied dissatisfied: callback recorded", channel=p.channel.value)


async def _tell_owner(event: CustomerReplied, work: FollowupWork) -> None:
    p = event.payload
    owner = await work.repo.case_owner(p.complaint_id)
    department = Department(await work.repo.case_department(p.complaint_id) or Department.CUSTOMER_SERVICE.value)
    recipient = (
        Recipient(kind="staff", staff_id=owner, department=department)
        if owner
        else Recipient(kind="staff", role=UNOWNED_ROLE, department=department)
    )
    work.emit(
        await work.context.notifier.request(
            work.repo,
            complaint_id=p.complaint_id,
            correlation_id=event.correlation_id,
            template_id=TEMPLATE,
            recipient=recipient,
            params={"reference_no": p.reference_no, "text": p.text or "-"},
            at=work.now,
        )
    )
    log.info("customer reply passed to the case owner", kind=p.kind, owned=owner is not None)
