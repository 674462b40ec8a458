"""What of a customer a caller is shown (pure): the masked details every work-order subscriber sees, the real
contact a person who works the case sees, and what a read showed (the access log's `what`)."""

from __future__ import annotations

from services.dispatch.model import Case, Contact, CustomerDetails


def masked(case: Case) -> CustomerDetails:
    """What every subscriber of the work-order topics sees of the customer."""
    c = case.customer
    return CustomerDetails(
        name=c.get("name_masked"),
        phone=c.get("phone_masked"),
        email=None,
        account_no=c.get("account_no"),
        preferred_contact=c.get("preferred_contact") or "phone",
        masked=True,
    )


def revealed(case: Case, contact: Contact | None) -> CustomerDetails:
    """The real contact beside the case's account; masked name and phone until the contact event has arrived."""
    if contact is None:
        return masked(case)
    return CustomerDetails(
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
        account_no=case.account_no,
        preferred_contact=contact.preferred_contact,
        masked=False,
    )


def shown(case: Case, details: CustomerDetails) -> list[str]:
    """What of the customer a read showed: the access log's `what`."""
    fields = [name for name in ("name", "phone", "email", "account_no") if getattr(details, name)]
    if details.masked:
        fields = [f for f in fields if f not in ("name", "phone")]
    return [*fields, "address"] if case.location.get("address") else fields
