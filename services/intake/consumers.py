"""What intake consumes: the partner hotlines' tickets, one consumer group, each ticket through the door."""

from __future__ import annotations

from services.intake.handlers.partner_tickets import take_partner_ticket
from services.intake.partner_ingress import PartnerTicket
from shared import topics
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

SUBSCRIPTIONS = (PARTNER_TICKETS,)
