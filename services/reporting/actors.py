"""Who took each step of a case: a person (staff id and display name), a machine credential, or the system —
read off the events themselves (pure, no I/O).

Each event names its actor in its own words: `complaint.received` the agent who took it (`agent_id`; v3 also
`agent_name`, when a signed-in person submitted it), work-order events `actor` (a person's staff id since dispatch
knows persons, with `actor_name`), `callback.attempted` its `agent` (v3 `agent_name`), a first-contact settlement
its `owner`, an invalid complaint who `decided_by`, corrective actions their `actor`; a customer's reply on their
case (`complaint.customer_replied`) is the `customer`'s. Events nobody in particular takes (routing, clocks,
escalations, reopening, closing) are the system's.

A display name a step does not carry is taken from the same staff id elsewhere in the case (the agent named on the
received complaint also settled it at first contact). An id counts as a person's when an event gives it a display
name of its own (a name other than the id: dispatch names a credential after itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The actor of a step no person or credential took.
SYSTEM = "system"
#: The actor of a step the customer took themselves (a reply on their case; a callback they answered by SMS).
CUSTOMER = "customer"
#: Steps whose actor is always the same, named by no field of the event.
_TAKEN_BY: dict[str, str] = {"complaint.customer_replied": CUSTOMER}
#: Where an event names who acted, and their display name (None: the event carries no name).
_NAMED_BY: dict[str, tuple[str, str | None]] = {
    "complaint.received": ("agent_id", "agent_name"),
    "callback.attempted": ("agent", "agent_name"),
    "complaint.resolved_on_contact": ("owner", None),
    "complaint.invalid": ("decided_by", "decided_by_name"),
    "corrective_action.set": ("actor", None),
    "corrective_action.completed": ("actor", None),
}


@dataclass(frozen=True)
class Actor:
    """Who took a step: `id` a staff id, a credential's name or `system`; `name` their display name, when known."""

    id: str
    name: str | None = None


def named_in(event_type: str, payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The id and display name the event itself gives whoever acted (None, None: nobody in particular)."""
    if event_type in _TAKEN_BY:
        return _TAKEN_BY[event_type], None
    fields = _NAMED_BY.get(event_type)
    if fields is None:
        if not (event_type.startswith("workorder.") or "actor" in payload):
            return None, None
        fields = ("actor", "actor_name")
    id_field, name_field = fields
    actor = payload.get(id_field)
    name = payload.get(name_field) if name_field else None
    return (actor if isinstance(actor, str) and actor else None), (name if isinstance(name, str) and name else None)


def person_name(actor: str | None, name: str | None) -> str | None:
    """The display name when it names a person (dispatch gives a credential's own name as its display name)."""
    return name if actor and name and name != actor else None


def person_names(events: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """Staff id -> display name, from every event that gives a person's name (the latest one wins)."""
    names: dict[str, str] = {}
    for event_type, payload in events:
        actor, name = named_in(event_type, payload)
        shown = person_name(actor, name)
        if actor and shown:
            names[actor] = shown
    return names


def step_actor(event_type: str, payload: Mapping[str, Any], names: Mapping[str, str]) -> Actor:
    """Who took this step: the id the event names (or the system) and the name it gives, else the one known."""
    actor, name = named_in(event_type, payload)
    if actor is None:
        return Actor(SYSTEM)
    return Actor(actor, name or names.get(actor))
