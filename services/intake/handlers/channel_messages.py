"""Taking what the channels service hands on (`ingress.channel-messages`): a complaint is submitted like any other
— the standard `submit_complaint`, with the id channels minted adopted and the provider's message id as the channel
ticket id (deduplicated as every submission is) — and a customer's reply becomes `complaint.customer_replied` on the
case its reference number names. A reference intake never issued is poison: dead-lettered with the reason (the
message stays in channels' `inbound_messages`)."""

from __future__ import annotations

from services.intake.channel_ingress import customer_replied, to_submission
from services.intake.handlers.context import IntakeWork
from services.intake.handlers.submit import submit_complaint
from services.intake.privacy import CustomerMessage
from shared.contracts.channels import ChannelComplaint, ChannelReply
from shared.kafka.consumer import PoisonMessage
from shared.logging import bind_case, get_logger

log = get_logger(__name__)


async def take_channel_message(message: ChannelComplaint | ChannelReply, work: IntakeWork) -> None:
    if isinstance(message, ChannelComplaint):
        submitted = await submit_complaint(to_submission(message), work)
        bind_case(complaint_id=str(submitted.complaint.complaint_id))
        return
    await take_reply(message, work)


async def take_reply(message: ChannelReply, work: IntakeWork) -> None:
    reference_no = message.payload.reference_no
    complaint = await work.repo.by_reference(reference_no)
    if complaint is None:
        raise PoisonMessage(f"reply {message.payload.message_id}: no complaint has reference number {reference_no!r}")
    bind_case(complaint_id=str(complaint.complaint_id))
    p = message.payload
    # Kept in clear here, where the subject is (a PIPL export shows it; the erasure deletes it); masked on the topic.
    await work.repo.add_customer_message(
        CustomerMessage(p.message_id, complaint.complaint_id, p.channel.value, p.kind, p.score, p.text, p.received_at)
    )
    work.emit(customer_replied(message, complaint_id=complaint.complaint_id, reference_no=reference_no, at=work.now))
    log.info(
        "customer replied",
        complaint_id=str(complaint.complaint_id),
        kind=message.payload.kind,
        channel=message.payload.channel.value,
    )
