"""The access table as a test: each person of the demo city against each console screen and each service API they
might reach, allowed or refused — on real tokens from the real identity provider (the session's Keycloak).

Every person signs in once, through Keycloak's own login form, to the console (their session cookie serves all
their screen rows); the API rows carry the same person's access token (a password grant of the test client, cached).
The four services and the console run in-process on the session's Postgres and Kafka, each checking tokens against
Keycloak's published keys as in production. One repair case is made first, as an agent would: a phone complaint
routed to repair and sent to crew 1.

What the table holds comes from the issue (#20, "Who may see what") and the API every helper builds to: a
department person sees only their department's work orders, a crew member only their crew's jobs, an agent the
cases (by reference) and no work order, a supervisor everything; duty managers and leadership read like a
supervisor and act like nobody, and get their own screens in a later issue. Then: a billing person cannot open a
repair work order; crew 2 does not see crew 1's job; signed out, every screen sends the browser to sign in; an
expired or tampered token is a 401 at every service; the machine keys work where they did.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt.api_jwt
import pytest

from shared.http.person import LEEWAY_S
from tests.support.complaints import complaint
from tests.support.console_platform import ConsolePlatform, running_console_platform
from tests.support.identity import IdentityProvider
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import wait_until
from tests.support.provider_sign_in import ProviderBrowser, sign_in_at_provider

#: Where the console says it is: the provider's console client allows http://127.0.0.1* as a redirect (nothing
#: listens here; the provider's redirect is handed to the in-process console).
PUBLIC_URL = "http://127.0.0.1:8906"

#: The table's columns: each demo person (deploy/demo-city/staff.csv) by surname.
PEOPLE = {
    "li": "agent.li",  # agent
    "zhao": "repair.zhao",  # dispatcher, repair
    "sun": "billing.sun",  # dispatcher, billing
    "zhou": "cs.zhou",  # dispatcher, customer service
    "chen": "crew1.chen",  # crew, repair-crew-1
    "yang": "crew2.yang",  # crew, repair-crew-2
    "wu": "supervisor.wu",  # supervisor
    "zheng": "duty.zheng",  # duty manager
    "qian": "manager.qian",  # department manager, repair
    "he": "leader.he",  # leadership
}

#: ok = allowed (2xx), 403 = refused (a screen: the console's 403 page; an API: a 403 problem).
#: `{case}` is the case's reference number; `{work_order}` its repair work order, sent to crew 1; `{own_order}`
#: a repair work order of the person's own, also sent to crew 1 and not yet signed for, so every acknowledge that is
#: allowed succeeds on its own order.
ACCESS_TABLE = """
                                                        li    zhao  sun   zhou  chen  yang  wu    zheng qian  he
