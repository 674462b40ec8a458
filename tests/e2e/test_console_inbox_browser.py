"""The duty manager's notices in a real browser, from the request to "read": a duty-manager call for a counter
complaint (`notification.requested`, staff role `duty_manager`) reaches notify over Kafka, notify resolves the role
through the console's directory API (`services/notify/directory.py`: the rota's duty manager now, 郑伟) and delivers
it to his console inbox; 郑伟 (duty.zheng) signs in at the real identity provider's page, finds it in `/inbox` —
unread, urgent, newest first, leading to its case — reads it in Chinese and in English (the console's own language
switch) and marks it read, which notify records.

Real processes: the console (`python -m services.console`, the demo city's staff and rota seeded into a fresh
database), notify (`python -m services.notify`, the same database, the session's Kafka, only the console inbox as a
provider) and the session's Keycloak. Each screen is photographed into test-artifacts/console/ (inbox*.png) and
checked by axe-core (no serious or critical violation). Sync test: Playwright's sync API cannot run inside an asyncio
loop (the few async steps run on a loop of their own, in a thread).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from operations.migrations import apply_all
from services.notify.consumers import SUBSCRIPTIONS as NOTIFY_SUBSCRIPTIONS
from shared.contracts.followup import NotificationRequested, NotificationRequestedPayload, Recipient
from tests.support.browser import DESKTOP, accessibility_problems, screenshot
from tests.support.identity import IdentityProvider
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, start_groups_at_end
from tests.support.person_client import PersonClient
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo-city"
UI_TIMEOUT_MS = 45_000
START_S = 90.0
REFERENCE = f"TS-20261123-{uuid.uuid4().int % 10**6:06d}"
EVENTUAL_S = 60.0
#: Vendor credentials of the outer environment are not handed on: notify delivers to the console inbox only here.
VENDOR_PREFIXES = ("ALIYUN_", "TENCENT_", "WECHAT_", "SMTP_", "NOTIFY_")
NOTICE_ZH = f"柜台投诉 {REFERENCE} 客户情绪激动，请值班经理到场处理。"
T = TypeVar("T")
expect.set_options(timeout=UI_TIMEOUT_MS)


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


@dataclass(frozen=True)
class Running:
    console: str
    notify: str
    kafka: str


@pytest.fixture(scope="module")
def running(infra: Infrastructure, database: str, identity_provider: IdentityProvider) -> Iterator[Running]:
    """The console and notify as processes on free ports, each knowing the other: the console calls notify's inbox
    as the signed-in person (CONSOLE_NOTIFY_URL), notify reads the console's directory with a machine key
    (NOTIFY_DIRECTORY_URL, NOTIFY_DIRECTORY_KEY's dev default). Notify's consumer group starts at the topic's end."""
    console_port, notify_port = free_port(), free_port()
    urls = Running(f"http://127.0.0.1:{console_port}", f"http://127.0.0.1:{notify_port}", infra.kafka_bootstrap_servers)
    group = f"inbox-browser-{uuid.uuid4().hex[:8]}"
    _in_own_loop(start_groups_at_end(infra.kafka_bootstrap_servers, NOTIFY_SUBSCRIPTIONS, group))
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)},
        "APP_ENV": "test",
        "DATABASE_URL": database,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        **identity_provider.platform_env(),
    }
    logs = Path(tempfile.mkdtemp(prefix="uc-test-inbox-"))
    console_env = {
        "CONSOLE_HTTP_PORT": str(console_port),
        "CONSOLE_PUBLIC_URL": urls.console,
        "CONSOLE_NOTIFY_URL": urls.notify,
        "CONSOLE_SEED_STAFF": str(DEMO / "staff.csv"),
        "CONSOLE_SEED_ROTA": str(DEMO / "rota.csv"),
    }
    notify_env = {
        "NOTIFY_HTTP_PORT": str(notify_port),
        "NOTIFY_CONSUMER_GROUP": group,
        "NOTIFY_DIRECTORY_URL": urls.console,
    }
    started: list[subprocess.Popen[bytes]] = []
    try:
        for module, env, ready in (
            ("services.console", console_env, f"{urls.console}/readyz"),
            ("services.notify", notify_env, f"{urls.notify}/readyz"),
        ):
            log = logs / f"{module}.log"
            with log.open("wb") as output:
                proc = subprocess.Popen(
                    [sys.executable, "-m", module],
                    cwd=ROOT,
                    env={**base, **env},
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(proc)
            _wait_ready(proc, ready, log, kafka=module == "services.notify")
        yield urls
    finally:
        for proc in reversed(started):
            _stop(proc)
        shutil.rmtree(logs, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, *, kafka: bool) -> None:
    """Until `/readyz` answers 200 (and, for notify, its consumer is connected), or the process died, or START_S."""
    deadline = time.monotonic() + START_S
    while True:
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200 and (not kafka or answer.json().get("kafka") == "connected"):
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


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


def _check(page: Page, name: str, problems: list[str]) -> None:
    screenshot(page, name)
    problems.extend(f"{name}: {p}" for p in accessibility_problems(page))


def _switch(page: Page, lang: str) -> None:
    label = "English" if lang == "en" else "中文"
    page.get_by_test_id("language-switch").get_by_role("link", name=label).click()
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")


def _request(
    text: str, reference: str, *, role: str | None = None, staff_id: str | None = None, urgency: str = "urgent"
) -> NotificationRequested:
    """What followup publishes for a staff notice (`duty_manager_called` for a counter complaint not settled)."""
    complaint_id = uuid.uuid4()
    now = datetime.now(UTC)
    return NotificationRequested(
        event_id=uuid.uuid4(),
        occurred_at=now,
        producer="followup",
        correlation_id=f"inbox-browser-{uuid.uuid4().hex[:8]}",
        complaint_id=complaint_id,
        payload=NotificationRequestedPayload(
            notification_id=uuid.uuid4(),
            complaint_id=complaint_id,
            template_id="duty_manager_called",
            locale="zh",
            recipient=Recipient(kind="staff", role=role, staff_id=staff_id, department="customer_service"),
            params={"reference_no": reference},
            text=text,
            requested_at=now,
            urgency=urgency,  # type: ignore[arg-type]
            reference_no=reference,
        ),
    )


def _inbox_of(person: PersonClient, *wanted: uuid.UUID) -> list[dict[str, Any]]:
    """The person's inbox at notify (their own token), once it holds every `wanted` notice (poll with a deadline)."""
    deadline = time.monotonic() + EVENTUAL_S
    ids = {str(w) for w in wanted}
    while True:
        items = person.inbox()
        if ids <= {i["notification_id"] for i in items}:
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"notify's inbox never held {sorted(ids)}: {items}")
        time.sleep(0.2)


