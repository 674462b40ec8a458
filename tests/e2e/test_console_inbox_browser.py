"""The duty manager's notices in a real browser: 郑伟 (duty.zheng) signs in at the real identity provider's page,
finds the duty-manager call for a counter complaint in his console inbox — unread, urgent, leading to its case —
reads it in Chinese and in English (the console's own language switch), and marks it read.

Real processes: the console (`python -m services.console`, the demo city's staff and rota seeded into a fresh
database) and the session's Keycloak. Notify's side of the inbox is NOTIFY below: see its docstring for which
one. Each screen is photographed into test-artifacts/console/ (inbox.*.png) and checked by axe-core (no serious or
critical violation). Sync test: Playwright's sync API cannot run inside an asyncio loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from embedded._process import find_free_port
from operations.migrations import apply_all
from tests.support.browser import DESKTOP, accessibility_problems, chromium, screenshot
from tests.support.identity import IdentityProvider
from tests.support.infrastructure import Infrastructure

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo-city"
UI_TIMEOUT_MS = 45_000
START_S = 90.0
REFERENCE = f"TS-20261123-{uuid.uuid4().int % 10**6:06d}"
NOTICE_ZH = f"柜台投诉 {REFERENCE} 客户情绪激动，请值班经理到场处理。"
T = TypeVar("T")
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass
class StubNotify:
    """A minimal stand-in for notify's inbox API (`GET /v1/inbox`, `POST /v1/inbox/{id}/read`), used because notify's
    real `/v1/inbox` was not committed yet when this test was written (see the module docstring). It answers each
    bearer token's person (the token's `staff_id` claim, unverified: the console is what is under test here) with
    the notices kept for them, and records every request."""

    notices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, staff_id: str, text: str, reference: str, *, urgency: str = "urgent") -> str:
        notification_id = str(uuid.uuid4())
        with self.lock:
            self.notices.setdefault(staff_id, []).append(
                {
                    "notification_id": notification_id,
                    "complaint_id": str(uuid.uuid4()),
                    "reference_no": reference,
                    "template_id": "staff_duty_manager",
                    "text": text,
                    "urgency": urgency,
                    "channel": "console",
                    "status": "delivered",
                    "requested_at": datetime.now(UTC).isoformat(),
                    "read_at": None,
                }
            )
        return notification_id

    def handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _person(self) -> str | None:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer "):
                    return None
                payload = auth.removeprefix("Bearer ").split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                return str(claims.get("staff_id") or claims.get("preferred_username"))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                person = self._person()
                stub.seen.append(("GET", self.path, person or ""))
                if person is None:
                    return self._answer(401, {"title": "Unauthorized", "status": 401})
                with stub.lock:
                    items = list(reversed(stub.notices.get(person, [])))
                unread = sum(1 for i in items if i["read_at"] is None)
                return self._answer(200, {"staff_id": person, "unread": unread, "items": items})

            def do_POST(self) -> None:
                person = self._person()
                stub.seen.append(("POST", self.path, person or ""))
                found = re.fullmatch(r"/v1/inbox/([0-9a-f-]+)/read", self.path)
                with stub.lock:
                    for item in stub.notices.get(person or "", []):
                        if found and item["notification_id"] == found.group(1):
                            item["read_at"] = item["read_at"] or datetime.now(UTC).isoformat()
                            return self._answer(
                                200, {"notification_id": item["notification_id"], "read_at": item["read_at"]}
                            )
                return self._answer(
                    404, {"title": "Not Found", "status": 404, "detail": "no such notice in your inbox"}
                )

        return Handler


@pytest.fixture(scope="module")
def notify() -> Iterator[tuple[str, StubNotify]]:
    stub = StubNotify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), stub.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def database(infra: Infrastructure) -> Iterator[str]:
    """A fresh migrated database on the session's Postgres, dropped after the module."""
    name = f"inbox_{uuid.uuid4().hex[:10]}"
    url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{name}"))

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(infra.database_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    _in_own_loop(admin(f'CREATE DATABASE "{name}"'))
    try:
        _in_own_loop(apply_all(url))
        yield url
    finally:
        _in_own_loop(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _in_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end on a loop of its own, in a thread (pytest-asyncio may have a loop running here)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="module")
def console_url(database: str, notify: tuple[str, StubNotify], identity_provider: IdentityProvider) -> Iterator[str]:
    """`python -m services.console` on a free port, the demo city seeded, calling notify at NOTIFY's URL."""
    port = find_free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix="uc-test-inbox-")) / "console.log"
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database,
        "CONSOLE_HTTP_PORT": str(port),
        "CONSOLE_PUBLIC_URL": url,
        "CONSOLE_NOTIFY_URL": notify[0],
        "CONSOLE_SEED_STAFF": str(DEMO / "staff.csv"),
        "CONSOLE_SEED_ROTA": str(DEMO / "rota.csv"),
        **identity_provider.platform_env(),
    }
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.console"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + START_S
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the console did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the console's process group (it shuts down gracefully), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _check(page: Page, name: str, problems: list[str]) -> None:
    screenshot(page, name)
    problems.extend(f"{name}: {p}" for p in accessibility_problems(page))