console   GET  /agent/complaints/new                    ok    403   403   403   403   403   ok    403   403   403
console   GET  /agent/callbacks                         ok    403   403   403   403   403   ok    403   403   403
console   GET  /departments/repair/queue                403   ok    403   403   403   403   ok    403   ok    403
console   GET  /departments/billing/queue               403   403   ok    403   403   403   ok    403   403   403
console   GET  /crew/jobs                               403   403   403   403   ok    ok    403   403   403   403
console   GET  /cases/{case}                            ok    ok    ok    ok    403   403   ok    ok    ok    ok
console   GET  /work-orders/{work_order}                403   ok    403   403   ok    403   ok    403   ok    403
console   GET  /supervisor                              403   403   403   403   403   403   ok    403   403   403
console   GET  /supervisor/escalations                  403   403   403   403   403   403   ok    ok    ok    ok
console   GET  /supervisor/incidents                    403   403   403   403   403   403   ok    403   403   403
console   GET  /supervisor/corrective-actions           403   403   403   403   403   403   ok    403   403   403
console   GET  /supervisor/contact-access               403   403   403   403   403   403   ok    403   403   403
console   GET  /dashboard                               403   403   403   403   403   403   ok    ok    ok    ok
console   GET  /leadership/serious                      403   403   403   403   403   403   ok    403   403   ok
console   GET  /supervisor/coordination                403   403   403   403   403   403   ok    403   403   403
console   GET  /supervisor/triage                       403   403   403   403   403   403   ok    403   403   403
console   GET  /supervisor/model                        403   403   403   403   403   403   ok    403   403   403
dispatch  GET  /v1/queues/repair                        403   ok    403   403   403   403   ok    ok    ok    ok
dispatch  GET  /v1/work-orders/{work_order}             403   ok    403   403   ok    403   ok    ok    ok    ok
dispatch  POST /v1/work-orders/{own_order}/acknowledge  403   ok    403   403   ok    403   ok    403   ok    403
dispatch  GET  /v1/crews/repair-crew-1/jobs             403   ok    403   403   ok    403   ok    ok    ok    ok
dispatch  GET  /v1/contact-access                       403   403   403   403   403   403   ok    ok    403   ok
dispatch  GET  /v1/triage/corrections                  403   403   403   403   403   403   ok    403   403   403
dispatch  GET  /v1/models                               403   403   403   403   403   403   ok    403   403   403
dispatch  GET  /v1/serious-cases                        403   403   403   403   403   403   ok    ok    403   ok
dispatch  GET  /v1/coordination                       403   403   403   403   403   403   ok    ok    403   ok
intake    POST /v1/complaints (phone)                   ok    403   403   403   403   403   ok    403   403   403
intake    POST /v1/complaints (web)                     403   403   403   403   403   403   403   403   403   403
followup  GET  /v1/callbacks                            ok    403   403   403   403   403   ok    ok    ok    ok
followup  GET  /v1/duty-calls                           403   403   403   403   403   403   ok    ok    403   ok
console   GET  /duty                                    403   403   403   403   403   403   ok    ok    403   403
followup  GET  /v1/escalations                          ok    403   403   403   403   403   ok    ok    ok    ok
reporting GET  /v1/reports/staff                        403   403   403   403   403   403   ok    ok    ok    ok
reporting GET  /v1/cases/{case}                         ok    ok    ok    ok    403   403   ok    ok    ok    ok
reporting GET  /v1/surges                               ok    ok    ok    ok    403   403   ok    ok    ok    ok
"""


@dataclass(frozen=True)
class Row:
    where: str  # "console" (a screen, with the session cookie) or the service called with the bearer token
    method: str
    target: str  # the path, with {case}, {work_order} or {own_order} to fill in
    channel: str | None  # intake's: the complaint's channel
    person: str
    allowed: bool

    @property
    def id(self) -> str:
        channel = f" ({self.channel})" if self.channel else ""
        return f"{self.person}: {self.where} {self.method} {self.target}{channel}"


def _rows(table: str) -> list[Row]:
    header, *lines = [line for line in table.strip("\n").splitlines() if line.strip()]
    assert header.split() == list(PEOPLE), "the table's columns are PEOPLE's"
    rows = []
    for line in lines:
        words = line.split()
        where, method, rest, cells = words[0], words[1], words[2:-10], words[-10:]
        assert set(cells) <= {"ok", "403"}, line
        channel = re.fullmatch(r"\((\w+)\)", rest[-1]) if len(rest) > 1 else None
        target = rest[0]
        for column, cell in zip(PEOPLE, cells, strict=True):
            rows.append(Row(where, method, target, channel.group(1) if channel else None, PEOPLE[column], cell == "ok"))
    return rows


ROWS = _rows(ACCESS_TABLE)
#: Every console screen of this issue (with the case's and work order's placeholders).
SCREENS = sorted({row.target for row in ROWS if row.where == "console"})


# -- the platform, the case, the signed-in people ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def platform(
    migrated: Infrastructure, identity_provider: IdentityProvider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsolePlatform]:
    """The four services and the console, each building its verifier from the provider's issuer (no stand-in)."""
    async with running_console_platform(
        migrated,
        str(tmp_path_factory.mktemp("photos")),
        identity={"oidc_issuer": identity_provider.issuer, "oidc_audience": identity_provider.audience},
        console={
            "console_oidc_client_id": identity_provider.console_client_id,
            "console_oidc_client_secret": identity_provider.console_client_secret,
            "console_public_url": PUBLIC_URL,
        },
    ) as running:
        yield running


async def _token(provider: IdentityProvider, staff_id: str) -> str:
    """The person's access token from the provider (a password grant, cached while it has a minute left)."""
    return await asyncio.to_thread(provider.token, staff_id)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class SignedIn:
    """A person's browser at the console: a client holding only the session cookie the console set."""

    staff_id: str
    console: httpx.AsyncClient
    _csrf: str | None = field(default=None, repr=False)

    async def csrf(self) -> str:
        """The session's CSRF token, as a form finds it in the page."""
        if self._csrf is None:
            page = await self.console.get("/", follow_redirects=True)
            found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
            assert found is not None, page.text[:300]
            self._csrf = found.group(1)
        return self._csrf


