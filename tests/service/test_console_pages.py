"""The console's pages on real Postgres, the other services answered by a recording stand-in: what the console
itself promises — signed out goes to sign-in, every POST needs the session's CSRF token, a strict CSP on every
page, Chinese by default and English on request, each form becomes one call of a service's API as the person
(Bearer token), and a service's refusal is shown in the person's language (a 403 as a 403 page).

The sign-in itself is never stood in for: sessions here are written as a sign-in writes them
(tests/support/console.py), and tests/service/test_console_signin.py signs in through the real provider.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.console.security import content_security_policy
from tests.support.console import session_for
from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

WORK_ORDER = str(uuid.uuid4())
COMPLAINT = str(uuid.uuid4())
REFERENCE = "TS-20261123-000042"


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as console:
        yield console


def _work_order(**changes: Any) -> dict[str, Any]:
    return {
        "work_order_id": WORK_ORDER,
        "complaint_id": COMPLAINT,
        "department": "repair",
        "status": "assigned",
        "category": "heating_temperature",
        "severity": "normal",
        "priority": 3,
        "acknowledge_by": "2026-11-23T09:00:00+08:00",
        "resolve_by": "2026-11-24T08:00:00+08:00",
        "text": "室内温度只有16度",
        "location": {"address": "和平区长青小区5号楼2单元301室", "district": "heping"},
        "customer": {"name": "王小明", "phone": "13912345678", "account_no": "HT-100234"},
        "crew": None,
        "appointment": None,
        "findings": [],
        "photos": [],
        "history": [{"action": "assign", "actor": "dispatch", "actor_name": "派单", "at": "2026-11-23T08:00:00+08:00"}],
        "overdue": False,
        **changes,
    }


# -- signed out, sign-in's start, headers -------------------------------------------------------------------


async def test_signed_out_people_are_sent_to_sign_in_and_back(console: ConsoleOnStandIns) -> None:
    answer = await console.get("/agent/complaints/new?lang=en")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fagent%2Fcomplaints%2Fnew%3Flang%3Den"
    htmx = await console.get(
        "/agent/lookup?phone=1", headers={"HX-Request": "true", "HX-Current-URL": "http://console/agent/complaints/new"}
    )
    assert htmx.status_code == 204
    assert htmx.headers["hx-redirect"] == "/login?next=%2Fagent%2Fcomplaints%2Fnew"
    home = await console.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/login?next=%2F")


async def test_sign_in_starts_at_the_provider_with_pkce_state_and_nonce(console: ConsoleOnStandIns) -> None:
    answer = await console.get("/login?next=//evil.example/")
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{console.issuer.issuer}/protocol/openid-connect/auth"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "http://console/auth/callback"
    assert query["state"] and query["nonce"] and query["client_id"] == "console"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"console_sign_in={query['state']};") and "HttpOnly" in cookie and "Path=/auth" in cookie
    pending = await console.app.state.pool.fetchrow(
        "SELECT next_path, nonce FROM console.sign_ins ORDER BY expires_at DESC"
    )
    assert pending["next_path"] == "/"  # //evil.example/ is not a local path
    assert pending["nonce"] == query["nonce"]


async def test_sign_in_asks_the_provider_for_the_persons_language(console: ConsoleOnStandIns) -> None:
    def ui_locales(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 303, answer.text
        return parse_qs(urlsplit(answer.headers["location"]).query)["ui_locales"]

    assert ui_locales(await console.get("/login")) == ["zh-CN"]  # Chinese by default
    english = {"Cookie": "console_lang=en"}  # the language the person chose
    assert ui_locales(await console.get("/login", headers=english)) == ["en"]
    assert ui_locales(await console.get("/login", headers={"Cookie": "console_lang=zh"})) == ["zh-CN"]
    assert ui_locales(await console.get("/login?lang=en")) == ["en"]
    # Sent to sign in from a page asked for in English, before any cookie: the page's language.
    assert ui_locales(await console.get("/login?next=%2Fagent%2Fcomplaints%2Fnew%3Flang%3Den")) == ["en"]
    assert ui_locales(await console.get("/login", headers={"Cookie": "console_lang=fr"})) == ["zh-CN"]


async def test_a_callback_from_another_browser_signs_nobody_in(console: ConsoleOnStandIns) -> None:
    started = await console.get("/login")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    console.client.cookies.clear()
    answer = await console.client.get(f"/auth/callback?code=stolen&state={state}")
    assert answer.status_code == 400
    assert "console_session" not in answer.headers.get("set-cookie", "")
    assert not console.services.calls("issuer")  # no code was traded


async def test_pages_carry_a_strict_csp_and_serve_their_own_scripts(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    page = await console.get("/agent/complaints/new", agent)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == content_security_policy("http://issuer.test")
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert "<script>" not in html and " style=" not in html and "<style" not in html
    assert re.findall(r'<script src="([^"]+)"', html) == ["/static/htmx.min.js", "/static/console.js"]
    for asset in ("/static/htmx.min.js", "/static/console.js", "/static/console.css"):
        assert (await console.get(asset)).status_code == 200
    assert f'<meta name="csrf-token" content="{agent.csrf_token}">' in html


# -- language, top bar ----------------------------------------------------------------------------------------


async def test_chinese_by_default_english_on_request_and_remembered(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    zh = await console.get("/agent/complaints/new", agent)
    assert '<html lang="zh-CN">' in zh.text and "新建投诉" in zh.text
    assert 'data-testid="person-name">李娜<' in zh.text and "客服坐席" in zh.text
    en = await console.get("/agent/complaints/new?lang=en", agent)
    assert '<html lang="en">' in en.text and "New complaint" in en.text and "Agent" in en.text
    assert "console_lang=en" in en.headers["set-cookie"]
    assert len(en.headers.get_list("content-length")) == 1, "a browser refuses two Content-Length headers"
    console.client.cookies.clear()
    console.client.cookies.set("console_session", agent.session_id)
    console.client.cookies.set("console_lang", "en")
    remembered = await console.client.get("/agent/complaints/new")
    assert '<html lang="en">' in remembered.text


async def test_home_sends_each_person_to_their_screen(console: ConsoleOnStandIns) -> None:
    for staff_id, screen in (
        ("agent.li", "/agent/complaints/new"),
        ("repair.zhao", "/departments/repair/queue"),
        ("crew1.chen", "/crew/jobs"),
        ("supervisor.wu", "/supervisor"),
        ("leader.he", "/leadership/serious"),
    ):
        answer = await console.get("/", await console.as_(staff_id))
        assert (answer.status_code, answer.headers["location"]) == (303, screen)
    # A project manager has no screen of their own: the overview of the screens they may open (their notices).
    overview = await console.get("/", await console.as_("pm.feng"))
    assert overview.status_code == 200 and 'data-testid="home-screens"' in overview.text
    assert 'href="/inbox"' in overview.text


async def test_screens_outside_a_persons_roles_are_403(console: ConsoleOnStandIns) -> None:
    crew = await console.as_("crew1.chen")
    for path in ("/agent/complaints/new", "/agent/callbacks", "/departments/repair/queue"):
        answer = await console.get(path, crew)
        assert answer.status_code == 403, path
        assert 'data-testid="error"' in answer.text
    agent = await console.as_("agent.li")
    assert (await console.get(f"/work-orders/{WORK_ORDER}", agent)).status_code == 403


# -- CSRF -----------------------------------------------------------------------------------------------------


async def test_every_post_needs_the_sessions_csrf_token(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    other = await console.as_("agent.wang")
    before = len(console.services.calls("intake"))
    missing = await console.post("/agent/complaints", agent, {"text": "x"}, csrf=False)
    assert missing.status_code == 403
    wrong = await console.post("/agent/complaints", agent, {"text": "x", "csrf_token": other.csrf_token}, csrf=False)
    assert wrong.status_code == 403
    assert (await console.post("/logout", agent, {}, csrf=False)).status_code == 403
    crew = await console.as_("crew1.chen")
    acted = await console.post(f"/work-orders/{WORK_ORDER}/arrive", crew, {}, csrf=False)
    assert acted.status_code == 403
    assert len(console.services.calls("intake")) == before
    assert console.services.calls("dispatch") == []


async def test_htmx_requests_carry_the_token_in_a_header(console: ConsoleOnStandIns) -> None:
    crew = await console.as_("crew1.chen")
    console.services.on(
        "dispatch", "POST", rf"/v1/work-orders/{WORK_ORDER}/arrive", 200, _work_order(status="in_progress")
    )
    console.client.cookies.clear()
    console.client.cookies.set("console_session", crew.session_id)
    answer = await console.client.post(
        f"/work-orders/{WORK_ORDER}/arrive", headers={"X-CSRF-Token": crew.csrf_token, "HX-Request": "true"}
    )
    assert answer.status_code == 303
    assert console.services.calls("dispatch")[-1].headers["authorization"] == f"Bearer {crew.access_token}"


async def test_a_crew_at_a_job_nobody_signed_for_signs_for_it_and_arrives(console: ConsoleOnStandIns) -> None:
    """The jobs list offers "arrived" on a job still `assigned`; dispatch allows arriving only once signed for, so
    the form says so and the console takes both of the crew member's steps, sign-for first."""
    crew = await console.as_("crew1.chen")
    console.services.on(
        "dispatch", "GET", r"/v1/crews/repair-crew-1/jobs", 200, {"items": [_work_order(crew="repair-crew-1")]}
    )
    jobs = await console.get("/crew/jobs", crew)
    assert 'name="sign_for" value="1"' in jobs.text
    console.services.on("dispatch", "POST", rf"/v1/work-orders/{WORK_ORDER}/acknowledge", 200, _work_order())
    console.services.on(
        "dispatch", "POST", rf"/v1/work-orders/{WORK_ORDER}/arrive", 200, _work_order(status="in_progress")
    )
    before = len(console.services.calls("dispatch"))
    acted = await console.post(f"/work-orders/{WORK_ORDER}/arrive", crew, {"sign_for": "1"})
    assert acted.status_code == 303
    steps = [r.url.path for r in console.services.calls("dispatch")[before:]]
    assert steps == [f"/v1/work-orders/{WORK_ORDER}/acknowledge", f"/v1/work-orders/{WORK_ORDER}/arrive"]


