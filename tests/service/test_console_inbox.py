"""The console's `/inbox` on real Postgres, notify stood in by a recording transport (as the other page tests stand
in the services): the signed-in person's notices newest first, the unread marked and counted, each leading to its
case, in Chinese and English; "mark as read" posts to notify as the person, only with the form's CSRF token; notify
not answering is the 503 page naming it; every staff role has the screen.

The same screen in a real browser against the real notify is tests/e2e/test_console_inbox_browser.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from shared.http.person import Person
from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

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
    """Notify's inbox as the console sees it (a notice marked read stays read); `down` refuses connections; every
    request to notify kept."""

    items: list[dict[str, object]] = field(default_factory=lambda: json.loads(json.dumps(NOTICES)))
    down: bool = False
    seen: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
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


#: Persons the demo city has not: a crew member without department or crew in their token, and nobody in any role.
CREW = Person("crew1.chen", "陈刚", frozenset({"crew"}))
NOBODY = Person("visitor.x", "访客")


@pytest.fixture(scope="module")
def notify() -> Notify:
    return Notify()


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure, notify: Notify) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as console:
        for method in ("GET", "POST"):
            console.services.on_request("notify", method, r"/.*", notify.handle)
        yield console


async def test_the_duty_managers_notices_newest_first_unread_marked_in_both_languages(
    console: ConsoleOnStandIns, notify: Notify
) -> None:
    duty = await console.as_("duty.zheng")
    page = await console.get("/inbox", duty)
    assert page.status_code == 200, page.text[:400]
    html = page.text
    assert html.index(NEWER) < html.index(OLDER), "newest first"
    assert "未读 1 条" in html and html.count('data-testid="notice-unread"') == 1
    assert 'href="/cases/TS-20261123-000042"' in html and "柜台投诉 TS-20261123-000042" in html
    assert 'data-testid="nav-inbox"' in html and 'aria-current="page"' in html
    assert "10:30" in html, "times in the utility's zone (02:30 UTC = 10:30 in Shanghai)"
    asked = notify.seen[-1]
    assert asked.headers["Authorization"] == f"Bearer {duty.access_token}", "notify is asked as the person"
    # Each notice marked with the language notify says it was written in, where it differs from the page's.
    assert f'id="notice-{NEWER}" data-testid="notice-text">' in html
    assert f'id="notice-{OLDER}" data-testid="notice-text" lang="en">' in html
    english = await console.get("/inbox?lang=en", duty)
    assert '<html lang="en">' in english.text and "1 unread" in english.text and "Mark as read" in english.text
    assert f'id="notice-{NEWER}" data-testid="notice-text" lang="zh-CN">' in english.text
    assert f'id="notice-{OLDER}" data-testid="notice-text">' in english.text


async def test_mark_as_read_posts_to_notify_as_the_person_with_the_forms_csrf(
    console: ConsoleOnStandIns, notify: Notify
) -> None:
    duty = await console.as_("duty.zheng")
    refused = await console.post(f"/inbox/{NEWER}/read", duty, {"csrf_token": "wrong"}, csrf=False)
    assert refused.status_code == 403
    assert not [r for r in notify.seen if r.method == "POST"]
    done = await console.post(f"/inbox/{NEWER}/read", duty, {})
    assert (done.status_code, done.headers["location"]) == (303, "/inbox?done=notice_read")
    posted = [r for r in notify.seen if r.method == "POST"]
    assert [r.url.path for r in posted] == [f"/v1/inbox/{NEWER}/read"]
    assert posted[0].headers["Authorization"] == f"Bearer {duty.access_token}"
    after = await console.get("/inbox?done=notice_read", duty)
    assert "已标为已读。" in after.text and "未读 0 条" in after.text and 'data-testid="mark-read"' not in after.text
    unknown = await console.post("/inbox/0b9f3c1e-0000-4000-8000-0000000000ff/read", duty, {})
    assert unknown.status_code == 404 and "no such notice" in unknown.text


async def test_notify_not_answering_is_the_503_page_naming_it(console: ConsoleOnStandIns, notify: Notify) -> None:
    leader = await console.as_("leader.he")
    notify.down = True
    try:
        page = await console.get("/inbox", leader)
    finally:
        notify.down = False
    assert page.status_code == 503 and "通知服务" in page.text


async def test_every_staff_role_has_its_notices(console: ConsoleOnStandIns) -> None:
    crew = await console.as_(CREW)
    page = await console.get("/inbox", crew)
    assert page.status_code == 200
    # A crew member cannot open the case screen: the reference is shown, not linked.
    assert "TS-20261123-000042" in page.text and 'href="/cases/' not in page.text


async def test_the_inbox_list_is_its_live_regions_fragment_as_the_person(
    console: ConsoleOnStandIns, notify: Notify
) -> None:
    """The page's region names its fragment and kind (`inbox`: a staff notice's delivery); the fragment is the
    region's inner HTML alone — the count and the notices with their forms — read from notify as the person;
    signed out it is the sign-in, and the screen is every staff role's (notify decides whose notices they are)."""
    notify.items = json.loads(json.dumps(NOTICES))  # as notify has them, whatever an earlier test marked read
    duty = await console.as_("duty.zheng")
    page = await console.get("/inbox", duty)
    assert 'data-live="inbox" data-live-src="/inbox/list"' in page.text
    fragment = await console.get("/inbox/list", duty, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="inbox-region"' not in fragment.text
    assert "未读 1 条" in fragment.text and fragment.text.index(NEWER) < fragment.text.index(OLDER)
    assert f'value="{duty.csrf_token}"' in fragment.text, "the mark-as-read forms keep the session's CSRF token"
    assert notify.seen[-1].headers["Authorization"] == f"Bearer {duty.access_token}"
    signed_out = await console.get("/inbox/list", headers={"HX-Request": "true"})
    assert signed_out.headers["HX-Redirect"].startswith("/login"), signed_out.status_code
    nobody = await console.as_(NOBODY)
    asked = len(notify.seen)
    assert (await console.get("/inbox/list", nobody, headers={"HX-Request": "true"})).status_code == 403
    assert len(notify.seen) == asked, "no staff role: notify is not even asked"