@pytest.fixture(scope="module")
async def signed_in(
    platform: ConsolePlatform, identity_provider: IdentityProvider
) -> AsyncIterator[dict[str, SignedIn]]:
    """Each person signed in once, through the provider's login form, each in a browser of their own."""
    people: dict[str, SignedIn] = {}
    try:
        for staff_id in PEOPLE.values():
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=platform.console_app), base_url="http://console", timeout=60
            )
            people[staff_id] = SignedIn(staff_id, client)
            async with ProviderBrowser() as browser:
                answer = await sign_in_at_provider(
                    client, browser, staff_id, identity_provider.password, public_url=PUBLIC_URL
                )
            assert answer.status_code == 303, f"{staff_id}: {answer.status_code} {answer.text[:300]}"
            session = answer.cookies.get("console_session")
            assert session, f"{staff_id}: no session cookie"
            client.cookies.clear()
            client.cookies.set("console_session", session)
        yield people
    finally:
        for person in people.values():
            await person.console.aclose()


@dataclass(frozen=True)
class Case:
    """The case the table reads: its reference number, its repair work order, and one fresh one per person."""

    reference: str
    work_order: str
    own_work_orders: dict[str, str]

    def path(self, target: str, staff_id: str) -> str:
        return target.format(case=self.reference, work_order=self.work_order, own_order=self.own_work_orders[staff_id])


#: This module's customers' phone (each with an account of its own: two accounts are two customers).
PHONE = f"139{uuid.uuid4().int % 10**8:08d}"


def _phone_complaint(**overrides: Any) -> dict[str, Any]:
    """A heating complaint of a household of its own (no incident, no duplicate of the same customer): routed to
    repair. The module's own phone too: intake matches a customer by phone, and another module's complaint without an
    account may have used the common test number before (its open case would take this one as a duplicate)."""
    body = complaint("phone", **overrides)
    body["customer"]["account_no"] = f"HT-{uuid.uuid4().hex[:8].upper()}"
    body["customer"]["phone"] = PHONE
    return body


SUPERVISOR_KEY = {"X-API-Key": "dev-only-supervisor-key"}
MANAGER_KEY = {"X-API-Key": "dev-only-manager-key"}


@pytest.fixture(scope="module")
async def case(platform: ConsolePlatform, identity_provider: IdentityProvider) -> Case:
    """agent.li takes phone complaints (one for the table's case, one per person to acknowledge); dispatch routes
    them to repair; repair.zhao sends crew 1 to each; reporting has the case."""
    intake, dispatch, reporting = (platform.clients[s] for s in ("intake", "dispatch", "reporting"))
    agent = _bearer(await _token(identity_provider, "agent.li"))
    accepted = await asyncio.gather(
        *(intake.post("/v1/complaints", json=_phone_complaint(), headers=agent) for _ in range(1 + len(PEOPLE)))
    )
    assert all(a.status_code == 202 for a in accepted), [a.text for a in accepted if a.status_code != 202]
    references = [a.json()["reference_no"] for a in accepted]

    async def repair_work_order(reference: str) -> str | None:
        found = await dispatch.get(f"/v1/complaints/{reference}", headers=SUPERVISOR_KEY)
        if found.status_code != 200:
            return None
        orders = found.json().get("work_orders") or []
        return next((o["work_order_id"] for o in orders if o["department"] == "repair"), None)

    work_orders = []
    for reference in references:
        work_orders.append(await wait_until(lambda r=reference: repair_work_order(r), timeout=90, interval=0.3))
    dispatcher = _bearer(await _token(identity_provider, "repair.zhao"))
    for work_order in work_orders:
        sent = await dispatch.post(
            f"/v1/work-orders/{work_order}/crew", headers=dispatcher, json={"crew": "repair-crew-1"}
        )
        assert sent.status_code == 200, sent.text
    reference = references[0]
    await wait_until(
        lambda: _ok(reporting.get(f"/v1/cases/{reference}", headers=MANAGER_KEY)), timeout=90, interval=0.3
    )
    return Case(reference, work_orders[0], dict(zip(PEOPLE.values(), work_orders[1:], strict=True)))


async def _ok(request: Any) -> bool:
    return (await request).status_code == 200


