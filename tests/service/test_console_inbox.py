"""The console's `/inbox` on real Postgres, notify stood in by a recording transport (as the other page tests stand
in the services): the signed-in person's notices newest first, the unread marked and counted, each leading to its
case, in Chinese and English; "mark as read" posts to notify as the person, only with the form's CSRF token; notify
not answering is the 503 page naming it; every staff role has the screen.

The same screen in a real browser against the real notify is tests/e2e/test_console_inbox_browser.py."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.console.handlers import id_hash
from services.console.model import Session
from services.console.repository import PostgresConsoleRepository
from shared.db import transactions
from shared.http.person import Person
from tests.support.console import running_console
from tests.support.infrastructure import Infrastructure
from tests.support.reporting import fresh_database
from tests.support.tokens import LocalIssuer

NOTIFY = "http://notify.test"
OLDER = "0b9f3c1e-0000-4000-8000-000000000001"
NEWER = "0b9f3c1e-0000-4000-8000-000000000002"
NOTICES = [
    {
        "notification_id": OLDER,
        "template_id": "staff_escalation",
        # Written in English, naming a place in Chinese: its language is notify's `locale`, not its characters.
        "text": "Case TS-20261123-000041 (幸福小区 3 栋) was escalated to you.",
        "locale": "en",
        "complaint_id": "5d1c1a52-0000-4000-8000-000000000041",
        "reference_no": "TS-20261123-000041",
        "requested_at": "2026-11-23T01:00:00+00:00",
        "read_at": "2026-11-23T01:05:00+00:00",
        "status": "delivered",
    },
    {
        "notification_id": NEWER,
        "template_id": "staff_duty_manager",
        "text": "柜台投诉 TS-20261123-000042 需要值班经理到场。",
        "locale": "zh",
        "complaint_id": "5d1c1a52-0000-4000-8000-000000000042",
        "reference_no": "TS-20261123-000042",
        "requested_at": "2026-11-23T02:30:00+00:00",
        "read_at": None,
        "status": "delivered",
    },
]


@dataclass
class Notify:
    """Notify's inbox as the console sees it; `down` refuses connections; every request kept."""

    items: list[dict[str, object]] = field(default_factory=lambda: json.loads(json.dumps(NOTICES)))
    down: bool = False
    seen: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "notify.test":
            return httpx.Response(404)
        self.seen.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.method == "GET" and request.url.path == "/v1/inbox":
            return httpx.Response(200, json={"items": self.items})
        if request.method == "POST" and request.url.path.startswith("/v1/inbox/"):
            wanted = request.url.path.split("/")[3]
            for item in self.items:
                if item["notification_id"] == wanted:
                    item["read_at"] = "2026-11-23T02:31:00+00:00"
                    return httpx.Response(200, json=item)
            return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": "no such notice"})
        return httpx.Response(404, json={"title": "Not Found", "status": 404})


Running = tuple[FastAPI, httpx.AsyncClient, "Notify", LocalIssuer]


@dataclass
class Browser:
    session_id: str
    csrf: str
    token: str


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure) -> AsyncIterator[Running]:
    issuer = LocalIssuer()
    notify = Notify()
    http = httpx.AsyncClient(transport=httpx.MockTransport(notify.handle))
    async with (
        fresh_database(migrated.database_url) as database_url,
        running_console(
            database_url,
            persons=issuer.verifier(),
            http=http,
            oidc_issuer=issuer.issuer,
            console_public_url="http://console",
            console_notify_url=NOTIFY,
        ) as (app, client),
    ):
        yield app, client, notify, issuer