def test_the_duty_manager_reads_his_notice_in_both_languages_and_marks_it_read(
    browser: Browser, running: Running, identity_provider: IdentityProvider
) -> None:
    zheng = PersonClient({"notify": running.notify}, "duty.zheng", identity_provider.token, timeout=10)
    # Yesterday's handover, already read; then the call for the counter complaint (by role: the rota says who).
    older = _request("昨日值班交接：无遗留事项。", f"TS-20261122-{uuid.uuid4().int % 10**6:06d}", staff_id="duty.zheng")
    _in_own_loop(publish(running.kafka, older))
    older_id = older.payload.notification_id
    _inbox_of(zheng, older_id)
    zheng.mark_read(str(older_id))
    call = _request(NOTICE_ZH, REFERENCE, role="duty_manager")
    someone_else = _request("不是给值班经理的通知", REFERENCE, staff_id="agent.li", urgency="routine")
    _in_own_loop(publish(running.kafka, call, someone_else))
    notice = str(call.payload.notification_id)
    items = _inbox_of(zheng, call.payload.notification_id)
    called = next(i for i in items if i["notification_id"] == notice)
    assert called["read_at"] is None and called["locale"] == "zh", "notify says the language the notice is in"
    problems: list[str] = []

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{running.console}/inbox")
        expect(page.locator("#kc-login")).to_be_visible()
        assert page.url.startswith(identity_provider.issuer), page.url
        page.fill("#username", "duty.zheng")
        page.fill("#password", identity_provider.password)
        page.click("#kc-login")
        page.wait_for_url(re.compile(re.escape(f"{running.console}/inbox")))
        expect(page.get_by_test_id("person-name")).to_have_text("郑伟")
        expect(page.get_by_test_id("nav-inbox")).to_have_attribute("aria-current", "page")

        # Chinese: newest first, the call unread and urgent, leading to its case; another person's notice not here.
        notices = page.get_by_test_id("notice")
        expect(notices).to_have_count(2)
        first = notices.nth(0)
        expect(first).to_have_attribute("data-notification", notice)
        expect(first.get_by_test_id("notice-text")).to_have_text(NOTICE_ZH)
        expect(first.get_by_test_id("notice-unread")).to_have_text("未读")
        expect(first.get_by_test_id("notice-urgent")).to_have_text("紧急")
        expect(first.get_by_test_id("notice-case")).to_have_attribute("href", f"/cases/{REFERENCE}")
        expect(notices.nth(1)).to_have_attribute("data-notification", str(older_id))
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

        # Marked read (a form with the session's CSRF token): the confirmation, no unread left, and notify knows.
        first.get_by_test_id("mark-read").click()
        expect(page.get_by_test_id("done")).to_have_text("Marked as read.")
        expect(page.get_by_test_id("notice-unread")).to_have_count(0)
        expect(page.get_by_test_id("inbox-unread")).to_have_text("0 unread")
        expect(page.get_by_test_id("notice").nth(0).get_by_test_id("notice-read-at")).to_be_visible()
        _check(page, "inbox-read.en", problems)
        _switch(page, "zh")
        expect(page.get_by_test_id("inbox-unread")).to_have_text("未读 0 条")
        _check(page, "inbox-read.zh", problems)
    finally:
        context.close()
    after = _inbox_of(zheng, call.payload.notification_id)
    assert next(i for i in after if i["notification_id"] == notice)["read_at"] is not None
    assert not problems, "axe-core found serious or critical problems:\n" + "\n".join(problems)
