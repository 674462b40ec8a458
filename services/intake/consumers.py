"""What intake consumes, each message through the door: the partner hotlines' tickets, and what the channels service
hands on (a complaint taken by WeChat, mail or Open311, or a customer's reply on a case), each in its own group."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from services.intake.handlers.channel_messages import take_channel_message
from services.intake.handlers.partner_tickets import take_partner_ticket
from services.intake.handlers.retention import take_closed
from services.intake.partner_ingress import PartnerTicket
from shared import topics
from shared.contracts import ComplaintClosed
from shared.contracts.channels import ChannelComplaint, ChannelReply
from shared.kafka.subscription import Subscription

PARTNER_TICKETS = Subscription(
    group="intake",
    name="intake.partner-tickets",
    topics=(topics.PARTNER_TICKETS,),
    model=PartnerTicket,
    title="intake/partner-tickets",
    description="Tickets forwarded by the 12345 and 95598 hotlines; invalid ones go to the .dlq topic.",
    handler=take_partner_ticket,
)

CHANNEL_MESSAGES = Subscription(
    group="intake.channel-messages",
    topics=(topics.CHANNEL_MESSAGES,),
    model=Annotated[ChannelComplaint | ChannelReply, Field(discriminator="event_type")],
    title="intake/channel-messages",
    description="Complaints the channels service took (their complaint_id adopted, deduplicated on the provider's "
    "message id) and customers' replies (→ complaint.customer_replied; an unknown reference number goes to the .dlq "
    "topic with the reason).",
    handler=take_channel_message,
)

CLOSED_CASES = Subscription(
    group="intake.closed-cases",
    topics=(topics.COMPLAINT_CLOSED,),
    model=ComplaintClosed,
    title="intake/complaint.closed",
    description="When each case closed: the start of its contact data's retention period (issue 25).",
    handler=take_closed,
)

SUBSCRIPTIONS = (PARTNER_TICKETS, CHANNEL_MESSAGES, CLOSED_CASES)
