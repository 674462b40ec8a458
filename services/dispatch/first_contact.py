"""First contact: what an agent settled on the call or at the counter needs no work order (the customer is still
called back) — unless talking cannot settle it.

The rules (DESIGN.md, "What the handling rules add"): what can be explained or settled at once is settled at once.
Decided here, pure:

- an invalid complaint stays invalid: the agent's note does not make it ours;
- a safety hazard or an emergency cannot be settled by talking: a crew must go. It is routed like any other,
  the reason saying the agent's handling was not enough;
- nor can a serious complaint (a repeat, several households, a threat to escalate): the rules send it to the
  department manager and leadership, and it closes only with a cause analysis and a corrective action
  (`resolution.py`), which a settlement on the call skips. It is routed too, the reason saying so;
- otherwise it is resolved on contact, and that wins over the triage queue (nothing is sent anywhere, so the
  classifier's doubt about where to send it does not matter), over an incident or outage notice it might have
  joined and over a duplicate link: the customer's question was answered on the spot, and their callback
  follows from this resolution. (Such a complaint does not count towards an incident's threshold either.)

The resolution is customer service's: the agent who settled it works there (`ComplaintResolvedOnContact`'s
department), whatever department the category would have gone to; the callback limit is the one the
category, severity and district would have had.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.dispatch.classification import Classification
from shared.contracts import Category, Department, Severity

#: Whose staff settle complaints at first contact: the agents of the hotline and the counter.
SETTLED_BY = Department.CUSTOMER_SERVICE


@dataclass(frozen=True)
class FirstContact:
    """The agent's handling on contact, and whether it settles the complaint (`reason` says either way)."""

    settled: bool
    reason: str


def first_contact(
    handled_on_contact: str | None, agent_id: str | None, decision: Classification
) -> FirstContact | None:
    """None when the agent settled nothing on contact (or the complaint is invalid: it stays invalid)."""
    if not handled_on_contact or not decision.valid:
        return None
    who = agent_id or "the agent"
    if decision.category is Category.SAFETY_HAZARD:
        return FirstContact(
            False, f"handled on contact by {who}, but a safety hazard cannot be settled on contact: a crew must go"
        )
    if decision.severity is Severity.EMERGENCY:
        return FirstContact(
            False, f"handled on contact by {who}, but an emergency cannot be settled on contact: a crew must go"
        )
    if decision.severity is Severity.SERIOUS:
        return FirstContact(
            False,
            f"handled on contact by {who}, but a serious complaint cannot be settled on contact: it goes to the "
            "department manager and leadership, and closes only with a cause analysis and a corrective action",
        )
    return FirstContact(True, f"resolved on contact by {who}")