# -- the table -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_the_access_table(
    row: Row,
    platform: ConsolePlatform,
    signed_in: dict[str, SignedIn],
    case: Case,
    identity_provider: IdentityProvider,
) -> None:
    path = case.path(row.target, row.person)
    if row.where == "console":
        answer = await signed_in[row.person].console.request(row.method, path)
        expected = 200 if row.allowed else 403
        assert answer.status_code == expected, f"{row.id}: {answer.status_code} {_page_message(answer.text)}"
        assert answer.headers["content-type"].startswith("text/html")
        if not row.allowed:
            assert 'data-testid="error-title">您无权查看或办理此项<' in answer.text, "the console's 403 page"
        return
    body = _phone_complaint() if row.channel == "phone" else complaint(row.channel) if row.channel else None
    token = await _token(identity_provider, row.person)
    answer = await platform.clients[row.where].request(row.method, path, json=body, headers=_bearer(token))
    if row.allowed:
        assert 200 <= answer.status_code < 300, f"{row.id}: {answer.status_code} {answer.text[:300]}"
    else:
        assert answer.status_code == 403, f"{row.id}: {answer.status_code} {answer.text[:300]}"
        assert answer.headers["content-type"] == "application/problem+json"


def _page_message(page: str) -> str:
    found = re.search(r'data-testid="error-title">([^<]*)<', page)
    detail = re.search(r'lang="en"[^>]*>([^<]*)<', page)
    return " ".join(m.group(1) for m in (found, detail) if m) or page[:200]


# -- a billing person and a repair work order ------------------------------------------------------------------


async def test_a_billing_person_cannot_open_or_act_on_a_repair_work_order(
    platform: ConsolePlatform, signed_in: dict[str, SignedIn], case: Case, identity_provider: IdentityProvider
) -> None:
    sun = signed_in["billing.sun"]
    page = f"/work-orders/{case.work_order}"
    screen = await sun.console.get(page)
    assert screen.status_code == 403 and 'data-testid="error-title">您无权查看或办理此项<' in screen.text
    assert "王小明" not in screen.text and PHONE not in screen.text, "nothing of the customer"
    form = await sun.console.post(f"{page}/acknowledge", files=[("csrf_token", (None, await sun.csrf()))])
    assert form.status_code == 403, form.text[:300]

    dispatch = platform.clients["dispatch"]
    token = _bearer(await _token(identity_provider, "billing.sun"))
    for method, path in (
        ("GET", f"/v1/work-orders/{case.work_order}"),
        ("POST", f"/v1/work-orders/{case.work_order}/acknowledge"),
        ("GET", "/v1/queues/repair"),
    ):
        refused = await dispatch.request(method, path, headers=token)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    order = await dispatch.get(f"/v1/work-orders/{case.work_order}", headers=SUPERVISOR_KEY)
    assert order.json()["status"] == "assigned", "nothing was signed for"


# -- crews see their own crew's jobs only ----------------------------------------------------------------------


async def test_crew_2_does_not_see_crew_1s_job_and_crew_1_does(
    platform: ConsolePlatform, signed_in: dict[str, SignedIn], case: Case, identity_provider: IdentityProvider
) -> None:
    dispatch = platform.clients["dispatch"]
    yang = _bearer(await _token(identity_provider, "crew2.yang"))
    chen = _bearer(await _token(identity_provider, "crew1.chen"))

    other = await signed_in["crew2.yang"].console.get("/crew/jobs")
    assert other.status_code == 200 and case.work_order not in other.text
    own = await dispatch.get("/v1/crews/repair-crew-2/jobs", headers=yang)
    assert own.status_code == 200 and case.work_order not in {j["work_order_id"] for j in own.json()["items"]}
    assert (await dispatch.get("/v1/crews/repair-crew-1/jobs", headers=yang)).status_code == 403
    assert (await signed_in["crew2.yang"].console.get(f"/work-orders/{case.work_order}")).status_code == 403
    assert (await dispatch.get(f"/v1/work-orders/{case.work_order}", headers=yang)).status_code == 403

    mine = await signed_in["crew1.chen"].console.get("/crew/jobs")
    assert mine.status_code == 200 and case.work_order in mine.text
    jobs = await dispatch.get("/v1/crews/repair-crew-1/jobs", headers=chen, params={"page_size": 200})
    assert case.work_order in {j["work_order_id"] for j in jobs.json()["items"]}
    job = await signed_in["crew1.chen"].console.get(f"/work-orders/{case.work_order}")
    assert job.status_code == 200 and f'href="tel:{PHONE}"' in job.text, "crew 1 may call the customer"


# -- signed out ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cookie", [None, "no-such-session"], ids=["no cookie", "unknown session"])
@pytest.mark.parametrize("screen", SCREENS)
async def test_signed_out_every_screen_sends_the_browser_to_sign_in(
    platform: ConsolePlatform, case: Case, screen: str, cookie: str | None
) -> None:
    path = case.path(screen, "agent.li")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.console_app),
        base_url="http://console",
        cookies={"console_session": cookie} if cookie else None,
    ) as browser:
        answer = await browser.get(path)
    assert answer.status_code == 303, answer.text[:300]
    location = urlsplit(answer.headers["location"])
    assert location.path == "/login" and parse_qs(location.query) == {"next": [path]}


