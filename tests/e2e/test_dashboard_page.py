"""The managers' dashboard moved behind the console's sign-in (issue 24): reporting no longer serves a page that asks
for an API key. Its old addresses (`/`, `/dashboard`, `/dashboard/`, `/dashboard/?key=...`) send the browser to the
console's `/dashboard` (`REPORTING_CONSOLE_URL`), where a manager reads the same figures as themself; without that
setting they answer 404 saying where the dashboard went. No file of the old page is left to serve.

The dashboard itself: tests/service/test_console_dashboard.py (reporting stood in) and, in Chromium on the real
platform, tests/e2e/supervision/test_surge_browser.py."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.reporting.bootstrap import create_app
from services.reporting.settings import ReportingSettings

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = "https://console.utility.example"
OLD_ADDRESSES = ("/", "/dashboard", "/dashboard/", "/dashboard/?key=dev-only-manager-key&lang=en", "/dashboard/x.js")


def _client(**settings: str) -> httpx.AsyncClient:
    """Reporting's app without its lifespan: the old addresses need neither its database nor its broker."""
    app = create_app(ReportingSettings(app_env="test", **settings))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reporting")


@pytest.mark.parametrize("address", OLD_ADDRESSES)
async def test_the_old_key_page_sends_the_browser_to_the_consoles_dashboard(address: str) -> None:
    async with _client(reporting_console_url=CONSOLE) as client:
        answer = await client.get(address)
    assert (answer.status_code, answer.headers["location"]) == (308, f"{CONSOLE}/dashboard")
    assert "key" not in answer.headers["location"], "no key travels on to the console"


async def test_without_the_consoles_address_it_says_where_the_dashboard_went() -> None:
    async with _client() as client:
        answer = await client.get("/dashboard/")
    assert answer.status_code == 404 and "console's /dashboard" in answer.text
    assert "<input" not in answer.text


def test_no_page_asking_for_a_key_is_left_in_reporting() -> None:
    assert not (ROOT / "services" / "reporting" / "dashboard").exists()
    for path in (ROOT / "services" / "reporting").rglob("*"):
        if path.suffix in (".html", ".js"):
            raise AssertionError(f"reporting serves no page now: {path}")