def _switch(page: Page, lang: str) -> None:
    label = "English" if lang == "en" else "中文"
    page.get_by_test_id("language-switch").get_by_role("link", name=label).click()
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")


def test_the_duty_manager_reads_his_notice_in_both_languages_and_marks_it_read(
    browser: Browser,
    console_url: str,
    notify: tuple[str, StubNotify],
    identity_provider: IdentityProvider,
) -> None:
    _, stub = notify
    older = stub.add("duty.zheng", "昨日值班交接：无遗留事项。", f"TS-20261122-{uuid.uuid4().int % 10**6:06d}")
    stub.notices["duty.zheng"][0]["read_at"] = datetime.now(UTC).isoformat()
    stub.notices["duty.zheng"][0]["urgency"] = "routine"
    notice = stub.add("duty.zheng", NOTICE_ZH, REFERENCE)
    stub.add("agent.li", "不是给值班经理的通知", REFERENCE)
    problems: list[str] = []

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{console_url}/inbox")
        expect(page.locator("#kc-login")).to_be_visible()
        assert page.url.startswith(identity_provider.issuer), page.url
        page.fill("#username", "duty.zheng")
        page.fill("#password", identity_provider.password)
        page.click("#kc-login")
        page.wait_for_url(re.compile(re.escape(f"{console_url}/inbox")))
        expect(page.get_by_test_id("person-name")).to_have_text("郑伟")
        expect(page.get_by_test_id("nav-inbox")).to_have_attribute("aria-current", "page")

        # Chinese: newest first, the new one unread and urgent, leading to its case; the other person's not here.
        notices = page.get_by_test_id("notice")
        expect(notices).to_have_count(2)
        first = notices.nth(0)
        expect(first).to_have_attribute("data-notification", notice)
        expect(first.get_by_test_id("notice-text")).to_have_text(NOTICE_ZH)
        expect(first.get_by_test_id("notice-unread")).to_have_text("未读")
        expect(first.get_by_test_id("notice-urgent")).to_have_text("紧急")
        expect(first.get_by_test_id("notice-case")).to_have_attribute("href", f"/cases/{REFERENCE}")
        expect(notices.nth(1)).to_have_attribute("data-notification", older)
        expect(notices.nth(1).get_by_test_id("notice-unread")).to_have_count(0)
        expect(page.get_by_test_id("inbox-unread")).to_have_text("未读 1 条")
        expect(page.get_by_text("不是给值班经理的通知")).to_have_count(0)
        _check(page, "inbox.zh", problems)

        # English, by the console's own switch: our words in English, the notice as it was written (Chinese).
        _switch(page, "en")
        expect(page.get_by_role("heading", level=1)).to_have_text("My notices")
        expect(page.get_by_test_id("inbox-unread")).to_have_text("1 unread")
        expect(first.get_by_test_id("notice-text")).to_have_attribute("lang", "zh-CN")
        expect(first.get_by_test_id("mark-read")).to_have_text("Mark as read")
        _check(page, "inbox.en", problems)

        # Marked read (a form with the session's CSRF token): the confirmation, no unread left.
        first.get_by_test_id("mark-read").click()
        expect(page.get_by_test_id("done")).to_have_text("Marked as read.")
        expect(page.get_by_test_id("notice-unread")).to_have_count(0)
        expect(page.get_by_test_id("inbox-unread")).to_have_text("0 unread")
        expect(page.get_by_test_id("notice").nth(0).get_by_test_id("notice-read-at")).to_be_visible()
        _check(page, "inbox-read.en", problems)
        _switch(page, "zh")
        expect(page.get_by_test_id("inbox-unread")).to_have_text("未读 0 条")
        _check(page, "inbox-read.zh", problems)

        assert ("POST", f"/v1/inbox/{notice}/read", "duty.zheng") in stub.seen, stub.seen
        assert all(person == "duty.zheng" for _, _, person in stub.seen), "notify is asked as the signed-in person"
    finally:
        context.close()
    assert not problems, "axe-core found serious or critical problems:\n" + "\n".join(problems)
