"""One signed-in person calling the platform's public APIs with their own access token, as the console does on
their behalf: the steps a browser test takes over the API where the screens are another test's (a dispatcher
signing for a work order, a supervisor reading the contact-access log or the per-staff report, the duty manager
reading notify's inbox).

Synchronous, because the browser tests run Playwright's sync API (which cannot run inside an asyncio loop); the
asynchronous scenarios use `PlatformClient` (tests/support/client.py) with the services' keys. As there, each
method is one documented endpoint and an answer other than the one expected fails the test with the problem text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx


class PersonClient:
    """`staff_id`'s calls, with a token from `token(staff_id)` (the identity provider's, asked per call so a long
    test never sends an expired one). One connection per call, as a browser test makes a few: nothing to close."""

    def __init__(
        self, services: Mapping[str, str], staff_id: str, token: Callable[[str], str], *, timeout: float = 30.0
    ) -> None:
        self.urls = dict(services)
        self.staff_id = staff_id
        self.token = token
        self.timeout = timeout

    def call(
        self, method: str, service: str, path: str, *, expect: int | Iterable[int] = 200, **kwargs: Any
    ) -> httpx.Response:
        """One request to `service`'s API as this person; the answer must have status `expect` (one or several)."""
        sent = {"Authorization": f"Bearer {self.token(self.staff_id)}"}
        url = f"{self.urls[service]}{path}"
        response = httpx.request(method, url, headers=sent, timeout=self.timeout, **kwargs)
        wanted = {expect} if isinstance(expect, int) else set(expect)
        assert response.status_code in wanted, (
            f"{self.staff_id}: {method} {service}{path}: {response.status_code} {response.text}"
        )
        return response

    # --- dispatch -------------------------------------------------------------------------------------------------

    def known_case(self, complaint: str) -> dict[str, Any] | None:
        """GET /v1/complaints/{id or reference}: the case with its work orders, or None while dispatch has not
        received it yet (404)."""
        found = self.call("GET", "dispatch", f"/v1/complaints/{complaint}", expect=(200, 404))
        return dict(found.json()) if found.status_code == 200 else None

    def work_order_step(self, work_order_id: str, step: str, body: Any = None) -> dict[str, Any]:
        """POST /v1/work-orders/{id}/{step} (`acknowledge`, `crew` ...) as this person."""
        path = f"/v1/work-orders/{work_order_id}/{step}"
        return dict(self.call("POST", "dispatch", path, json=body).json())

    def contact_access(self, complaint: str, staff_id: str) -> list[dict[str, Any]]:
        """GET /v1/contact-access: who read a case's customer contact (a supervisor's look at one staff member)."""
        params = {"complaint_id": complaint, "staff_id": staff_id}
        return list(self.call("GET", "dispatch", "/v1/contact-access", params=params).json()["items"])

    # --- reporting ------------------------------------------------------------------------------------------------

    def report(self, path: str, **params: Any) -> dict[str, Any]:
        """A report this person may read (`reports/staff` ...): GET /v1/<path>."""
        return dict(self.call("GET", "reporting", f"/v1/{path}", params=params).json())

    # --- notify ---------------------------------------------------------------------------------------------------

    def inbox(self) -> list[dict[str, Any]]:
        """GET /v1/inbox: the notices notify holds for this person."""
        return list(self.call("GET", "notify", "/v1/inbox").json()["items"])

    def mark_read(self, notification_id: str) -> dict[str, Any]:
        """POST /v1/inbox/{id}/read: this person has read the notice."""
        return dict(self.call("POST", "notify", f"/v1/inbox/{notification_id}/read").json())
