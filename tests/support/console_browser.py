"""The console in a real browser, as its people use it: a person signs in at the identity provider's own page and
lands on a screen; each screen is photographed in Chinese and English (switched with the console's own language
switch) and checked by axe-core. Shared by the end-to-end browser tests, so every one signs in the same way.

Sync API: Playwright's sync API cannot run inside an asyncio loop. Waits are Playwright's auto-waiting and polls
with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.browser import DESKTOP, PHONE, ROOT, accessibility_problems, screenshot
from tests.support.identity import IdentityProvider
from tests.support.person_client import PersonClient
from tests.support.platform import Platform

#: How long Playwright waits for an element or a page on a loaded 2-core machine (ms).
UI_TIMEOUT_MS = 45_000
#: How long an eventually consistent read (Kafka between services) may take to show (s).
EVENTUAL_S = 90.0
T = TypeVar("T")


def _demo_names() -> dict[str, str]:
    with (ROOT / "deploy" / "demo-city" / "staff.csv").open(encoding="utf-8", newline="") as fh:
        return {row["staff_id"]: row["display_name"] for row in csv.DictReader(fh)}


#: Each demo person's Chinese name, as the console's top bar shows it once they are signed in.
NAMES: dict[str, str] = _demo_names()


class Screens:
    """Every screen photographed in both languages and checked by axe-core; problems collected, not raised."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.problems: list[str] = []
        self.provider_problems: list[str] = []

    def capture(self, page: Page, name: str, *, ours: bool = True) -> None:
        screenshot(page, name)
        self.taken.append(name)
        found = [f"{name}: {problem}" for problem in accessibility_problems(page)]
        (self.problems if ours else self.provider_problems).extend(found)

    def both(self, page: Page, name: str, prepare: Callable[[], None] | None = None, *, narrow: bool = False) -> None:
        """The screen as it is (Chinese), then in English by the console's switch, then back to Chinese.

        `prepare` runs after each switch (e.g. the lookup again: a switch reloads the page); `narrow` checks the
        page is no wider than the phone in both languages.
        """
        for lang in ("zh", "en"):
            if lang == "en":
                switch_language(page, "en")
                if prepare is not None:
                    prepare()
            if narrow:
                assert_fits_phone(page, f"{name}.{lang}")
            self.capture(page, f"{name}.{lang}")
        switch_language(page, "zh")


def switch_language(page: Page, lang: str) -> None:
    """As a person does: the header's 中文 | English link; the page comes back in that language."""
    label = "English" if lang == "en" else "中文"
    page.get_by_test_id("language-switch").get_by_role("link", name=label).click()
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")


def assert_fits_phone(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what}: the page is {width} px wide on a {PHONE['width']}-px phone"


def poll(page: Page, what: str, check: Callable[[], T | None], timeout: float = EVENTUAL_S) -> T:
    """`check()` until it answers, paced by the browser's own clock; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        page.wait_for_timeout(500)


class Console:
    """The running console and its provider, from a browser's point of view."""

    def __init__(self, browser: Browser, platform: Platform, provider: IdentityProvider) -> None:
        self.browser = browser
        self.url = platform.url("console")
        self.services = platform.services
        self.provider = provider
        self.contexts: list[BrowserContext] = []
        self.signed_in: dict[str, Page] = {}

    def sign_in(self, staff_id: str, path: str, *, phone: bool = False, screens: Screens | None = None) -> Page:
        """A fresh browser opens `path`, is sent to the provider's sign-in page, signs in as `staff_id` and lands
        on `path` as that person. With `screens`, the provider's page is photographed in both its languages."""
        options: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if phone else {}
        context = self.browser.new_context(**({"viewport": DESKTOP} | options), locale="zh-CN")
        context.set_default_timeout(UI_TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.goto(self.url + path)
        expect(page.locator("#kc-login")).to_be_visible()
        assert page.url.startswith(self.provider.issuer), f"{path} signed out went to {page.url}, not the provider"
        if screens is not None:
            screens.capture(page, "signin.zh", ours=False)
            _provider_language(page, "en")
            screens.capture(page, "signin.en", ours=False)
            _provider_language(page, "zh-CN")
        page.fill("#username", staff_id)
        page.fill("#password", self.provider.password)
        page.click("#kc-login")
        page.wait_for_url(re.compile(re.escape(self.url + path.split("?")[0])))
        expect(page.get_by_test_id("person-name")).to_have_text(NAMES[staff_id])
        self.signed_in[staff_id] = page
        return page

    def page_of(self, staff_id: str, path: str, *, phone: bool = False) -> Page:
        """`staff_id`'s page opened at `path`: the browser they already signed in with (a Keycloak sign-in costs
        seconds on 2 cores), or a fresh sign-in when the flow did not get that far."""
        page = self.signed_in.get(staff_id)
        if page is None or page.is_closed():
            return self.sign_in(staff_id, path, phone=phone)
        page.goto(self.url + path)
        expect(page.get_by_test_id("person-name")).to_have_text(NAMES[staff_id])
        return page

    def person(self, staff_id: str) -> PersonClient:
        """`staff_id` calling the platform's APIs with their own token from the provider, for the steps whose
        screens are another test's."""
        return PersonClient(self.services, staff_id, self.provider.token)

    def keep_failure(self) -> None:
        """Each open page as it was when the test failed (test-artifacts/console/failed-<n>.png), to look at."""
        for n, page in enumerate(p for context in self.contexts for p in context.pages):
            try:
                screenshot(page, f"failed-{n}")
                print(f"failed-{n}: {page.url}")
            except Exception as exc:  # the failure itself is what pytest reports
                print(f"failed-{n}: no screenshot ({exc})")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def _provider_language(page: Page, locale: str) -> None:
    """Keycloak's own language menu on its sign-in page (each option a link to the page in that language)."""
    menu = page.locator("#login-select-toggle")
    options = menu.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent.trim()])")
    chosen = next((value for value, _ in options if f"kc_locale={locale}" in value), None)
    assert chosen, f"no {locale} in the provider's language menu: {options}"
    menu.select_option(value=chosen)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("#kc-login")).to_be_visible()