async def _signed_in(app: FastAPI, issuer: LocalIssuer, staff_id: str, name: str, roles: tuple[str, ...]) -> Browser:
    token = issuer.mint(staff_id, roles=roles, name=name, expires_in=1800)
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    session = Session(
        session_hash=id_hash(session_id),
        person=Person(staff_id, name, frozenset(roles)),
        access_token=token,
        access_expires_at=now + timedelta(minutes=30),
        refresh_token=None,
        refresh_expires_at=None,
        id_token="not-used",
        csrf_token=secrets.token_urlsafe(16),
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    async with transactions(app.state.pool, PostgresConsoleRepository)() as work:
        await work.repo.add_session(session)
        work.commit()
    return Browser(session_id, session.csrf_token, token)


def _as(client: httpx.AsyncClient, who: Browser, lang: str | None = None) -> None:
    client.cookies.clear()
    client.cookies.set("console_session", who.session_id)
    if lang:
        client.cookies.set("console_lang", lang)


async def test_the_duty_managers_notices_newest_first_unread_marked_in_both_languages(console: Running) -> None:
    app, client, notify, issuer = console
    duty = await _signed_in(app, issuer, "duty.zheng", "郑伟", ("duty_manager",))
    _as(client, duty)
    page = await client.get("/inbox")
    assert page.status_code == 200, page.text[:400]
    html = page.text
    assert html.index(NEWER) < html.index(OLDER), "newest first"
    assert "未读 1 条" in html and html.count('data-testid="notice-unread"') == 1
    assert 'href="/cases/TS-20261123-000042"' in html and "柜台投诉 TS-20261123-000042" in html
    assert 'data-testid="nav-inbox"' in html and 'aria-current="page"' in html
    assert "10:30" in html, "times in the utility's zone (02:30 UTC = 10:30 in Shanghai)"
    asked = notify.seen[-1]
    assert asked.headers["Authorization"] == f"Bearer {duty.token}", "notify is asked as the person"
    # Each notice marked with the language notify says it was written in, where it differs from the page's.
    assert f'id="notice-{NEWER}" data-testid="notice-text">' in html
    assert f'id="notice-{OLDER}" data-testid="notice-text" lang="en">' in html
    english = await client.get("/inbox?lang=en")
    assert '<html lang="en">' in english.text and "1 unread" in english.text and "Mark as read" in english.text
    assert f'id="notice-{NEWER}" data-testid="notice-text" lang="zh-CN">' in english.text
    assert f'id="notice-{OLDER}" data-testid="notice-text">' in english.text


async def test_mark_as_read_posts_to_notify_as_the_person_with_the_forms_csrf(console: Running) -> None:
    app, client, notify, issuer = console
    duty = await _signed_in(app, issuer, "duty.zheng", "郑伟", ("duty_manager",))
    _as(client, duty)
    refused = await client.post(f"/inbox/{NEWER}/read", files=[("csrf_token", (None, "wrong"))])
    assert refused.status_code == 403
    assert not [r for r in notify.seen if r.method == "POST"]
    done = await client.post(f"/inbox/{NEWER}/read", files=[("csrf_token", (None, duty.csrf))])
    assert (done.status_code, done.headers["location"]) == (303, "/inbox?done=notice_read")
    posted = [r for r in notify.seen if r.method == "POST"]
    assert [r.url.path for r in posted] == [f"/v1/inbox/{NEWER}/read"]
    assert posted[0].headers["Authorization"] == f"Bearer {duty.token}"
    after = await client.get("/inbox?done=notice_read")
    assert "已标为已读。" in after.text and "未读 0 条" in after.text and 'data-testid="mark-read"' not in after.text
    unknown = await client.post(
        "/inbox/0b9f3c1e-0000-4000-8000-0000000000ff/read", files=[("csrf_token", (None, duty.csrf))]
    )
    assert unknown.status_code == 404 and "no such notice" in unknown.text


async def test_notify_not_answering_is_the_503_page_naming_it(console: Running) -> None:
    app, client, notify, issuer = console
    leader = await _signed_in(app, issuer, "leader.he", "何建国", ("leadership",))
    _as(client, leader)
    notify.down = True
    try:
        page = await client.get("/inbox")
    finally:
        notify.down = False
    assert page.status_code == 503 and "通知服务" in page.text


async def test_every_staff_role_has_its_notices(console: Running) -> None:
    app, client, _, issuer = console
    crew = await _signed_in(app, issuer, "crew1.chen", "陈刚", ("crew",))
    _as(client, crew)
    page = await client.get("/inbox")
    assert page.status_code == 200
    # A crew member cannot open the case screen: the reference is shown, not linked.
    assert "TS-20261123-000042" in page.text and 'href="/cases/' not in page.text


async def test_the_inbox_list_is_its_live_regions_fragment_as_the_person(console: Running) -> None:
    """The page's region names its fragment and kind (`inbox`: a staff notice's delivery); the fragment is the
    region's inner HTML alone — the count and the notices with their forms — read from notify as the person;
    signed out it is the sign-in, and the screen is every staff role's (notify decides whose notices they are)."""
    app, client, notify, issuer = console
    notify.items = json.loads(json.dumps(NOTICES))  # as notify has them, whatever an earlier test marked read
    duty = await _signed_in(app, issuer, "duty.zheng", "郑伟", ("duty_manager",))
    _as(client, duty)
    page = await client.get("/inbox")
    assert 'data-live="inbox" data-live-src="/inbox/list"' in page.text
    fragment = await client.get("/inbox/list", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="inbox-region"' not in fragment.text
    assert "未读 1 条" in fragment.text and fragment.text.index(NEWER) < fragment.text.index(OLDER)
    assert f'value="{duty.csrf}"' in fragment.text, "the mark-as-read forms keep the session's CSRF token"
    assert notify.seen[-1].headers["Authorization"] == f"Bearer {duty.token}"
    client.cookies.clear()
    signed_out = await client.get("/inbox/list", headers={"HX-Request": "true"})
    assert signed_out.headers["HX-Redirect"].startswith("/login"), signed_out.status_code
    nobody = await _signed_in(app, issuer, "visitor.x", "访客", ())
    _as(client, nobody)
    asked = len(notify.seen)
    assert (await client.get("/inbox/list", headers={"HX-Request": "true"})).status_code == 403
    assert len(notify.seen) == asked, "no staff role: notify is not even asked"
