"""How a screen answers: the Jinja2 templates, the page every screen extends (top bar with the person's name, roles
and sign-out, the language switch, the CSRF token), and the error pages — a service's refusal shown in the
person's language with the service's own detail, a 403 as a 403 page.

Screens (`screens/`) build their page through `PageContext.render`; none touches the response headers, the
cookies or the CSRF token itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console.i18n import HTML_LANG, LANGUAGES, Translator, chosen_language
from services.console.model import Session, StaffMember, menu
from services.console.security import CSRF_FIELD, LANG_COOKIE

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
#: `?done=<key>` after an action shows `done.<key>`; only these keys (no text from the URL reaches the page).
DONE_KEYS = frozenset(
    {
        "acknowledged",
        "crew_assigned",
        "appointment_agreed",
        "returned",
        "assist_requested",
        "resolved",
        "note_added",
        "arrived",
        "findings_recorded",
        "photo_added",
        "not_at_home",
        "outcome_recorded",
        "notice_read",
        # the duty manager's own steps
        "duty_on_the_way",
        "duty_arrived",
        # serious cases approved by leadership
        "serious_proposed",
        "serious_approved",
        "serious_sent_back",
        # the triage queue and the category model
        "triage_routed",
        "triage_invalid",
        "reclassified",
        "validity_overturned",
        "retrain_started",
        "model_promoted",
        # the supervisor's desk
        "escalation_acknowledged",
        "escalation_answered",
        "escalation_sent_back",
        "incident_declared",
        "outage_declared",
        "eta_set",
        "restored",
        "action_completed",
        # multi-department cases coordinated by the customer-service centre
        "coordination_opened",
        "coordination_lead_changed",
        "coordination_part_added",
        "coordination_deadline_set",
        "coordination_instructed",
    }
)


def templates() -> Environment:
    """Autoescaped HTML; a missing field of a service's answer renders empty instead of failing the page."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language(request: Request) -> str:
    return chosen_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


@dataclass
class PageContext:
    """What every page knows: the request, the person's session and language, and the templates."""

    request: Request
    env: Environment
    timezone: ZoneInfo
    session: Session | None = None
    member: StaffMember | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return language(self.request)

    @property
    def t(self) -> Translator:
        return Translator(self.lang, self.timezone)

    def lang_switch(self) -> dict[str, str]:
        """The current page in each language (the switch links keep the page and its query)."""
        query = {k: v for k, v in self.request.query_params.items() if k not in ("lang", "done")}
        return {lang: f"{self.request.url.path}?{urlencode({**query, 'lang': lang})}" for lang in LANGUAGES}

    def values(self) -> dict[str, Any]:
        t = self.t
        person = self.session.person if self.session else None
        done = self.request.query_params.get("done")
        name = person.name if person else ""
        if person and self.member and self.lang == "en" and self.member.display_name_en:
            name = self.member.display_name_en
        return {
            "t": t,
            "lang": self.lang,
            "html_lang": HTML_LANG[self.lang],
            "lang_switch": self.lang_switch(),
            "person": person,
            "person_name": name,
            "person_roles": [t.label("role", r) for r in sorted(person.roles)] if person else [],
            "menu": menu(person) if person else [],
            "csrf_token": self.session.csrf_token if self.session else "",
            "csrf_field": CSRF_FIELD,
            "path": self.request.url.path,
            "done": f"done.{done}" if done in DONE_KEYS else None,
            **self.extra,
        }

    def render(self, name: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        """The page; `status` is the HTTP status, also shown by the error pages."""
        html = self.env.get_template(name).render(**{**self.values(), **values, "status": status})
        return HTMLResponse(html, status_code=status)


def error_response(
    page: PageContext,
    status: int,
    title_key: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    detail_lang: str = "en",
) -> HTMLResponse:
    """The error page (or, for an htmx request, the message swapped into the page's message area). A service's
    detail is its own words (English, `detail_lang`); ours are translated."""
    values = {"title_key": title_key, "detail": detail, "errors": errors or [], "detail_lang": detail_lang}
    if is_htmx(page.request):
        response = page.render("_error.html", status=status, **values)
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return page.render("error.html", status=status, **values)


def redirect(path: str, *, done: str | None = None) -> RedirectResponse:
    """303 See Other after a form (the browser then GETs the page: no resubmission on reload)."""
    if done:
        path = f"{path}{'&' if '?' in path else '?'}done={done}"
    return RedirectResponse(path, status_code=303)


def sign_in_redirect(request: Request) -> Response:
    """Signed out: to `/login?next=<this page>`; an htmx request asks the page itself to go there."""
    if is_htmx(request):
        current = request.headers.get("HX-Current-URL", "/")
        parts = urlsplit(current)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        response = Response(status_code=204)
        response.headers["HX-Redirect"] = f"/login?{urlencode({'next': target or '/'})}"
        return response
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': here})}", status_code=303)


class LanguageCookie:
    """`?lang=en` (or `zh`) on any page is remembered in a cookie, so the next page speaks the same language."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        chosen = request.query_params.get("lang")
        if chosen not in LANGUAGES or request.cookies.get(LANG_COOKIE) == chosen:
            await self.app(scope, receive, send)
            return

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = Response()
                cookie.set_cookie(
                    LANG_COOKIE, chosen, max_age=365 * 24 * 3600, path="/", samesite="lax", secure=self.secure
                )
                # Only the Set-Cookie line: the helper Response's own Content-Length beside the page's would be
                # two, and browsers refuse such an answer (ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH).
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    *((name, value) for name, value in cookie.raw_headers if name == b"set-cookie"),
                ]
            await send(message)

        await self.app(scope, receive, remember)
