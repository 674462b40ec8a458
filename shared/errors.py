"""One family of domain errors, for every service: what a use case refuses, and how that reads outside.

A handler raises one of these and nothing else decides how it is answered: `shared.http.problems` turns it into
a problem+json answer (the status and title of its class, its message as the detail, the field it names), and the
guarded Kafka consumer turns it into a dead letter at once, with the same words as the reason — a refusal will
not change on a retry. Routes hold no `try`; a service's own refusals subclass these and add what an integrator
needs to fix the request (`extra`), e.g. the work order's current status or the valid root-cause codes.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal by the domain: the request (or event) cannot be carried out as given."""

    status: ClassVar[int] = 422
    title: ClassVar[str] = "Invalid request"

    def __init__(
        self, detail: str = "", *, field: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        #: The request field at fault, named in the problem's `errors` list.
        self.field = field
        self.headers = headers
        #: More members of the problem answer (e.g. `work_order_status`).
        self.extra = extra

    def problem_members(self) -> dict[str, Any]:
        """What the problem answer carries besides type, title, status, instance and detail."""
        members = dict(self.extra)
        if self.field is not None:
            members.setdefault("errors", [{"field": self.field, "message": self.detail}])
        return members

    @property
    def reason(self) -> str:
        """How a dead letter names the refusal."""
        return f"{self.title}: {self.detail}" if self.detail else self.title


class Invalid(DomainError):
    """The request cannot be carried out as given (HTTP 422; a dead letter on an ingress topic)."""


class NotFound(DomainError):
    """No such thing (or none this caller may see)."""

    status = 404
    title = "Not Found"


class Forbidden(DomainError):
    """The caller may not do this."""

    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The request contradicts the current state (e.g. a step its status does not allow)."""

    status = 409
    title = "Conflict"


class Unavailable(DomainError):
    """A dependency this request needs is down: retry later (HTTP 503 with Retry-After; a consumer retries)."""

    status = 503
    title = "Service Unavailable"

    def __init__(self, detail: str = "", *, retry_after_s: int = 5, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)}, **extra)


__all__ = ["Conflict", "DomainError", "Forbidden", "Invalid", "NotFound", "Unavailable"]
