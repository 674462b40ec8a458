"""The customer-service centre's coordination screens in the console on real Postgres, dispatch answered by a
recording stand-in: the list and a case render in Chinese and English from dispatch's answers (read as the person),
the list and the parts are live regions answered alone by their fragment routes, each form becomes one call of
`/v1/coordination` with the body it documents, and a refusal is shown on the page with dispatch's detail."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
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
REFERENCE = "TS-20261206-000777"
COMPLAINT = str(uuid.uuid4())
BILLING_PART = str(uuid.uuid4())


def _part(work_order_id: str, department: str, role: str) -> dict[str, Any]:
    return {
        "work_order_id": work_order_id,
        "department": department,
        "role": role,
        "status": "assigned",
        "category": "billing" if department == "billing" else "heating_temperature",
        "severity": "normal",
        "acknowledge_by": "2026-12-06T02:00:00+00:00",
        "resolve_by": "2026-12-07T02:00:00+00:00",
        "overdue": False,
    }


CASE = {
    "complaint_id": COMPLAINT,
    "reference_no": REFERENCE,
    "text": "暖气不热，热费也多收了",
    "category": "heating_temperature",
    "severity": "normal",
    "opened_by": "cs.ma",
    "opened_by_name": "马琳",
    "opened_at": "2026-12-06T01:00:00+00:00",
    "note": "维修牵头，收费协办",
    "lead_department": "repair",
    "parts": [_part(str(uuid.uuid4()), "repair", "lead"), _part(BILLING_PART, "billing", "assisting")],
    "steps": [
        {
            "action": "deadline_set",
            "work_order_id": BILLING_PART,
            "department": "billing",
            "actor": "cs.ma",
            "actor_name": "马琳",
            "details": {"resolve_by": "2026-12-07T02:00:00+00:00", "note": "两天内"},
            "at": "2026-12-06T01:05:00+00:00",
        }
    ],
}


@dataclass
class Dispatch:
    """dispatch by (method, path pattern); every request kept."""

    issuer: LocalIssuer
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.seen if r.method == "POST" and r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if str(request.url).startswith(self.issuer.issuer):
            if request.url.path.endswith("/.well-known/openid-configuration"):
                return httpx.Response(200, json=self.issuer.discovery)
            return httpx.Response(200, json=self.issuer.jwks)
        for (method, pattern), (status, body) in reversed(self.answers.items()):
            if (
                request.url.host == "dispatch.test"
                and method == request.method
                and re.fullmatch(pattern, request.url.path)
            ):
                return httpx.Response(status, json=body)
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": f"no {request.url.path}"})


@dataclass
class Console:
    app: FastAPI
    client: httpx.AsyncClient
    dispatch: Dispatch
    issuer: LocalIssuer

    async def get(self, path: str, who: SignedIn) -> httpx.Response:
        self.client.cookies.clear()
        self.client.cookies.set("console_session", who.session_id)
        return await self.client.get(path)

    async def post(self, path: str, who: SignedIn, data: list[tuple[str, str]]) -> httpx.Response:
        self.client.cookies.clear()
        self.client.cookies.set("console_session", who.session_id)
        form = [*data, ("csrf_token", who.csrf_token)]
        return await self.client.post(path, files=[(k, (None, v)) for k, v in form])


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure) -> AsyncIterator[Console]:
    issuer = LocalIssuer()
    dispatch = Dispatch(issuer)
    http = httpx.AsyncClient(transport=httpx.MockTransport(dispatch.handle))
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
        dispatch.answers[("GET", "/v1/coordination")] = (200, {"items": [CASE]})
        dispatch.answers[("GET", f"/v1/coordination/{REFERENCE}")] = (200, CASE)
        yield Console(app, client, dispatch, issuer)


async def test_the_centre_reads_opens_and_steers_coordinated_cases(console: Console) -> None:
    ma = await session_for(console.app, console.issuer, "cs.ma")
    listed = await console.get("/supervisor/coordination", ma)
    assert listed.status_code == 200, listed.text
    assert REFERENCE in listed.text and "维修部" in listed.text and "协办" in listed.text
    assert 'data-live="work_order"' in listed.text, "the list is a live region"
    english = await console.get("/supervisor/coordination?lang=en", ma)
    assert "Assisting" in english.text and "Coordinate a multi-department case" in english.text
    region = await console.get("/supervisor/coordination/list", ma)
    assert "<html" not in region.text and REFERENCE in region.text
    seen = [r for r in console.dispatch.seen if r.url.host == "dispatch.test"]
    assert seen[-1].headers["Authorization"] == f"Bearer {ma.access_token}", "read as the person"

    console.dispatch.answers[("POST", "/v1/coordination")] = (201, CASE)
    form = [("complaint", REFERENCE), ("lead", "repair"), ("assisting", "billing"), ("note", "维修牵头，收费协办")]
    opened = await console.post("/supervisor/coordination", ma, form)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == f"/supervisor/coordination/{REFERENCE}?done=coordination_opened"
    assert console.dispatch.posted("/v1/coordination")[-1] == {
        "complaint": REFERENCE,
        "lead": "repair",
        "assisting": ["billing"],
        "note": "维修牵头，收费协办",
    }

    page = await console.get(f"/supervisor/coordination/{REFERENCE}?lang=en", ma)
    assert page.status_code == 200 and 'data-testid="deadline-form"' in page.text and "Deadline set" in page.text
    parts = await console.get(f"/supervisor/coordination/{REFERENCE}/parts", ma)
    assert "<html" not in parts.text and 'data-role="assisting"' in parts.text
    path = f"/v1/coordination/{COMPLAINT}/parts/{BILLING_PART}/deadline"
    console.dispatch.answers[("POST", path)] = (200, CASE)
    step = [("work_order_id", BILLING_PART), ("resolve_by", "2026-12-08T18:00"), ("note", "两天内")]
    done = await console.post(f"/supervisor/coordination/{REFERENCE}/deadline", ma, step)
    assert done.headers["location"] == f"/supervisor/coordination/{REFERENCE}?done=coordination_deadline_set"
    assert console.dispatch.posted(path)[-1] == {"resolve_by": "2026-12-08T18:00:00+08:00", "note": "两天内"}

    refusal = {"title": "Conflict", "status": 409, "detail": "work order is resolved: only an open part is steered"}
    console.dispatch.answers[("POST", f"/v1/coordination/{COMPLAINT}/instructions")] = (409, refusal)
    told = [("work_order_id", BILLING_PART), ("instruction", "核减后回复")]
    refused = await console.post(f"/supervisor/coordination/{REFERENCE}/instructions", ma, told)
    assert refused.status_code == 409 and "only an open part is steered" in refused.text
    missing = await console.post(f"/supervisor/coordination/{REFERENCE}/lead", ma, [("department", "billing")])
    assert missing.status_code == 422 and 'data-testid="invalid"' in missing.text


async def test_other_supervisors_read_without_the_forms_and_departments_are_refused(console: Console) -> None:
    wu = await session_for(console.app, console.issuer, "supervisor.wu")
    listed = await console.get("/supervisor/coordination", wu)
    assert listed.status_code == 200 and REFERENCE in listed.text
    assert 'data-testid="coordination-open-form"' not in listed.text, "only the customer-service centre steers"
    case = await console.get(f"/supervisor/coordination/{REFERENCE}", wu)
    assert case.status_code == 200 and 'data-testid="deadline-form"' not in case.text
    sun = await session_for(console.app, console.issuer, "billing.sun")
    assert (await console.get("/supervisor/coordination", sun)).status_code == 403
