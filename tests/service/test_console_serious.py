"""Leadership's serious cases in the console on real Postgres, dispatch answered by a recording stand-in: the list
and a case's page render in Chinese and English from dispatch's answers; approving and sending back are one call
each with the body dispatch documents (a send-back without a reason is refused on the page); the work order page of
a serious lead whose analysis leadership approves offers the department's "propose" form instead of typing the
analysis into the resolution; the screen opens to leadership, HR/administration and supervisors only."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.console import SignedIn, running_console, session_for
from tests.support.infrastructure import Infrastructure
from tests.support.reporting import fresh_database
from tests.support.tokens import LocalIssuer

SERVICES = {name: f"http://{name}.test" for name in ("intake", "dispatch", "followup", "reporting")}
WORK_ORDER = str(uuid.uuid4())
REFERENCE = "TS-20261206-000424"
PROPOSAL = {
    "round": 1,
    "status": "proposed",
    "cause_analysis": "立管接头锈蚀漏气",
    "corrective_actions": [
        {"description": "排查立管接头", "owner": "燃气管网所", "deadline": "2027-01-06T00:00:00+00:00"}
    ],
    "proposed_by": "repair.zhao",
    "proposed_by_name": "赵磊",
    "proposed_at": "2026-12-06T01:00:00+00:00",
    "decided_by": None,
    "decided_by_name": None,
    "decided_at": None,
    "decision_note": None,
}
SERIOUS = {
    "work_order_id": WORK_ORDER,
    "complaint_id": str(uuid.uuid4()),
    "reference_no": REFERENCE,
    "text": "楼道煤气味很重",
    "department": "repair",
    "category": "safety_hazard",
    "severity": "emergency",
    "status": "acknowledged",
    "resolve_by": "2026-12-06T10:00:00+00:00",
    "incident_id": None,
    "proposal": PROPOSAL,
    "approval_required": True,
}
ORDER = {
    "work_order_id": WORK_ORDER,
    "complaint_id": SERIOUS["complaint_id"],
    "reference_no": REFERENCE,
    "department": "repair",
    "status": "acknowledged",
    "category": "safety_hazard",
    "severity": "emergency",
    "role": "lead",
    "priority": 1,
    "acknowledge_by": "2026-12-06T01:00:00+00:00",
    "resolve_by": "2026-12-06T10:00:00+00:00",
    "text": "楼道煤气味很重",
    "history": [],
    "findings": [],
    "photos": [],
}
Answer = Callable[[httpx.Request], httpx.Response]


@dataclass
class StandIn:
    issuer: LocalIssuer
    answers: dict[tuple[str, str, str], Answer] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def on(self, service: str, method: str, path: str, status: int, body: Any) -> None:
        self.answers[(service, method, path)] = lambda request: httpx.Response(status, json=body)

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.seen if r.method == "POST" and r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if str(request.url).startswith(self.issuer.issuer):
            if request.url.path.endswith("/.well-known/openid-configuration"):
                return httpx.Response(200, json=self.issuer.discovery)
            return httpx.Response(200, json=self.issuer.jwks)
        service = request.url.host.removesuffix(".test")
        for (name, method, pattern), answer in reversed(self.answers.items()):
            if name == service and method == request.method and re.fullmatch(pattern, request.url.path):
                return answer(request)
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": f"no {request.url.path}"})


@dataclass
class Screen:
    app: FastAPI
    client: httpx.AsyncClient
    services: StandIn
    issuer: LocalIssuer

    async def as_(self, staff_id: str) -> SignedIn:
        return await session_for(self.app, self.issuer, staff_id)

    async def get(self, path: str, who: SignedIn) -> httpx.Response:
        self.client.cookies.clear()
        self.client.cookies.set("console_session", who.session_id)
        return await self.client.get(path)

    async def post(self, path: str, who: SignedIn, data: dict[str, str]) -> httpx.Response:
        self.client.cookies.clear()
        self.client.cookies.set("console_session", who.session_id)
        form = {**data, "csrf_token": who.csrf_token}
        return await self.client.post(path, files=[(k, (None, v)) for k, v in form.items()])


@pytest.fixture(scope="module")
async def screen(migrated: Infrastructure) -> AsyncIterator[Screen]:
    issuer = LocalIssuer()
    stand_in = StandIn(issuer)
    http = httpx.AsyncClient(transport=httpx.MockTransport(stand_in.handle))
    async with (
        fresh_database(migrated.database_url) as database_url,
        running_console(
            database_url,
            persons=issuer.verifier(),
            http=http,
            oidc_issuer=issuer.issuer,
            console_public_url="http://console",
            **{f"{name}_url": url for name, url in SERVICES.items()},
        ) as (app, client),
    ):
        stand_in.on("dispatch", "GET", "/v1/serious-cases", 200, {"items": [SERIOUS]})
        stand_in.on("dispatch", "GET", f"/v1/work-orders/{WORK_ORDER}/serious", 200, SERIOUS)
        stand_in.on("dispatch", "GET", f"/v1/work-orders/{WORK_ORDER}", 200, ORDER)
        stand_in.on("dispatch", "GET", "/v1/root-causes", 200, {"items": []})
        stand_in.on("dispatch", "GET", "/v1/crews", 200, {"items": []})
        for step in ("approve", "send-back", "propose"):
            path = f"/v1/work-orders/{WORK_ORDER}/serious/{step}"
            stand_in.on("dispatch", "POST", path, 200, PROPOSAL)
        yield Screen(app, client, stand_in, issuer)


async def test_leadership_reads_the_proposal_and_decides_in_both_languages(screen: Screen) -> None:
    leader = await screen.as_("leader.he")
    for lang, words in (("zh", "待审批"), ("en", "Waiting for approval")):
        listed = await screen.get(f"/leadership/serious?lang={lang}", leader)
        assert listed.status_code == 200 and REFERENCE in listed.text and words in listed.text, listed.text
    fragment = await screen.get("/leadership/serious/list", leader)
    assert 'data-testid="serious-case"' in fragment.text and "<html" not in fragment.text
    case = await screen.get(f"/leadership/serious/{WORK_ORDER}", leader)
    assert 'data-testid="approve-form"' in case.text and "立管接头锈蚀漏气" in case.text

    refused = await screen.post(f"/leadership/serious/{WORK_ORDER}/send-back", leader, {"reason": " "})
    assert refused.status_code == 422 and 'data-testid="send-back-form"' in refused.text
    back = await screen.post(f"/leadership/serious/{WORK_ORDER}/send-back", leader, {"reason": "请补充巡检原因"})
    assert back.status_code == 303 and back.headers["location"].startswith("/leadership/serious?done=serious_sent_back")
    approved = await screen.post(f"/leadership/serious/{WORK_ORDER}/approve", leader, {"note": "同意"})
    assert approved.status_code == 303
    assert screen.services.posted(f"/v1/work-orders/{WORK_ORDER}/serious/send-back") == [{"reason": "请补充巡检原因"}]
    assert screen.services.posted(f"/v1/work-orders/{WORK_ORDER}/serious/approve") == [{"note": "同意"}]


async def test_the_department_proposes_from_the_work_order_page(screen: Screen) -> None:
    zhao = await screen.as_("repair.zhao")
    screen.services.on("dispatch", "GET", f"/v1/work-orders/{WORK_ORDER}/serious", 200, SERIOUS | {"proposal": None})
    page = await screen.get(f"/work-orders/{WORK_ORDER}", zhao)
    assert page.status_code == 200, page.text
    assert 'data-testid="propose-section"' in page.text and 'data-testid="serious-section"' not in page.text
    form = {
        "cause_analysis": "立管接头锈蚀漏气",
        "action_1_description": "排查立管接头",
        "action_1_owner": "燃气管网所",
        "action_1_deadline": "2027-01-06T08:00",
    }
    answered = await screen.post(f"/work-orders/{WORK_ORDER}/propose", zhao, form)
    assert answered.status_code == 303 and "done=serious_proposed" in answered.headers["location"]
    (body,) = screen.services.posted(f"/v1/work-orders/{WORK_ORDER}/serious/propose")
    assert body == {
        "cause_analysis": "立管接头锈蚀漏气",
        "corrective_actions": [
            {"description": "排查立管接头", "owner": "燃气管网所", "deadline": "2027-01-06T08:00:00+08:00"}
        ],
    }


async def test_the_screen_opens_to_leadership_hr_and_supervisors_only(screen: Screen) -> None:
    for staff_id, status in (("hr.lin", 200), ("supervisor.wu", 200), ("repair.zhao", 403), ("agent.li", 403)):
        who = await screen.as_(staff_id)
        assert (await screen.get("/leadership/serious", who)).status_code == status, staff_id
