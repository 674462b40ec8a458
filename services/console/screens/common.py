"""What every screen's route takes: the page (signed-in person, language, templates) and the services' APIs as
that person; and the form helpers that turn a browser's fields into an API body."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from services.console.auth import SignedIn
from services.console.backends import PersonCalls, ServiceRefused
from services.console.deps import BackendsDep, Directory, Templates, Timezone
from services.console.pages import PageContext


async def page_context(
    request: Request, env: Templates, timezone: Timezone, session: SignedIn, directory: Directory
) -> PageContext:
    member = await directory.member(session.person.staff_id)
    page = PageContext(request, env, timezone, session, member)
    request.state.page = page  # the error pages show the same top bar
    return page


async def person_calls(request: Request, session: SignedIn, backends: BackendsDep) -> PersonCalls:
    return backends.as_person(session.access_token, getattr(request.state, "correlation_id", None))


Page = Annotated[PageContext, Depends(page_context)]
Calls = Annotated[PersonCalls, Depends(person_calls)]


class FormInvalid(Exception):
    """A field the console itself cannot turn into an API value (a time that is no time): 422, the field named."""

    def __init__(self, field: str, message_key: str) -> None:
        super().__init__(field)
        self.field = field
        self.message_key = message_key


T = TypeVar("T")


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What a form's action came to: the service's answer, or what to show on the form instead."""

    answer: T | None = None
    #: The service refused (4xx but 403): shown on the form with the service's own detail.
    refused: ServiceRefused | None = None
    #: A field the console itself cannot turn into an API value.
    invalid: FormInvalid | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None and self.invalid is None


async def attempt(action: Awaitable[T]) -> Attempt[T]:
    """A form's action, its refusal kept for the form: the one place the screens catch. A 403 is not the form's
    but the page's answer (the 403 page), so it goes on to the page errors, as does a service that is down."""
    try:
        return Attempt(await action)
    except FormInvalid as exc:
        return Attempt(invalid=exc)
    except ServiceRefused as exc:
        if exc.status == 403:
            raise
        return Attempt(refused=exc)


def text(form: Any, name: str) -> str | None:
    """A text field, stripped; None when empty or absent (the API then gets no such field)."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def flag(form: Any, name: str) -> bool:
    return form.get(name) in ("on", "true", "yes", "1")


def local_time(form: Any, name: str, timezone: ZoneInfo, *, required: bool = True) -> str | None:
    """A `datetime-local` field (the utility's local time) as ISO 8601 with its offset."""
    value = text(form, name)
    if value is None:
        if required:
            raise FormInvalid(name, "form.required")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FormInvalid(name, "form.not_a_time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone)
    return parsed.isoformat()


def number(form: Any, name: str, *, required: bool = True) -> float | None:
    value = text(form, name)
    if value is None:
        if required:
            raise FormInvalid(name, "form.required")
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise FormInvalid(name, "form.not_a_number") from None


def without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
