"""The platform as its people and systems use it: a small domain client over the services' public HTTP APIs.

Scenario tests (e2e, faults) read as a day's work — a customer submits, dispatch routes, a department acknowledges,
starts and resolves, an agent calls the customer back, a manager reads the case's timeline — instead of URLs,
headers and SQL. Each method is one documented endpoint, called with the credentials of whoever makes that call
in the utility (the dev keys `make run` configures); methods named `wait_…` poll a public read with a deadline.
An answer other than the one expected fails the test with the service's problem text; `expect=` asks for another
(a refusal a test proves), and then the problem document is returned.

The same client drives services run in-process (`PlatformClient.in_process`, each service's httpx client over its
ASGI app), so a scenario on in-process services reads the same as one on the real process tree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from tests.support.complaints import complaint, headers
from tests.support.metrics import Scrape, scrape
from tests.support.platform import Platform

T = TypeVar("T")

#: Who calls what, by the dev key `make run` gives them (a department's key acts on that department's work orders).
KEYS = {
    "supervisor": "dev-only-supervisor-key",
    "agent": "dev-only-agent-key",
    "manager": "dev-only-manager-key",
    "outage_system": "dev-only-outage-system-key",
    "notify": "dev-only-notify-key",
    "reporting_agent": "dev-only-reporting-agent-key",
    "repair": "dev-only-repair-key",
    "billing": "dev-only-billing-key",
    "customer_service": "dev-only-customer-service-key",
}


def as_(role: str) -> dict[str, str]:
    """The headers of a call made as `role` (a key of `KEYS`)."""
    return {"X-API-Key": KEYS[role]}


@dataclass(frozen=True)
class Accepted:
    """Intake's answer to a submission (202)."""

    complaint_id: str
    reference_no: str
    replayed: bool = False
    accepted_at: datetime | None = None


async def eventually(
    read: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 60.0, interval: float = 0.3
) -> T:
    """Poll `read` until it gives something (not None, not empty); fail saying `what` was awaited. A service that
    does not answer (restarting after a crash a scenario caused) is polled again like one that has nothing yet."""
    deadline = time.monotonic() + timeout
    while True:
        found: T | str | None
        try:
            found = await read()
        except httpx.TransportError as exc:
            found = f"no answer: {exc!r}"
        else:
            if found:
                return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout:.0f}s (last read: {found!r})")
        await asyncio.sleep(interval)


#: Idle pooled connections are not reused after this long: the services' uvicorn closes a connection idle for 5 s
#: (its keep-alive timeout), and a request sent on one just as it closes gets no answer ("Server disconnected without
#: sending a response": CI84, in a poll of five services' /metrics, each scrape 0.7 s on a quiet machine). Prometheus
#: retries such a GET; httpx does not, so this client never reuses a connection near the server's limit.
KEEPALIVE_EXPIRY_S = 2.0


