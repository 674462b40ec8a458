"""Signing in to the console at the real identity provider (Keycloak) as a browser does, with httpx: the console
sends the browser to the provider (authorization code + PKCE), the person fills in the provider's own login form,
the provider sends the browser back with a code, and the console trades it for tokens.

The console runs in-process at a public URL the provider's client allows (http://127.0.0.1:...); nothing listens
there — the provider's redirect is read from its `Location` and handed to the console's client.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

_LOGIN_FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)


class ProviderBrowser:
    """The browser's side towards the provider: its cookies kept by hand and sent back to it.

    Why by hand: the provider marks its cookies `Secure`, which browsers still send to http://127.0.0.1 (a secure
    context) but Python's cookie jar does not; and no redirect is followed, so each step can be read. One browser
    is one person: the provider's session cookie would sign the next person in as the last.
    """

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=30)
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        answer = await self.http.request(method, url, headers=headers, **kwargs)
        for header in answer.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in header.lower().replace(" ", ""):
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return answer

    async def get(self, url: str) -> httpx.Response:
        return await self.request("GET", url)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def __aenter__(self) -> ProviderBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


def login_form_action(page: str) -> str | None:
    """Where the provider's login form posts the username and password (None: no login form on the page)."""
    found = _LOGIN_FORM.search(page)
    return html.unescape(found.group(1)) if found else None


async def sign_in_at_provider(
    console: httpx.AsyncClient,
    provider: ProviderBrowser,
    staff_id: str,
    password: str,
    *,
    public_url: str,
    next_path: str = "/",
) -> httpx.Response:
    """What a browser does from `/login` to the console's answer to the provider's redirect (the console's client's
    cookies are cleared first: a new browser session)."""
    console.cookies.clear()
    start = await console.get("/login", params={"next": next_path})
    assert start.status_code == 303, start.text
    login_page = await provider.get(start.headers["location"])
    assert login_page.status_code == 200, login_page.text[:500]
    action = login_form_action(login_page.text)
    assert action is not None, "the provider's login form"
    answer = await provider.post(action, data={"username": staff_id, "password": password, "credentialId": ""})
    assert answer.status_code in (302, 303), answer.text[:500]
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == f"{public_url}/auth/callback"
    return await console.get(f"{back.path}?{back.query}")
