"""Dispatch's refusals: the shared family (`shared.errors`), and the few answers dispatch words its own way.

Routes hold no `try`: `shared.http.problems` answers each of these once, with its class's status and title, its
message as the detail, the field it names and its extra members (a work order's status, the valid root causes).
"""

from __future__ import annotations

from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound


class Unprocessable(Invalid):
    """A 422 of the incident, outage and asset-registry routes, which have always answered with HTTP's own title."""

    title = "Unprocessable Content"


__all__ = ["Conflict", "DomainError", "Forbidden", "Invalid", "NotFound", "Unprocessable"]
