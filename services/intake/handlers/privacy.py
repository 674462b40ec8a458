"""PIPL requests on a customer's data, and the erasure both a request and the retention sweep end in.

Erasure is crypto-shredding (see the README, "Personal data"): the customer's key is deleted, so every sealed copy
of their contact — on `complaint.contact`, its dead letters, any replay — stops opening; intake blanks its own copy
(the submissions), forgets the keys the customer is found by, logs who and why, and tells every holder
(`privacy.subject_erased`) to purge what it keeps in clear. The clear copies on the ingress topics, which no key
seals, are taken out after the commit by `ingress_scrub.py`, from the keys kept for it here. Each request is one
unit of work: the log row commits with the effect, or neither does.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from services.intake.events import SERVICE, contact_event
from services.intake.handlers.context import IntakeWork
from services.intake.privacy import (
    CorrectSubject,
    EraseSubject,
    ExportSubject,
    PrivacyLogEntry,
    Subject,
    SubjectErasure,
    SubjectExport,
    corrected,
    erased,
)
from services.intake.schemas import CustomerCreate
from shared.contracts import SubjectErased, SubjectErasedPayload, new_event
from shared.errors import Invalid, NotFound
from shared.logging import get_logger

log = get_logger(__name__)


async def _customer(subject: Subject, work: IntakeWork) -> uuid.UUID:
    kind, key = subject.lookup_key(work.context.customer_hash_key)
    customer_id = await work.repo.customer_by_key(kind, key)
    if customer_id is None:
        raise NotFound(f"no customer known by {subject.masked()}")
    return customer_id


async def export_subject(cmd: ExportSubject, work: IntakeWork) -> SubjectExport:
    """Every case intake holds for the subject's customer, with what they submitted; the read is logged."""
    customer_id = await _customer(cmd.subject, work)
    cases = tuple(await work.repo.cases_of(customer_id))
    ids = tuple(c.complaint_id for c in cases)
    await work.repo.log_privacy(
        PrivacyLogEntry("export", customer_id, cmd.subject.masked(), cmd.actor, cmd.reason, work.now, ids)
    )
    log.info("personal data exported", customer_id=str(customer_id), actor=cmd.actor, cases=len(cases))
    return SubjectExport(customer_id, cases)


async def erase_subject(cmd: EraseSubject, work: IntakeWork) -> SubjectErasure:
    """Delete the customer's key and everything intake keeps of them in clear; every holder is told."""
    customer_id = cmd.customer_id if cmd.customer_id is not None else await _customer(_named(cmd.subject), work)
    cases = await work.repo.cases_of(customer_id)
    for case in cases:
        await work.repo.replace_submission(case.complaint_id, erased(case.submission))
    await work.repo.schedule_ingress_scrub(customer_id, work.now)  # before the keys are forgotten
    await work.repo.forget_customer(customer_id)
    ids = tuple(c.complaint_id for c in cases)
    await work.repo.forget_messages(ids)
    subject = cmd.subject.masked() if cmd.subject is not None else f"customer {customer_id}"
    await work.repo.log_privacy(PrivacyLogEntry("erasure", customer_id, subject, cmd.actor, cmd.reason, work.now, ids))
    if ids:
        payload = SubjectErasedPayload(customer_id=customer_id, complaint_ids=ids, erased_at=work.now, reason=cmd.kind)
        work.emit(
            new_event(
                SubjectErased,
                complaint_id=ids[0],
                payload=payload,
                producer=SERVICE,
                correlation_id=f"erasure-{customer_id}",
                occurred_at=work.now,
            )
        )
    log.info("customer erased", customer_id=str(customer_id), actor=cmd.actor, kind=cmd.kind, cases=len(ids))
    return SubjectErasure(customer_id, ids, work.now)


def _named(subject: Subject | None) -> Subject:
    if subject is None:
        raise Invalid("an erasure names its subject or a customer id")
    return subject


async def correct_subject(cmd: CorrectSubject, work: IntakeWork) -> SubjectExport:
    """Correct the customer's contact fields on each of their cases; a new sealed `complaint.contact` per case
    carries the correction to every holder, the way the first one did."""
    customer_id = await _customer(cmd.subject, work)
    key = await work.repo.subject_key(customer_id)
    cases = await work.repo.cases_of(customer_id)
    for case in cases:
        submission = corrected(case.submission, cmd.fields)
        customer = _valid_customer(submission)
        await work.repo.replace_submission(case.complaint_id, submission)
        work.emit(
            [
                contact_event(
                    case.reference_no,
                    customer,
                    customer_id,
                    key,
                    complaint_id=case.complaint_id,
                    producer=SERVICE,
                    correlation_id=f"correction-{customer_id}",
                    occurred_at=work.now,
                )
            ]
        )
    new_phone = cmd.fields.get("phone")
    if new_phone and cmd.subject.phone and new_phone != cmd.subject.phone:
        secret = work.context.customer_hash_key
        old, new = Subject(phone=cmd.subject.phone).lookup_key(secret), Subject(phone=new_phone).lookup_key(secret)
        await work.repo.rekey_customer(customer_id, old, new)  # found by the corrected number from now on
    ids = tuple(c.complaint_id for c in cases)
    entry = PrivacyLogEntry("correction", customer_id, cmd.subject.masked(), cmd.actor, cmd.reason, work.now, ids)
    await work.repo.log_privacy(entry)
    return SubjectExport(customer_id, tuple(await work.repo.cases_of(customer_id)))


def _valid_customer(submission: dict[str, object]) -> CustomerCreate:
    """The corrected customer, checked as a submission's is (422 naming the field otherwise)."""
    try:
        return CustomerCreate.model_validate(submission["customer"])
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) or "customer" for e in exc.errors()]
        raise Invalid(
            f"the corrected contact is not valid: {', '.join(fields)}",
            errors=[{"field": f, "message": "invalid"} for f in fields],
        ) from None