# -- the agent ------------------------------------------------------------------------------------------------


async def test_a_phone_complaint_goes_to_intake_as_the_agent_and_shows_its_routing(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    console.services.on(
        "intake",
        "POST",
        "/v1/complaints",
        202,
        {"complaint_id": COMPLAINT, "reference_no": REFERENCE, "status": "received"},
    )
    form = {
        "channel": "phone",
        "customer_name": "王小明",
        "customer_phone": "13912345678",
        "account_no": "HT-100234",
        "address": "和平区长青小区5号楼2单元301室",
        "district": "heping",
        "text": "从供暖开始室内温度一直只有16度左右",
        "category_hint": "heating_temperature",
        "handled_on_contact": "",
        "customer_agitated": "on",
        "idempotency_key": "k" * 24,
    }
    answer = await console.post("/agent/complaints", agent, form)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/agent/complaints/{REFERENCE}/saved")
    sent = console.services.calls("intake")[-1]
    assert sent.headers["authorization"] == f"Bearer {agent.access_token}"
    assert sent.headers["idempotency-key"] == "k" * 24
    body = json.loads(sent.content)
    assert body["channel"] == "phone" and body["agent_id"] == "agent.li" and body["customer_agitated"] is True
    assert body["customer"] == {
        "name": "王小明",
        "phone": "13912345678",
        "account_no": "HT-100234",
        "preferred_contact": "phone",
    }
    assert body["location"] == {"address": "和平区长青小区5号楼2单元301室", "district": "heping"}
    assert "handled_on_contact" not in body and body["category_hint"] == "heating_temperature"

    saved = await console.get(f"/agent/complaints/{REFERENCE}/saved", agent)
    assert f'data-testid="reference-number">{REFERENCE}<' in saved.text
    pending = await console.get(f"/agent/complaints/{REFERENCE}/routing?n=0", agent)
    assert 'data-routed="false"' in pending.text and "routing?n=1" in pending.text
    console.services.on(
        "dispatch",
        "GET",
        rf"/v1/complaints/{REFERENCE}",
        200,
        {
            "status": "routed",
            "category": "heating_temperature",
            "severity": "normal",
            "work_orders": [{"department": "repair"}],
        },
    )
    routed = await console.get(f"/agent/complaints/{REFERENCE}/routing?n=3", agent)
    assert 'data-routed="true"' in routed.text
    assert 'data-testid="routing-category">供暖温度<' in routed.text
    assert 'data-testid="routing-department">维修部<' in routed.text


async def test_intakes_refusal_is_shown_on_the_form_with_its_detail(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    console.services.on(
        "intake",
        "POST",
        "/v1/complaints",
        422,
        {
            "title": "Invalid request",
            "status": 422,
            "detail": "customer.phone: not a valid phone number",
            "errors": [{"field": "customer.phone", "message": "not a valid phone number"}],
        },
    )
    answer = await console.post(
        "/agent/complaints?lang=en", agent, {"customer_phone": "12", "text": "冷", "address": "a"}
    )
    assert answer.status_code == 422
    assert "Intake did not accept this" in answer.text and "customer.phone: not a valid phone number" in answer.text
    assert 'aria-describedby="customer_phone-error"' in answer.text and 'value="12"' in answer.text


async def test_the_lookup_shows_history_open_cases_and_faults_in_the_area(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    console.services.on(
        "reporting",
        "GET",
        "/v1/households/lookup",
        200,
        {
            "items": [
                {
                    "reference_no": "TS-20261101-000001",
                    "received_at": "2026-11-01T08:00:00+08:00",
                    "category": "billing",
                    "status": "closed",
                    "department": "billing",
                    "district": "heping",
                    "open": False,
                },
                {
                    "reference_no": "TS-20261120-000007",
                    "received_at": "2026-11-20T08:00:00+08:00",
                    "category": "heating_temperature",
                    "status": "assigned",
                    "department": "repair",
                    "district": "heping",
                    "open": True,
                },
            ]
        },
    )
    console.services.on(
        "dispatch",
        "GET",
        "/v1/incidents",
        200,
        {
            "items": [
                {
                    "reference_no": "INC-1",
                    "district": "heping",
                    "compound": "长青小区",
                    "description": "换热站故障",
                    "eta": None,
                },
                {
                    "reference_no": "INC-2",
                    "district": "tiexi",
                    "compound": "别处",
                    "description": "别处故障",
                    "eta": None,
                },
            ]
        },
    )
    console.services.on("dispatch", "GET", "/v1/outage-notices", 200, {"items": []})
    answer = await console.get("/agent/lookup?phone=13912345678", agent, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    asked = [r for r in console.services.seen if r.url.path == "/v1/households/lookup"][-1]
    assert asked.url.params["phone"] == "13912345678" and "address" not in asked.url.params
    assert "TS-20261120-000007" in answer.text and "TS-20261101-000001" in answer.text
    assert (
        'data-testid="area-incident"' in answer.text and "换热站故障" in answer.text and "别处故障" not in answer.text
    )
    page = await console.get("/agent/complaints/new?phone=13912345678", agent)
    assert "换热站故障" in page.text  # the same lookup without script


async def test_use_this_customer_fills_the_form_with_the_household_found(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    household = {
        "reference_no": "TS-20261120-000008",
        "received_at": "2026-11-20T08:00:00+08:00",
        "category": "heating_temperature",
        "status": "assigned",
        "department": "repair",
        "account_no": "HT-7731",
        "address": "和平区长青小区3号楼2单元501室",
        "district": "heping",
        "name_masked": "王**",
        "phone_masked": "139******78",
        "open": True,
    }
    older = household | {"reference_no": "TS-20251101-000002", "status": "closed", "open": False}
    console.services.on("reporting", "GET", "/v1/households/lookup", 200, {"items": [household, older]})
    console.services.on("dispatch", "GET", "/v1/incidents", 200, {"items": []})
    console.services.on("dispatch", "GET", "/v1/outage-notices", 200, {"items": []})
    for lang, label in (("zh", "使用此客户"), ("en", "Use this customer")):
        answer = await console.get(
            f"/agent/lookup?phone=13912345678&lang={lang}", agent, headers={"HX-Request": "true"}
        )
        assert answer.status_code == 200, answer.text
        links = re.findall(
            r'<a class="button secondary" href="([^"]+)"[^>]*data-testid="use-customer">([^<]+)</a>', answer.text
        )
        assert [text for _, text in links] == [label], "one household, offered once"
        assert 'data-testid="area-clear"' in answer.text  # nothing wrong in the area, and the agent is told so
    href = links[0][0].replace("&amp;", "&")
    target = urlsplit(href)
    assert target.path == "/agent/complaints/new" and "<script" not in answer.text
    assert {k: v[0] for k, v in parse_qs(target.query).items()} == {
        "phone": "13912345678",  # the phone looked up (reporting masks every phone)
        "account_no": "HT-7731",
        "address": "和平区长青小区3号楼2单元501室",
        "district": "heping",
    }
    form = await console.get(href, agent)
    assert form.status_code == 200
    complaint = form.text.split('data-testid="complaint-form"')[1]
    for name, value in (
        ("customer_phone", "13912345678"),
        ("account_no", "HT-7731"),
        ("address", "和平区长青小区3号楼2单元501室"),
        ("district", "heping"),
    ):
        assert re.search(rf'id="{name}" name="{name}" value="{value}"', complaint), name
    assert 'id="customer_name" name="customer_name" value=""' in complaint  # the masked name is not prefilled
    assert "王**" not in complaint


async def test_the_lookup_says_when_the_areas_faults_cannot_be_checked(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    console.services.on("reporting", "GET", "/v1/households/lookup", 200, {"items": []})
    console.services.on("dispatch", "GET", "/v1/incidents", 503)
    console.services.on("dispatch", "GET", "/v1/outage-notices", 200, {"items": []})
    answer = await console.get("/agent/lookup?address=长青小区", agent, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert 'data-testid="area-faults-unavailable"' in answer.text and 'data-testid="area-clear"' not in answer.text
    console.services.on("dispatch", "GET", "/v1/incidents", 200, {"items": []})


async def test_callback_outcomes_as_followup_records_them(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    callback = str(uuid.uuid4())
    item = {
        "callback_id": callback,
        "reference_no": REFERENCE,
        "department": "repair",
        "due_at": "2026-11-24T08:00:00+08:00",
        "overdue": True,
        "attempts": 0,
        "owner": "agent.li",
        "contact": {"name": "王小明", "phone": "13912345678"},
    }
    console.services.on_request(
        "followup",
        "GET",
        "/v1/callbacks",
        lambda r: httpx.Response(
            200,
            json={
                "items": [item] if r.url.params.get("owner") == "agent.li" else [item, {**item, "callback_id": "other"}]
            },
        ),
    )
    page = await console.get("/agent/callbacks", agent)
    assert page.text.count('data-testid="callback"') == 2  # mine once, the team's other one
    assert 'href="tel:13912345678"' in page.text
    console.services.on("followup", "POST", rf"/v1/callbacks/{callback}/outcome", 200, {"callback_id": callback})
    for form, expected in (
        (
            {"method": "visit", "reached": "yes", "satisfied": "yes", "score_supply": "5", "score_speed": "4"},
            {"outcome": "satisfied", "method": "visit", "scores": {"supply": 5, "speed": 4}},
        ),
        (
            {"method": "phone", "reached": "yes", "satisfied": "no", "note": "仍然冷"},
            {"outcome": "dissatisfied", "method": "phone", "note": "仍然冷"},
        ),
        (
            {"method": "letter", "reached": "no", "satisfied": "yes", "score_supply": "3"},
            {"outcome": "unreachable", "method": "letter"},
        ),
    ):
        answer = await console.post(f"/agent/callbacks/{callback}/outcome", agent, form)
        assert (answer.status_code, answer.headers["location"]) == (303, "/agent/callbacks?done=outcome_recorded")
        assert json.loads(console.services.calls("followup")[-1].content) == expected


# -- departments and crews ------------------------------------------------------------------------------------


async def test_the_queue_shows_text_address_contact_and_overdue(console: ConsoleOnStandIns) -> None:
    dispatcher = await console.as_("repair.zhao")
    console.services.on(
        "dispatch", "GET", "/v1/queues/repair", 200, {"items": [_work_order(overdue=True, priority=1)], "total": 1}
    )
    page = await console.get("/departments/repair/queue", dispatcher)
    assert page.status_code == 200
    for shown in (
        "室内温度只有16度",
        "和平区长青小区5号楼2单元301室",
        'href="tel:13912345678"',
        'data-testid="overdue"',
    ):
        assert shown in page.text


async def test_a_services_403_is_a_403_page_and_an_outage_a_503(console: ConsoleOnStandIns) -> None:
    billing = await console.as_("billing.sun")
    console.services.on_request(
        "dispatch",
        "GET",
        "/v1/queues/repair",
        lambda r: (
            httpx.Response(403, json={"title": "Forbidden", "status": 403, "detail": "repair's queue is repair's"})
            if "billing" in _claims(r).get("department", "")
            else httpx.Response(200, json={"items": [], "total": 0})
        ),
    )
    refused = await console.get("/departments/repair/queue?lang=en", billing)
    assert refused.status_code == 403
    assert "You may not see or do this" in refused.text and "repair&#39;s queue is repair&#39;s" in refused.text
    console.services.on("dispatch", "GET", r"/v1/queues/billing", 502)
    down = await console.get("/departments/billing/queue", billing)
    assert down.status_code == 503 and "派单服务" in down.text


async def test_the_queues_live_region_is_its_own_fragment_with_the_pages_checks(console: ConsoleOnStandIns) -> None:
    """The page's region names its fragment and kind; the fragment is the region's inner HTML alone (the same
    cards, no page around them), read from dispatch as the person; another department's queue is dispatch's 403,
    a crew's the screen's own."""
    dispatcher = await console.as_("repair.zhao")
    console.services.on(
        "dispatch", "GET", "/v1/queues/repair", 200, {"items": [_work_order(overdue=True, priority=1)], "total": 51}
    )
    page = await console.get("/departments/repair/queue", dispatcher)
    assert 'data-live="work_order" data-live-src="/departments/repair/queue/list"' in page.text
    later = await console.get("/departments/repair/queue?p=2", dispatcher)
    assert 'data-live-src="/departments/repair/queue/list?p=2"' in later.text, "the region re-reads its own page"
    fragment = await console.get("/departments/repair/queue/list?p=2", dispatcher, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="queue-region"' not in fragment.text
    assert f'data-work-order="{WORK_ORDER}"' in fragment.text and 'href="tel:13912345678"' in fragment.text
    assert 'href="?p=1"' in fragment.text, "paging links stay relative to the page"
    asked = console.services.calls("dispatch", "GET")[-1]
    assert asked.url.params["page"] == "2" and _claims(asked)["staff_id"] == "repair.zhao"

    billing = await console.as_("billing.sun")
    console.services.on_request(
        "dispatch",
        "GET",
        "/v1/queues/repair",
        lambda r: httpx.Response(
            403, json={"title": "Forbidden", "status": 403, "detail": "repair's queue is repair's"}
        ),
    )
    refused = await console.get("/departments/repair/queue/list", billing, headers={"HX-Request": "true"})
    assert refused.status_code == 403 and f'data-work-order="{WORK_ORDER}"' not in refused.text
    crew = await console.as_("crew1.chen")
    assert (await console.get("/departments/repair/queue/list", crew)).status_code == 403
    assert (await console.get("/departments/nowhere/queue/list", dispatcher)).status_code == 404


def _claims(request: httpx.Request) -> dict[str, Any]:
    import jwt

    token = request.headers["authorization"].removeprefix("Bearer ")
    return jwt.decode(token, options={"verify_signature": False})


async def test_work_order_actions_become_dispatch_calls_and_refusals_show_on_the_page(
    console: ConsoleOnStandIns,
) -> None:
    dispatcher = await console.as_("repair.zhao")
    console.services.on("dispatch", "GET", rf"/v1/work-orders/{WORK_ORDER}", 200, _work_order())
    console.services.on(
        "dispatch",
        "GET",
        "/v1/root-causes",
        200,
        {
            "items": [
                {
                    "code": "repair.valve_failure",
                    "department": "repair",
                    "label_zh": "阀门故障",
                    "label_en": "Valve failure",
                },
                {"code": "billing.tariff", "department": "billing", "label_zh": "资费", "label_en": "Tariff"},
            ]
        },
    )
    console.services.on(
        "dispatch",
        "GET",
        "/v1/crews",
        200,
        {
            "items": [
                {"crew": "repair-crew-1", "department": "repair", "name_zh": "维修一班", "name_en": "Repair crew 1"}
            ]
        },
    )
    page = await console.get(f"/work-orders/{WORK_ORDER}", dispatcher)
    assert page.status_code == 200
    assert "阀门故障" in page.text and "资费" not in page.text and "维修一班" in page.text
    assert 'data-testid="acknowledge"' in page.text and 'data-testid="serious-section"' not in page.text

    posted: list[tuple[str, dict[str, Any]]] = []

    def accept(request: httpx.Request) -> httpx.Response:
        posted.append((request.url.path.rsplit("/", 1)[-1], json.loads(request.content)))
        return httpx.Response(200, json=_work_order())

    console.services.on_request("dispatch", "POST", rf"/v1/work-orders/{WORK_ORDER}/[a-z-]+", accept)
    steps = [
        ("acknowledge", {}, {}),
        ("crew", {"crew": "repair-crew-1"}, {"crew": "repair-crew-1"}),
        (
            "appointment",
            {"window_start": "2026-11-23T14:00", "window_end": "2026-11-23T16:00", "note": "电话约好"},
            {
                "window_start": "2026-11-23T14:00:00+08:00",
                "window_end": "2026-11-23T16:00:00+08:00",
                "note": "电话约好",
            },
        ),
        (
            "return",
            {"reason": "属于收费问题", "suggested_department": "billing"},
            {"reason": "属于收费问题", "suggested_department": "billing"},
        ),
        (
            "assist",
            {"department": "customer_service", "note": "请安抚客户"},
            {"department": "customer_service", "note": "请安抚客户"},
        ),
        ("notes", {"note": "已联系物业"}, {"note": "已联系物业"}),
        (
            "resolve",
            {"resolution": "更换阀门", "root_cause": "repair.valve_failure", "acceptance_name": ""},
            {"resolution": "更换阀门", "root_cause": "repair.valve_failure"},
        ),
    ]
    for action, form, body in steps:
        answer = await console.post(f"/work-orders/{WORK_ORDER}/{action}", dispatcher, form)
        assert answer.status_code == 303, (action, answer.text[:300])
        assert posted[-1] == ({"notes": "notes"}.get(action, action), body)
    mine = console.services.calls("dispatch")[-len(steps) :]
    assert all(r.headers["authorization"] == f"Bearer {dispatcher.access_token}" for r in mine)

    console.services.on(
        "dispatch",
        "POST",
        rf"/v1/work-orders/{WORK_ORDER}/acknowledge",
        409,
        {"title": "Conflict", "status": 409, "detail": "cannot acknowledge a work order in status resolved"},
    )
    refused = await console.post(f"/work-orders/{WORK_ORDER}/acknowledge", dispatcher, {})
    assert refused.status_code == 409
    assert (
        "派单服务未接受此操作" in refused.text and "cannot acknowledge a work order in status resolved" in refused.text
    )
    bad_time = await console.post(f"/work-orders/{WORK_ORDER}/appointment", dispatcher, {"window_start": "tomorrow"})
    assert bad_time.status_code == 422 and 'data-testid="invalid"' in bad_time.text


async def test_a_serious_case_asks_for_the_analysis_and_corrective_actions(console: ConsoleOnStandIns) -> None:
    dispatcher = await console.as_("repair.zhao")
    console.services.on(
        "dispatch", "GET", rf"/v1/work-orders/{WORK_ORDER}", 200, _work_order(severity="serious", status="in_progress")
    )
    page = await console.get(f"/work-orders/{WORK_ORDER}", dispatcher)
    assert 'data-testid="serious-section"' in page.text
    bodies: list[dict[str, Any]] = []

    def resolve(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=_work_order())

    console.services.on_request("dispatch", "POST", rf"/v1/work-orders/{WORK_ORDER}/resolve", resolve)
    form = {
        "resolution": "更换主阀",
        "root_cause": "repair.valve_failure",
        "cause_analysis": "主阀老化未及时更换",
        "action_1_description": "全面排查同批次阀门",
        "action_1_owner": "维修部",
        "action_1_deadline": "2026-12-01T18:00",
        "action_2_description": "",
    }
    assert (await console.post(f"/work-orders/{WORK_ORDER}/resolve", dispatcher, form)).status_code == 303
    assert bodies[-1]["cause_analysis"] == "主阀老化未及时更换"
    assert bodies[-1]["corrective_actions"] == [
        {"description": "全面排查同批次阀门", "owner": "维修部", "deadline": "2026-12-01T18:00:00+08:00"}
    ]


async def test_the_crew_works_its_jobs_from_a_phone(console: ConsoleOnStandIns) -> None:
    crew = await console.as_("crew1.chen")
    console.services.on(
        "dispatch",
        "GET",
        r"/v1/crews/repair-crew-1/jobs",
        200,
        {
            "items": [
                _work_order(
                    status="acknowledged",
                    crew="repair-crew-1",
                    appointment={
                        "window_start": "2026-11-23T14:00:00+08:00",
                        "window_end": "2026-11-23T16:00:00+08:00",
                    },
                )
            ]
        },
    )
    jobs = await console.get("/crew/jobs", crew)
    assert jobs.status_code == 200
    assert 'data-testid="call-customer"' in jobs.text and 'href="tel:13912345678"' in jobs.text
    assert 'data-testid="arrive"' in jobs.text and "2026-11-23 14:00" in jobs.text
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in jobs.text

    console.services.on(
        "dispatch",
        "GET",
        rf"/v1/work-orders/{WORK_ORDER}",
        200,
        _work_order(status="in_progress", crew="repair-crew-1"),
    )
    console.services.on("dispatch", "GET", "/v1/root-causes", 200, {"items": []})
    console.services.on("dispatch", "GET", "/v1/crews", 200, {"items": []})
    sent: list[httpx.Request] = []

    def keep(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"photo_id": str(uuid.uuid4())})

    console.services.on_request("dispatch", "POST", rf"/v1/work-orders/{WORK_ORDER}/[a-z-]+", keep)
    findings = await console.post(
        f"/work-orders/{WORK_ORDER}/findings",
        crew,
        {"indoor_temperature_c": "17", "note": "暖气片不热", "back": "/crew/jobs"},
    )
    assert (findings.status_code, findings.headers["location"]) == (303, "/crew/jobs?done=findings_recorded")
    assert json.loads(sent[-1].content) == {"indoor_temperature_c": 17.0, "note": "暖气片不热"}

    console.client.cookies.clear()
    console.client.cookies.set("console_session", crew.session_id)
    photo = await console.client.post(
        f"/work-orders/{WORK_ORDER}/photos",
        data={"csrf_token": crew.csrf_token, "back": "/crew/jobs"},
        files={"file": ("radiator.jpg", b"\xff\xd8\xff\xe0fake-jpeg", "image/jpeg")},
    )
    assert photo.status_code == 303, photo.text[:300]
    assert sent[-1].url.path.endswith("/photos") and b"radiator.jpg" in sent[-1].content
    assert sent[-1].headers["content-type"].startswith("multipart/form-data")

    away = await console.post(
        f"/work-orders/{WORK_ORDER}/not-at-home",
        crew,
        {"next_visit_start": "2026-11-24T09:00", "next_visit_end": "2026-11-24T11:00"},
    )
    assert away.status_code == 303
    assert json.loads(sent[-1].content) == {
        "next_visit_start": "2026-11-24T09:00:00+08:00",
        "next_visit_end": "2026-11-24T11:00:00+08:00",
    }
    resolved = await console.post(
        f"/work-orders/{WORK_ORDER}/resolve",
        crew,
        {
            "resolution": "排气后恢复",
            "root_cause": "repair.air_lock",
            "acceptance_name": "王小明",
            "acceptance_confirmed": "on",
        },
    )
    assert resolved.status_code == 303
    assert json.loads(sent[-1].content)["acceptance"] == {"customer_name": "王小明", "confirmed": True}


async def test_the_case_page_puts_the_services_answers_side_by_side(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    console.services.on(
        "reporting",
        "GET",
        rf"/v1/cases/{REFERENCE}",
        200,
        {
            "complaint_id": COMPLAINT,
            "reference_no": REFERENCE,
            "status": "assigned",
            "category": "heating_temperature",
            "department": "repair",
            "work_orders": [
                {"work_order_id": WORK_ORDER, "department": "repair", "role": "lead", "status": "assigned"}
            ],
            "callbacks": [],
            "timeline": [
                {
                    "event_type": "complaint.received",
                    "occurred_at": "2026-11-23T08:00:00+08:00",
                    "actor": "agent.li",
                    "actor_name": "李娜",
                    "payload": {},
                },
                {
                    "event_type": "workorder.acknowledged",
                    "occurred_at": "2026-11-23T08:10:00+08:00",
                    "actor": "repair.zhao",
                    "actor_name": "赵磊",
                    "payload": {},
                },
            ],
        },
    )
    console.services.on(
        "followup",
        "GET",
        rf"/v1/complaints/{COMPLAINT}/sla",
        200,
        {
            "timers": [
                {
                    "kind": "breach",
                    "stage": "resolve",
                    "level": 0,
                    "due_at": "2026-11-24T08:00:00+08:00",
                    "deadline": "2026-11-24T08:00:00+08:00",
                }
            ],
            "escalations": [],
        },
    )
    console.services.on(
        "dispatch",
        "GET",
        rf"/v1/complaints/{COMPLAINT}",
        403,
        {"title": "Forbidden", "status": 403, "detail": "not yours"},
    )
    page = await console.get(f"/cases/{REFERENCE}", agent)
    assert page.status_code == 200
    assert page.text.count('data-testid="timeline-actor"') == 2 and "赵磊" in page.text and "李娜" in page.text
    assert 'data-testid="sla-clocks"' in page.text and "2026-11-24 08:00" in page.text
    assert 'data-testid="part-refused"' in page.text  # dispatch's part refused, the page still shown
    assert (await console.get("/cases/..%2F..%2Fetc", agent)).status_code == 404


async def test_sign_out_ends_the_session_and_leads_to_the_provider(console: ConsoleOnStandIns) -> None:
    agent = await console.as_("agent.li")
    answer = await console.post("/logout", agent, {})
    assert answer.status_code == 303
    end = urlsplit(answer.headers["location"])
    assert end.path.endswith("/protocol/openid-connect/logout")
    assert parse_qs(end.query)["post_logout_redirect_uri"] == ["http://console/signed-out"]
    assert 'console_session=""' in answer.headers["set-cookie"] or "console_session=;" in answer.headers["set-cookie"]
    assert (await console.get("/agent/complaints/new", agent)).status_code == 303  # the session is gone


async def test_an_expired_session_signs_the_person_out(console: ConsoleOnStandIns) -> None:
    from datetime import timedelta

    expired = await session_for(console.app, console.issuer, "agent.li", expires_in=timedelta(seconds=-1))
    answer = await console.get("/agent/callbacks", expired)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    left = await console.app.state.pool.fetchval(
        "SELECT count(*) FROM console.sessions WHERE staff_id = 'agent.li' AND expires_at < now()"
    )
    assert left == 0
