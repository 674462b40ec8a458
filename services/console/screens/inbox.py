"""`/inbox`: the signed-in person's staff notices — the duty manager's call, an escalation, leadership told of a
serious case — newest first, the unread marked, each leading to its case, and "mark as read".

The notices are notify's: it keeps each staff delivery addressed to a person (the console inbox is its last channel
for every staff notice) and serves them as `GET /v1/inbox` to that person's token; reading one is
`POST /v1/inbox/{notification_id}/read`. The console keeps nothing of them. Notify not answering is the 503 page
naming it, as for any service; the unread count is shown here only (asking notify on every page would make every
screen wait for it).

The list is a live region (kind `inbox`), re-read from `/inbox/list` as the person whenever notify reports a staff
notice's delivery (`notification.delivery`, public: ids, template, channel and status only — the console never
reads the requests, which carry the text and addresses): the notice shows without a reload, and notify's own
`GET /v1/inbox` decides, as for the page, which notices are the person's.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls
from services.console.model import may_open
from services.console.pages import PageContext, redirect
from services.console.screens.common import Calls, Page

router = APIRouter(include_in_schema=False)


@router.get("/inbox", dependencies=[screen("inbox")])
async def inbox(page: Page, calls: Calls) -> Response:
    return page.render("inbox.html", **await _notices(page, calls))


@router.get("/inbox/list", dependencies=[screen("inbox")])
async def inbox_list(page: Page, calls: Calls) -> Response:
    """The live region's inner HTML alone (re-read on every change of kind `inbox`)."""
    return page.render("_inbox.html", **await _notices(page, calls))


async def _notices(page: PageContext, calls: PersonCalls) -> dict[str, Any]:
    assert page.session is not None
    answer = await calls.get("notify", "/v1/inbox")
    notices = newest_first(answer.get("items", []) if isinstance(answer, dict) else answer)
    return {
        "notices": notices,
        "unread": sum(1 for n in notices if not n.get("read_at")),
        "cases_open": may_open(page.session.person, "case"),
    }


@router.post("/inbox/{notification_id}/read", dependencies=[screen("inbox")])
async def mark_read(notification_id: uuid.UUID, _: Acting, calls: Calls) -> Response:
    """Notify records it as the person (another's notice is its 404); back to the inbox, saying so."""
    await calls.post("notify", f"/v1/inbox/{notification_id}/read")
    return redirect("/inbox", done="notice_read")


def newest_first(items: Any) -> list[dict[str, Any]]:
    """The notices as dicts, the latest request first (ISO 8601 times in one offset sort as text; notify answers
    in UTC), whatever order they came in; each with `text_lang`, the language its text was written in."""
    notices = [{**i, "text_lang": text_language(i)} for i in (items or []) if isinstance(i, dict)]
    return sorted(notices, key=lambda n: str(n.get("requested_at") or ""), reverse=True)


def text_language(notice: dict[str, Any]) -> str | None:
    """`zh` or `en`: the `locale` notify keeps for the notice (the request's, the language its text was written
    in), so a screen reader reads a Chinese notice on an English page in Chinese. None when notify does not say:
    the text then takes the page's language — guessing from the characters would misread an English notice naming
    a Chinese place."""
    locale = notice.get("locale")
    return str(locale) if locale in ("zh", "en") else None
