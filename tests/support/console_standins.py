"""The console under test with the services it calls stood in: one recording transport answers intake, dispatch,
followup, reporting and notify (`http://<name>.test`) and the provider's discovery and keys, and keeps every request,
so a screen's test says what each service answers and reads what the console sent (as the person, with which body).

An answer is a status and a JSON body (`on`), or a function of the request (`on_request`): a refusal for some
persons only, or a module's own stand-in with a state of its own (notify's inbox marking a notice read, say).

The console itself is real (in-process, on a database of its own, `tests.support.console`); sessions are written as a
sign-in writes them (`session_for`). A module opens it once (`console_on_standins`, a module fixture) and sets the
answers its screens read; a test changes an answer with `on` where it needs another.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from shared.http.person import Person
from tests.support.console import SignedIn, console_database, running_console, session_for, session_of
from tests.support.tokens import LocalIssuer

#: The services the console calls, each at `http://<name>.test`.
SERVICES = ("intake", "dispatch", "followup", "reporting", "notify")
Answer = Callable[[httpx.Request], httpx.Response]


@dataclass
class StandIns:
    """The services by (service, method, path pattern), and the issuer's discovery and keys; every request kept."""

    issuer: LocalIssuer
    answers: dict[tuple[str, str, str], Answer] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def on(self, service: str, method: str, path: str, status: int, body: Any = None) -> None:
        """Answer `method` on `path` (a regular expression, matched whole) of `service` with `status` and `body` as
        JSON (None: no body)."""
        self.on_request(service, method, path, lambda request: httpx.Response(status, json=body))

    def on_request(self, service: str, method: str, path: str, answer: Answer) -> None:
        """Answer `method` on `path` of `service` with what `answer` makes of the request. Where patterns overlap,
        the one set last wins, also when it is set again (a pattern set again replaces its answer and moves last)."""
        self.answers.pop((service, method, path), None)
        self.answers[(service, method, path)] = answer

    def calls(self, service: str, method: str = "POST") -> list[httpx.Request]:
        """The requests of `method` sent to `service`, oldest first."""
        return [r for r in self.seen if r.url.host == f"{service}.test" and r.method == method]

    def posted(self, path: str, service: str | None = None) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to `path` (of any service, or of `service` alone), oldest first."""
        return [
            json.loads(r.content)
            for r in self.seen
            if r.method == "POST" and r.url.path == path and (service is None or r.url.host == f"{service}.test")
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The issuer's discovery and keys, else the answer set last whose service, method and path match (the
        provider's other endpoints are service `issuer`'s: unanswered unless a test sets them), else 404."""
        self.seen.append(request)
        if str(request.url).startswith(self.issuer.issuer):
            if request.url.path.endswith("/.well-known/openid-configuration"):
                return httpx.Response(200, json=self.issuer.discovery)
            if request.url.path.endswith("/protocol/openid-connect/certs"):
                return httpx.Response(200, json=self.issuer.jwks)
        service = request.url.host.removesuffix(".test")
        for (name, method, pattern), answer in reversed(self.answers.items()):
            if name == service and method == request.method and re.fullmatch(pattern, request.url.path):
                return answer(request)
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": f"no {request.url.path}"})


@dataclass
class ConsoleOnStandIns:
    """The console under test, its client, the stand-ins it calls, and the issuer its sessions' tokens come from."""

    app: FastAPI
    client: httpx.AsyncClient
    services: StandIns
    issuer: LocalIssuer

    async def as_(self, who: str | Person) -> SignedIn:
        """A signed-in session of one of `tests.support.console.DEMO_PEOPLE` (by staff id) or of any `Person`."""
        if isinstance(who, Person):
            return await session_of(self.app, self.issuer, who)
        return await session_for(self.app, self.issuer, who)

    async def get(
        self, path: str, who: SignedIn | None = None, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """`path` in `who`'s session (None: signed out), no other cookie (no language chosen earlier)."""
        self.client.cookies.clear()
        if who is not None:
            self.client.cookies.set("console_session", who.session_id)
        return await self.client.get(path, headers=headers)

    async def post(
        self,
        path: str,
        who: SignedIn,
        data: Mapping[str, str] | Sequence[tuple[str, str]],
        *,
        csrf: bool = True,
    ) -> httpx.Response:
        """A form as a browser posts the console's: multipart, each field without a file name, the session's CSRF
        token added (unless `csrf` is False: a form without it, or with a token of the test's own). Pairs (rather
        than a mapping) post a field more than once."""
        self.client.cookies.clear()
        self.client.cookies.set("console_session", who.session_id)
        fields = list(data.items()) if isinstance(data, Mapping) else list(data)
        form = [*fields, *([("csrf_token", who.csrf_token)] if csrf else [])]
        return await self.client.post(path, files=[(k, (None, v)) for k, v in form])


@asynccontextmanager
async def console_on_standins(server_url: str) -> AsyncIterator[ConsoleOnStandIns]:
    """The console on a new database of `server_url`'s server, calling `StandIns` for every service, its sessions'
    tokens verified against a `LocalIssuer` of its own; no answers set yet."""
    issuer = LocalIssuer()
    services = StandIns(issuer)
    urls: dict[str, Any] = {f"{name}_url": f"http://{name}.test" for name in SERVICES}
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(services.handle)) as http,
        console_database(server_url) as database_url,
        running_console(
            database_url,
            persons=issuer.verifier(),
            http=http,
            oidc_issuer=issuer.issuer,
            console_public_url="http://console",
            **urls,
        ) as (app, client),
    ):
        yield ConsoleOnStandIns(app, client, services, issuer)
