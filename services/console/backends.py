"""The platform's services as the console calls them: over their own HTTP APIs, as the signed-in person
(`Authorization: Bearer <the person's access token>`), so every read and every action passes the same checks
as any other client's and is recorded under the person's name. The console keeps no rule and no SQL of theirs.

A service's refusal is the person's answer: a 4xx becomes `ServiceRefused` with the service's own detail (the
pages show it in the person's language, a 403 as a 403 page); a service that cannot be reached or fails is
`ServiceUnavailable` (a 503 page saying which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.logging import get_logger

log = get_logger(__name__)
SERVICES = ("intake", "dispatch", "followup", "reporting", "notify")


@dataclass
class ServiceRefused(Exception):
    """A service answered 4xx: its status, title, detail and named fields (problem+json)."""

    service: str
    status: int
    title: str = ""
    detail: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.service} answered {self.status}: {self.detail or self.title}"


@dataclass
class ServiceUnavailable(Exception):
    service: str
    reason: str

    def __str__(self) -> str:
        return f"{self.service} unavailable: {self.reason}"


class Backends:
    """One HTTP client for all services; `as_person` binds it to a person's access token."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        urls: dict[str, str],
        *,
        timeout_s: float = 10.0,
        on_answer: Callable[[str, int | None], None] | None = None,
    ) -> None:
        missing = set(SERVICES) - set(urls)
        if missing:
            raise ValueError(f"no URL for {sorted(missing)}")
        self._http = http
        self._urls = urls
        self._timeout = timeout_s
        self._on_answer = on_answer or (lambda service, status: None)

    def as_person(self, access_token: str, correlation_id: str | None = None) -> PersonCalls:
        return PersonCalls(self, access_token, correlation_id)

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str,
        correlation_id: str | None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = f"{self._urls[service]}{path}"
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
        if correlation_id:
            sent["X-Correlation-ID"] = correlation_id
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self._http.request(
                method, url, params=clean, json=json, files=files, headers=sent, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            self._on_answer(service, None)
            log.warning("service unreachable", service=service, path=path, error=repr(exc))
            raise ServiceUnavailable(service, type(exc).__name__) from None
        self._on_answer(service, response.status_code)
        if response.status_code >= 500:
            log.warning("service failed", service=service, path=path, status=response.status_code)
            raise ServiceUnavailable(service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise _refusal(service, response)
        return response


def _refusal(service: str, response: httpx.Response) -> ServiceRefused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    listed = body.get("errors")
    errors = listed if isinstance(listed, list) else []
    return ServiceRefused(
        service=service,
        status=response.status_code,
        title=str(body.get("title") or response.reason_phrase),
        detail=str(body.get("detail") or ""),
        errors=[e for e in errors if isinstance(e, dict)],
    )


class PersonCalls:
    """The services' APIs as one person."""

    def __init__(self, backends: Backends, token: str, correlation_id: str | None) -> None:
        self._backends = backends
        self._token = token
        self._correlation_id = correlation_id

    async def get(self, service: str, path: str, **params: Any) -> Any:
        response = await self._send(service, "GET", path, params=params)
        return response.json()

    async def post(self, service: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None) -> Any:
        response = await self._send(service, "POST", path, json=body if body is not None else {}, headers=headers)
        return response.json() if response.content else None

    async def upload(
        self, service: str, path: str, field_name: str, filename: str, content: bytes, content_type: str
    ) -> Any:
        response = await self._send(service, "POST", path, files={field_name: (filename, content, content_type)})
        return response.json() if response.content else None

    async def fetch(self, service: str, path: str) -> httpx.Response:
        """The raw answer (an image), for the console to pass on."""
        return await self._send(service, "GET", path, headers={"Accept": "*/*"})

    async def optional(self, service: str, path: str, **params: Any) -> Any:
        """A read the page can do without: None when the service says 404 (nothing yet, e.g. no SLA clocks)."""
        try:
            return await self.get(service, path, **params)
        except ServiceRefused as exc:
            if exc.status == 404:
                return None
            raise

    async def if_answered(self, service: str, path: str, **params: Any) -> Any:
        """A read for a side region of every page (the managers' surge banner): None when the service refuses or
        cannot be reached, so the region says so in its place instead of the page's messages showing an error."""
        try:
            return await self.get(service, path, **params)
        except (ServiceRefused, ServiceUnavailable):
            return None

    async def _send(self, service: str, method: str, path: str, **request: Any) -> httpx.Response:
        """`Backends.send` as this person, in this request's correlation."""
        return await self._backends.send(
            service, method, path, token=self._token, correlation_id=self._correlation_id, **request
        )
