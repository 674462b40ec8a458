"""The events intake publishes (through its outbox): one public, masked, and one restricted with the contact."""

from __future__ import annotations

import uuid
from typing import Any

from services.intake.customers import MatchedCustomer
from services.intake.model import NO_FACTS, SERVICE, ChannelFacts, StoredComplaint
from services.intake.schemas import ComplaintCreate, CustomerCreate
from shared.contracts import (
    ComplaintContact,
    ComplaintContactPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    CustomerPublic,
    Event,
    new_event,
)
from shared.privacy import mask_name, mask_phone, mask_phones_in_text
from shared.shredding import seal
from shared.subject_keys import sealed_location

__all__ = ["SERVICE", "build_events", "contact_event", "contact_fields"]


def build_events(
    stored: StoredComplaint,
    complaint: ComplaintCreate,
    *,
    agent_name: str | None = None,
    facts: ChannelFacts = NO_FACTS,
    matched: MatchedCustomer | None = None,
) -> list[Event]:
    """The public, masked `complaint.received` (v2: with the agent who took it and what was settled on contact;
    v3: the signed-in agent's display name; v4: a partner's deadline and demand, attachments, the customer
    matched; v5: the exact address and coordinates sealed with the customer's key) and the restricted
    `complaint.contact`."""
    customer = complaint.customer
    common: dict[str, Any] = {
        "complaint_id": stored.complaint_id,
        "producer": SERVICE,
        "correlation_id": stored.correlation_id,
        "occurred_at": stored.accepted_at,
    }
    received = new_event(
        ComplaintReceived,
        payload=ComplaintReceivedPayload(
            complaint_id=stored.complaint_id,
            reference_no=stored.reference_no,
            channel=complaint.channel,
            channel_ticket_id=complaint.channel_ticket_id,
            received_at=complaint.received_at,
            accepted_at=stored.accepted_at,
            customer=_masked(customer),
            location=sealed_location(
                complaint.location, matched.customer_id if matched else None, matched.subject_key if matched else None
            ),
            text=mask_phones_in_text(complaint.text),
            category_hint=complaint.category_hint,
            agent_id=complaint.agent_id,
            handled_on_contact=complaint.handled_on_contact,
            customer_agitated=complaint.customer_agitated,
            agent_name=agent_name,
            **_v4(facts, matched),
        ),
        **common,
    )
    contact = contact_event(
        stored.reference_no,
        customer,
        matched.customer_id if matched else None,
        matched.subject_key if matched else None,
        **common,
    )
    return [received, contact.model_copy(update={"causation_id": received.event_id})]


def contact_event(
    reference_no: str,
    customer: CustomerCreate,
    customer_id: uuid.UUID | None,
    subject_key: bytes | None,
    **common: Any,
) -> ComplaintContact:
    """The restricted `complaint.contact` v2: the contact fields sealed with the customer's key, never in clear
    (without a key — which the repository always makes — they stay in intake). `common`: the envelope's fields,
    the complaint id among them."""
    sealed = None
    if customer_id is not None and subject_key is not None:
        sealed = seal(subject_key, customer_id, contact_fields(customer))
    return new_event(
        ComplaintContact,
        payload=ComplaintContactPayload(
            complaint_id=common["complaint_id"],
            reference_no=reference_no,
            preferred_contact=customer.preferred_contact,
            customer_id=customer_id,
            sealed=sealed,
        ),
        **common,
    )


def contact_fields(customer: CustomerCreate) -> dict[str, str | None]:
    """What is sealed: the fields that name or reach the person."""
    return {
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "wechat_openid": customer.wechat_openid,
    }


def _masked(customer: CustomerCreate) -> CustomerPublic:
    """What every subscriber may see of the customer."""
    return CustomerPublic(
        account_no=customer.account_no,
        name_masked=mask_name(customer.name) if customer.name else None,
        phone_masked=mask_phone(customer.phone) if customer.phone else None,
        preferred_contact=customer.preferred_contact,
    )


def _v4(facts: ChannelFacts, matched: MatchedCustomer | None) -> dict[str, Any]:
    """v4's fields: a partner's deadline and demand (phone numbers masked), attachments, the customer matched."""
    return {
        "partner_deadline_at": facts.partner_deadline_at,
        "demand": mask_phones_in_text(facts.demand) if facts.demand else None,
        "attachments": facts.attachments,
        "customer_id": matched.customer_id if matched else None,
        "matched_by": matched.matched_by if matched else None,
    }
