"""The customer's status page in a real browser (Debian's Chromium through Playwright), in Chinese and English on a
phone-sized screen: channels served over real HTTP (uvicorn in a thread, its real lifespan on the session's
Postgres and Kafka), a complaint filed over Open311 and its case fed the events intake, dispatch and notify publish.
The customer types the reference number and the last four digits and reads status, department, note, expected time
and the messages sent — and nothing else of theirs; wrong digits read as "no such complaint". axe-core finds no
serious accessibility problem. Screenshots in test-artifacts/channels/ for a person to look at."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from services.channels import consumers
from services.channels.bootstrap import create_app
from services.channels.handlers.cases import keep_cases
from services.channels.handlers.open311 import request_by_token
from services.channels.settings import ChannelsSettings
from shared.contracts import ComplaintEtaChanged, NotificationDelivery, new_event
from tests.support.browser import PHONE, accessibility_problems, chromium
from tests.support.followup_events import Order, acknowledged, received, routed
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import start_groups_at_end
from tests.support.ports import bound_socket, port_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "channels"
T = TypeVar("T")
#: The expected time the case is given, and how the page shows it (Beijing time).
ETA = (datetime.now(UTC) + timedelta(hours=4)).replace(second=0, microsecond=0)
ETA_SHOWN = ETA.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


class Served:
    """Channels over HTTP on a loop of its own; `call` runs a coroutine there (the app's door lives on it)."""

    def __init__(self, app: FastAPI, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.url, self.loop = app, url, loop

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


@pytest.fixture(scope="module")
def served(migrated: Infrastructure) -> Iterator[Served]:
    group, bootstrap = f"channels-test-{uuid.uuid4().hex[:8]}", migrated.kafka_bootstrap_servers
    settings = ChannelsSettings(
        app_env="test",
        database_url=migrated.database_url,
        kafka_bootstrap_servers=bootstrap,
        channels_consumer_group=group,
    )
    app = create_app(settings)
    sock = bound_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5))
    loop = asyncio.new_event_loop()
    # Its consumers read what comes next, not the session's history.
    loop.run_until_complete(start_groups_at_end(bootstrap, consumers.SUBSCRIPTIONS, group))
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "channels did not start serving"
        time.sleep(0.05)
    try:
        yield Served(app, f"http://127.0.0.1:{port_of(sock)}", loop)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        loop.close()
        sock.close()


def _eta(order: Order, eta: datetime, at: datetime) -> ComplaintEtaChanged:
    payload = {
        "complaint_id": order.complaint_id,
        "reference_no": order.reference_no,
        "incident_id": uuid.uuid4(),
        "outage_id": None,
        "eta": eta,
        "previous_eta": None,
        "note": "换热站检修中 / Substation under repair",
        "changed_at": at,
    }
    return new_event(
        ComplaintEtaChanged, complaint_id=order.complaint_id, producer="test", correlation_id="c", payload=payload
    )


def _delivery(order: Order, template: str, channel: str, at: datetime) -> NotificationDelivery:
    payload = {
        "notification_id": uuid.uuid4(),
        "template_id": template,
        "recipient_kind": "customer",
        "channel": channel,
        "provider": "aliyun_sms" if channel == "sms" else "wechat",
        "status": "delivered",
        "attempts": 1,
        "requested_at": at,
        "status_at": at,
    }
    return new_event(
        NotificationDelivery, complaint_id=order.complaint_id, producer="test", correlation_id="c", payload=payload
    )


@pytest.fixture(scope="module")
def case(served: Served) -> Order:
    """A heating complaint filed over Open311 from the phone 139 1234 5678, routed, acknowledged by repair, two
    messages sent, an expected time set (`ETA`)."""
    form = {
        "api_key": "dev-only-open311-key",
        "service_code": "heating_temperature",
        "address_string": "幸福里3号楼2单元501",
        "description": "暖气不热，室温只有15度",
        "first_name": "明",
        "last_name": "王",
        "phone": "13912345678",
    }
    token = httpx.post(f"{served.url}/open311/v2/requests.json", data=form, timeout=30).json()[0]["token"]
    view = served.call(served.app.state.door.run(request_by_token, uuid.UUID(token)))
    order = Order(view.request.complaint_id, uuid.uuid4(), "TS-20261205-000731")
    at = datetime.now(UTC) - timedelta(hours=1)
    events = [
        received(order, channel="app", at=at),
        routed(order, at=at + timedelta(minutes=2)),
        acknowledged(order, at=at + timedelta(minutes=20), department="repair"),
        _delivery(order, "complaint_received", "sms", at + timedelta(minutes=1)),
        _delivery(order, "appointment_agreed", "sms", at + timedelta(minutes=25)),
        _eta(order, ETA, at + timedelta(minutes=30)),
    ]
    served.call(served.app.state.door.batch(keep_cases, events, consumer=f"test-{uuid.uuid4().hex[:6]}"))
    return order


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _look_up(page: Page, url: str, reference_no: str, digits: str) -> None:
    page.goto(url)
    page.get_by_label(page.locator("label[for=reference_no]").inner_text()).fill(reference_no)
    page.get_by_label(page.locator("label[for=phone_last4]").inner_text()).fill(digits)
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        ("zh", ["投诉进度查询", "处理中", "维修部", "受理通知", "上门时间确认", "短信", "已送达"]),
        ("en", ["Track your complaint", "Being handled", "Repair department", "Receipt", "Visit agreed", "SMS"]),
    ],
)
def test_a_customer_reads_their_case_on_the_status_page(
    served: Served, case: Order, browser: Browser, lang: str, shown: list[str]
) -> None:
    page = browser.new_page(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-GB")
    try:
        page.goto(f"{served.url}/status?lang={lang}")
        assert accessibility_problems(page) == []
        _shot(page, f"status-form-{lang}")

        _look_up(page, f"{served.url}/status?lang={lang}", case.reference_no, "5678")
        text = page.locator("main").inner_text()
        for expected in [case.reference_no, "换热站检修中 / Substation under repair", ETA_SHOWN, *shown]:
            assert expected in text, expected
        for personal in ("王明", "明 王", "13912345678", "幸福里", "室温只有15度"):
            assert personal not in text, personal
        assert accessibility_problems(page) == []
        _shot(page, f"status-case-{lang}")

        _look_up(page, f"{served.url}/status?lang={lang}", case.reference_no, "0000")
        alert = page.get_by_role("alert").inner_text()
        assert ("未找到" in alert) if lang == "zh" else ("No complaint matches" in alert)
        assert "处理中" not in page.content() and "Being handled" not in page.content()
        _shot(page, f"status-not-found-{lang}")
    finally:
        page.close()
