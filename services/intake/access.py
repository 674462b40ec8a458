"""Who may submit what, and who may read which complaint and how much of it.

A channel key submits for its own channel only (and may name the agent who took a phone or counter complaint in
`agent_id`, as before). A person submits only what a person takes: phone and counter complaints; who took it is
the person the token names, never a field they type — so "cases owned" in the per-staff report is always a
person, and the same person as their callbacks and resolutions.

Pure rules over the caller (`auth.py` says who calls): refusals are `shared.errors`, answered once by the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.intake.schemas import AGENT_CHANNELS, ComplaintCreate
from shared.contracts import Channel
from shared.errors import Forbidden, Invalid
from shared.http.person import Person
from shared.privacy import mask_name, mask_phone, mask_phones_in_text

#: Roles of persons who take complaints (a supervisor may stand in at the phone or the counter).
SUBMITTING_ROLES = ("agent", "supervisor")
#: Persons who read any phone or counter submission, not only their own.
READ_ALL_ROLES = ("supervisor",)


@dataclass(frozen=True)
class Submission:
    """A complaint as it may be submitted by this caller: `agent_id` is the signed-in person's, `agent_name` their
    display name (None for a channel system)."""

    complaint: ComplaintCreate
    agent_name: str | None = None


def authorize_submission(caller: Channel | Person, complaint: ComplaintCreate) -> Submission:
    """What the caller may submit, or a refusal: 403 for another channel (or a person on a channel no person
    takes); 422 naming `agent_id` when a person's body names another agent, or naming the first-contact fields a
    channel key sent without `agent_id`."""
    if isinstance(caller, Person):
        return _by_person(caller, complaint)
    if complaint.channel != caller:
        raise Forbidden(
            f"this credential submits for channel {caller.value!r} only",
            errors=[{"field": "channel", "message": f"must be {caller.value!r} for this credential"}],
        )
    unsigned = complaint.unsigned_first_contact()
    if unsigned:
        message = "needs agent_id: the agent who took the complaint"
        raise Invalid(
            "; ".join(f"{name}: {message}" for name in unsigned),
            errors=[{"field": name, "message": message} for name in unsigned],
        )
    return Submission(complaint)


def _by_person(person: Person, complaint: ComplaintCreate) -> Submission:
    if not person.has(*SUBMITTING_ROLES):
        raise Forbidden("only an agent or a supervisor submits complaints")
    if complaint.channel not in AGENT_CHANNELS:
        allowed = " or ".join(sorted(c.value for c in AGENT_CHANNELS))
        raise Forbidden(
            f"a person submits for channel {allowed} only, not {complaint.channel.value!r}",
            errors=[{"field": "channel", "message": f"must be {allowed} for a signed-in person"}],
        )
    if complaint.agent_id is not None and complaint.agent_id != person.staff_id:
        raise Invalid(
            f"agent_id: must be the signed-in agent's staff id ({person.staff_id!r}) or left out",
            errors=[{"field": "agent_id", "message": "names another agent than the signed-in person"}],
        )
    return Submission(complaint.model_copy(update={"agent_id": person.staff_id}), person.name)


def may_read(caller: Channel | Person, channel: str, submission: dict[str, Any]) -> bool:
    """A channel reads what it submitted; an agent what they took themselves; a supervisor any phone or counter
    complaint. Nobody browses other channels' customers."""
    if not isinstance(caller, Person):
        return channel == caller.value
    if channel not in {c.value for c in AGENT_CHANNELS} or not caller.has(*SUBMITTING_ROLES):
        return False
    return caller.has(*READ_ALL_ROLES) or submission.get("agent_id") == caller.staff_id


def as_seen_by(caller: Channel | Person, submission: dict[str, Any]) -> dict[str, Any]:
    """The submission as the caller sees it: a person sees the customer's contact masked, phone numbers in the text
    too (only dispatch hands real contact data to persons, and logs each read)."""
    if not isinstance(caller, Person):
        return submission
    customer = dict(submission.get("customer") or {})
    if customer.get("name"):
        customer["name"] = mask_name(customer["name"])
    if customer.get("phone"):
        customer["phone"] = mask_phone(customer["phone"])
    for hidden in ("email", "wechat_openid"):
        if customer.get(hidden):
            customer[hidden] = "***"
    text = submission.get("text")
    return {**submission, "customer": customer, "text": mask_phones_in_text(text) if text else text}