# -- tokens that are no longer (or never were) good ------------------------------------------------------------

#: One call per service that supervisor.wu may make (so a 401 is the token's fault, not the role's).
SERVICE_CALLS = {
    "dispatch": ("GET", "/v1/queues/repair"),
    "intake": ("POST", "/v1/complaints"),
    "followup": ("GET", "/v1/callbacks"),
    "reporting": ("GET", "/v1/reports/staff"),
}


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _tampered(token: str, **claims: Any) -> str:
    """The provider's token with its payload changed (the provider's signature kept): what a person would try to
    raise their own roles."""
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({**_claims(token), **claims}).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _clock_past(exp: int) -> type[datetime]:
    """PyJWT's clock (it reads `datetime.now` in jwt.api_jwt) moved past `exp` and the verifier's leeway.

    Why not an expired token: Keycloak's access tokens last 300 s, and waiting that long is not a test; a token
    minted by a local key would be no provider's. So the token is the provider's own, checked by each service's real
    verifier against the provider's keys — only the time it is checked at is five minutes on.
    """
    shift = timedelta(seconds=exp - datetime.now().timestamp() + LEEWAY_S + 5)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Later:  # type: ignore[override]
            return super().now(tz) + shift

    return Later


@pytest.mark.parametrize("service", list(SERVICE_CALLS))
async def test_an_expired_or_tampered_token_is_refused_with_401_by_every_service(
    platform: ConsolePlatform, identity_provider: IdentityProvider, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    method, path = SERVICE_CALLS[service]
    client = platform.clients[service]
    body = _phone_complaint() if service == "intake" else None
    good = await _token(identity_provider, "supervisor.wu")
    allowed = await client.request(method, path, json=body, headers=_bearer(good))
    assert 200 <= allowed.status_code < 300, allowed.text
    body = _phone_complaint() if service == "intake" else None

    crew = await _token(identity_provider, "crew2.yang")
    header, claims, signature = good.split(".")
    for what, token in (
        (
            "a crew member's roles raised to supervisor",
            _tampered(crew, roles=["supervisor"], crew=None, department=None),
        ),
        (
            "the signature changed",
            f"{header}.{claims}.{signature[:-6]}{'AAAAAA' if signature[-6:] != 'AAAAAA' else 'BBBBBB'}",
        ),
        ("the signature dropped", f"{header}.{claims}."),
    ):
        refused = await client.request(method, path, json=body, headers=_bearer(token))
        assert refused.status_code == 401, (what, refused.status_code, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")

    monkeypatch.setattr(jwt.api_jwt, "datetime", _clock_past(int(_claims(good)["exp"])))
    expired = await client.request(method, path, json=body, headers=_bearer(good))
    monkeypatch.undo()
    assert expired.status_code == 401, expired.text
    assert "expired" in expired.json()["detail"]


# -- the machine keys, as before ----------------------------------------------------------------------------------


def _key_calls() -> list[tuple[str, str, str, str, int]]:
    """(service, key, method, path, expected): the systems' keys where they worked before persons came."""
    return [
        ("dispatch", "dev-only-repair-key", "GET", "/v1/queues/repair", 200),
        ("dispatch", "dev-only-repair-key", "GET", "/v1/work-orders/{work_order}", 200),
        ("intake", "dev-only-phone-key", "POST", "phone", 202),
        ("intake", "dev-only-web-key", "POST", "web", 202),
        ("followup", "dev-only-agent-key", "GET", "/v1/callbacks", 200),
        ("reporting", "dev-only-manager-key", "GET", "/v1/reports/staff", 200),
        ("reporting", "dev-only-manager-key", "GET", "/v1/cases/{case}", 200),
    ]


@pytest.mark.parametrize(
    ("service", "key", "method", "target", "expected"), _key_calls(), ids=[f"{c[1]} {c[3]}" for c in _key_calls()]
)
async def test_a_machine_key_still_works_where_it_did(
    platform: ConsolePlatform, case: Case, service: str, key: str, method: str, target: str, expected: int
) -> None:
    headers = {"X-API-Key": key}
    if service == "intake":
        answer = await platform.clients[service].post("/v1/complaints", json=complaint(target), headers=headers)
    else:
        answer = await platform.clients[service].request(method, case.path(target, "agent.li"), headers=headers)
    assert answer.status_code == expected, answer.text[:300]