class PlatformClient:
    """One client for the whole platform; use it as `async with PlatformClient(platform) as client`."""

    def __init__(self, platform: Platform | Mapping[str, str], *, timeout: float = 30.0) -> None:
        self.urls: dict[str, str] = dict(platform.services if isinstance(platform, Platform) else platform)
        self.http = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S))
        #: Services run in-process: their own httpx clients (over the ASGI app), used instead of `http`.
        self.in_process_clients: dict[str, httpx.AsyncClient] = {}

    @classmethod
    def in_process(cls, clients: Mapping[str, httpx.AsyncClient]) -> PlatformClient:
        """A client of services run in-process (tests/support/<service>.py's `running_<service>`), by service
        name ("intake", "dispatch" ...). Their clients stay the caller's to close."""
        client = cls({name: str(http.base_url).rstrip("/") for name, http in clients.items()})
        client.in_process_clients = dict(clients)
        return client

    def _http(self, service: str) -> httpx.AsyncClient:
        return self.in_process_clients.get(service, self.http)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        role: str | None = None,
        expect: int | Iterable[int] = 200,
        request_headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request to `service`'s API as `role`; the answer must have status `expect` (one or several)."""
        sent = {**(as_(role) if role else {}), **(request_headers or {})}
        response = await self._http(service).request(method, f"{self.urls[service]}{path}", headers=sent, **kwargs)
        wanted = {expect} if isinstance(expect, int) else set(expect)
        assert response.status_code in wanted, f"{method} {service}{path}: {response.status_code} {response.text}"
        return response

    # --- intake: complaints in ---------------------------------------------------------------------------------

    async def submit(self, channel: str = "web", *, idempotency_key: str | None = None, **fields: Any) -> Accepted:
        """A complaint by `channel` (a sample complaint with `fields` on top: see tests/support/complaints.py)."""
        return await self.submit_body(channel, complaint(channel, **fields), idempotency_key=idempotency_key)

    async def submit_body(self, channel: str, body: dict[str, Any], *, idempotency_key: str | None = None) -> Accepted:
        """POST /v1/complaints with the channel's key; 202 expected."""
        extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = await self.call(
            "POST", "intake", "/v1/complaints", expect=202, json=body, request_headers=headers(channel, **extra)
        )
        answer = response.json()
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        accepted_at = datetime.fromisoformat(answer["accepted_at"]) if answer.get("accepted_at") else None
        return Accepted(str(answer["complaint_id"]), str(answer["reference_no"]), replayed, accepted_at)

    async def submit_all(self, bodies: Iterable[tuple[str, dict[str, Any]]], *, at_once: int = 10) -> list[str]:
        """Every (channel, body), `at_once` in flight (as a call centre's agents would); their ids, in order."""
        gate = asyncio.Semaphore(at_once)

        async def one(channel: str, body: dict[str, Any]) -> str:
            async with gate:
                return (await self.submit_body(channel, body)).complaint_id

        return list(await asyncio.gather(*(one(channel, body) for channel, body in bodies)))

    # --- dispatch: cases and work orders ------------------------------------------------------------------------

    async def case(self, complaint_id: str) -> dict[str, Any]:
        """GET /v1/complaints/{id} as a supervisor: where the case stands, its work orders, links."""
        return dict((await self.call("GET", "dispatch", f"/v1/complaints/{complaint_id}", role="supervisor")).json())

    async def known_case(self, complaint_id: str) -> dict[str, Any] | None:
        """The case as `case` reads it, or None while dispatch has not received the complaint yet (404)."""
        path = f"/v1/complaints/{complaint_id}"
        found = await self.call("GET", "dispatch", path, role="supervisor", expect=(200, 404))
        return dict(found.json()) if found.status_code == 200 else None

    async def wait_case(
        self, complaint_id: str, until: Callable[[dict[str, Any]], bool], *, what: str, timeout: float = 60.0
    ) -> dict[str, Any]:
        """The case once dispatch has it and `until(case)` holds."""

        async def read() -> dict[str, Any] | None:
            case = await self.known_case(complaint_id)
            return case if case is not None and until(case) else None

        return await eventually(read, what=f"{what} ({complaint_id})", timeout=timeout)

    async def wait_routed(self, complaint_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """The complaint's current work order, once dispatch has routed it."""
        case = await self.wait_case(complaint_id, lambda c: bool(c["work_orders"]), what="routed", timeout=timeout)
        return dict(case["work_orders"][-1])

    async def work_order_step(
        self, work_order_id: str, step: str, department: str, body: Any = None, *, expect: int = 200
    ) -> dict[str, Any]:
        """POST /v1/work-orders/{id}/{step} with the department's key."""
        path = f"/v1/work-orders/{work_order_id}/{step}"
        return dict((await self.call("POST", "dispatch", path, role=department, expect=expect, json=body)).json())

    async def acknowledge(self, work_order_id: str, department: str = "repair") -> dict[str, Any]:
        return await self.work_order_step(work_order_id, "acknowledge", department)

    async def start(self, work_order_id: str, department: str = "repair") -> dict[str, Any]:
        return await self.work_order_step(work_order_id, "start", department)

    async def resolve(
        self, work_order_id: str, resolution: dict[str, Any], department: str = "repair", *, expect: int = 200
    ) -> dict[str, Any]:
        """Resolve with `resolution` (text, root cause; a serious case's cause analysis and corrective actions)."""
        return await self.work_order_step(work_order_id, "resolve", department, resolution, expect=expect)

    async def decide_validity(self, complaint_id: str, decision: dict[str, Any]) -> dict[str, Any]:
        """A supervisor overturns an invalid complaint (or closes one in triage as invalid)."""
        path = f"/v1/complaints/{complaint_id}/validity"
        return dict((await self.call("POST", "dispatch", path, role="supervisor", json=decision)).json())

    async def triage(self) -> dict[str, Any]:
        """The supervisors' triage queue."""
        return dict((await self.call("GET", "dispatch", "/v1/triage", role="supervisor")).json())

    async def route_from_triage(self, complaint_id: str, category: str, note: str) -> dict[str, Any]:
        """A supervisor's decision on a doubtful complaint; the work order it gets."""
        body = {"category": category, "note": note}
        return dict(
            (await self.call("POST", "dispatch", f"/v1/triage/{complaint_id}", role="supervisor", json=body)).json()
        )

    async def queue(self, department: str, *, page_size: int = 50) -> dict[str, Any]:
        """A department's open work orders."""
        params = {"page_size": page_size}
        return dict(
            (await self.call("GET", "dispatch", f"/v1/queues/{department}", role=department, params=params)).json()
        )

    async def import_assets(self, csv: bytes) -> dict[str, Any]:
        """A supervisor imports the asset registry (stations, feeders ...) from CSV."""
        content_type = {"content-type": "text/csv"}
        response = await self.call(
            "POST", "dispatch", "/v1/assets/import", role="supervisor", content=csv, request_headers=content_type
        )
        return dict(response.json())

    async def incidents(self, status: str = "open") -> list[dict[str, Any]]:
        """Incidents as the repair department lists them."""
        params = {"status": status}
        return list((await self.call("GET", "dispatch", "/v1/incidents", role="repair", params=params)).json()["items"])

    async def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident with its linked complaints, as a supervisor reads it."""
        return dict((await self.call("GET", "dispatch", f"/v1/incidents/{incident_id}", role="supervisor")).json())

    async def declare_outage(self, notice: dict[str, Any]) -> dict[str, Any]:
        """The outage system declares a planned or unplanned outage (201)."""
        response = await self.call(
            "POST", "dispatch", "/v1/outage-notices", role="outage_system", expect=201, json=notice
        )
        return dict(response.json())

    async def outage_step(self, outage_id: str, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The outage system moves an outage on (`eta`, `restored` ...)."""
        path = f"/v1/outage-notices/{outage_id}/{step}"
        return dict((await self.call("POST", "dispatch", path, role="outage_system", json=body)).json())

    async def outages(self, *, active: bool = True) -> list[dict[str, Any]]:
        params = {"active": str(active).lower()}
        return list(
            (await self.call("GET", "dispatch", "/v1/outage-notices", role="repair", params=params)).json()["items"]
        )

    # --- followup: callbacks ------------------------------------------------------------------------------------

    async def callbacks(self, *, owner: str | None = None) -> list[dict[str, Any]]:
        """The agents' whole callback worklist (every page), or one owner's."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "page_size": 200, **({"owner": owner} if owner else {})}
            listed = (await self.call("GET", "followup", "/v1/callbacks", role="agent", params=params)).json()
            found += listed["items"]
            if page * 200 >= listed["total"]:
                return found
            page += 1

    async def wait_callback(
        self, complaint_id: str, *, owner: str | None = None, kind: str | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        """The complaint's callback once it is in the worklist (of `kind`, when given)."""

        async def read() -> dict[str, Any] | None:
            return next(
                (
                    c
                    for c in await self.callbacks(owner=owner)
                    if c["complaint_id"] == complaint_id and (kind is None or c.get("kind") == kind)
                ),
                None,
            )

        return await eventually(read, what=f"a callback for {complaint_id} listed", timeout=timeout)

    async def callback(self, callback_id: str, outcome: str = "satisfied", **details: Any) -> dict[str, Any]:
        """An agent records the call's outcome (satisfied, dissatisfied, unreachable)."""
        path = f"/v1/callbacks/{callback_id}/outcome"
        body = {"outcome": outcome, **details}
        return dict((await self.call("POST", "followup", path, role="agent", json=body)).json())

    # --- reporting: what managers read --------------------------------------------------------------------------

    async def timeline(self, complaint_id: str, *, role: str | None = "manager", expect: int = 200) -> dict[str, Any]:
        """Reporting's case (GET /v1/cases/{id or ref}): status, work orders, callbacks, messages and the timeline,
        as `role` reads it (a manager sees the phone masked, a hotline agent in full; None: no credential)."""
        path = f"/v1/cases/{complaint_id}"
        return dict((await self.call("GET", "reporting", path, role=role, expect=expect)).json())

    async def wait_timeline(
        self, complaint_id: str, until: Callable[[dict[str, Any]], bool], *, what: str, timeout: float = 60.0
    ) -> dict[str, Any]:
        """Reporting's case once it has it and `until(case)` holds."""

        async def read() -> dict[str, Any] | None:
            path = f"/v1/cases/{complaint_id}"
            found = await self.call("GET", "reporting", path, role="manager", expect=(200, 404))
            case = found.json() if found.status_code == 200 else None
            return case if case is not None and until(case) else None

        return await eventually(read, what=f"{what} ({complaint_id})", timeout=timeout)

    async def report(self, path: str, **params: Any) -> dict[str, Any]:
        """A manager's report: `kpis`, `reports/incidents`, `reports/serious` ... (GET /v1/<path>)."""
        return dict((await self.call("GET", "reporting", f"/v1/{path}", role="manager", params=params)).json())

    async def report_csv(self, path: str, **params: Any) -> str:
        """A manager's report as CSV (`reports/serious.csv` ...)."""
        return (await self.call("GET", "reporting", f"/v1/{path}", role="manager", params=params)).text

    # --- operations -----------------------------------------------------------------------------------------------

    async def metrics(self, service: str) -> Scrape:
        """The service's /metrics, parsed by prometheus-client's own parser."""
        return await scrape(self._http(service), self.urls[service])

    # --- notify: messages ---------------------------------------------------------------------------------------

    async def deliveries(self, complaint_id: str) -> list[dict[str, Any]]:
        """Every message notify holds about the complaint, with its status."""
        params = {"complaint_id": complaint_id}
        return list((await self.call("GET", "notify", "/v1/deliveries", role="notify", params=params)).json()["items"])
