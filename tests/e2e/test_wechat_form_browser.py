"""The WeChat form page in a real browser on a phone's screen, in Chinese and in English: a WeChat user writes to
the official account (the WeChat API stand-in pushes it to channels' `/wechat/callback`), opens the link of our reply,
completes the address and files the complaint; in English, a wrong phone number is named next to its field first.
Each screen is photographed into test-artifacts/channels/wechat-form-*.png and checked by axe-core.

Channels runs under uvicorn in-process on its own port (real Postgres and Kafka of the session); the stand-in as its
own process. Sync test: Playwright's sync API cannot run inside an asyncio loop.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from embedded.standins.process import StandInProcess
from tests.support.browser import PHONE, accessibility_problems
from tests.support.channels_http import serving_channels
from tests.support.infrastructure import Infrastructure

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "channels"
UI_TIMEOUT_MS = 30_000
ADDRESS = "和平区南京北街18号3单元502"


@pytest.fixture(scope="module")
def channels(migrated: Infrastructure) -> Iterator[str]:
    with serving_channels(migrated.database_url, migrated.kafka_bootstrap_servers) as url:
        yield url


@pytest.fixture(scope="module")
def wechat(tmp_path_factory: pytest.TempPathFactory, channels: str) -> Iterator[StandInProcess]:
    env = {"WECHAT_STANDIN_SERVER_URL": f"{channels}/wechat/callback"}
    with StandInProcess("embedded.standins.wechat_api", tmp_path_factory.mktemp("wechat"), env=env) as server:
        yield server


def writes(wechat: StandInProcess, text: str) -> tuple[str, str]:
    """A new user writes `text`; the form link of our reply and the message's MsgId."""
    openid = "o" + uuid.uuid4().hex[:27]
    pushed = httpx.post(f"{wechat.url}/_standin/user_messages", json={"openid": openid, "content": text}, timeout=30)
    assert pushed.status_code == 200 and pushed.json()["status"] == 200, pushed.text
    link = re.search(r"(http://\S+/wechat/form/[A-Za-z0-9_-]+)", pushed.json()["reply"])
    assert link, pushed.json()["reply"]
    return link.group(1), str(pushed.json()["msg_id"])


def photographed(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert accessibility_problems(page) == [], name


def complaints(database_url: str, msg_ids: list[str]) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM channels.inbound_messages WHERE provider = 'wechat' "
                    "AND provider_message_id = ANY($1) AND status = 'complaint'",
                    msg_ids,
                )
            )
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as loop_thread:  # Playwright's sync API holds this thread's event loop
        return loop_thread.submit(asyncio.run, count()).result()


def test_a_customer_completes_the_form_in_chinese_and_in_english(
    migrated: Infrastructure, wechat: StandInProcess, browser: Browser
) -> None:
    zh_link, zh_msg = writes(wechat, "家里暖气不热，室温只有15度，请派人来看看。")
    page = browser.new_page(viewport=PHONE, locale="zh-CN")
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(zh_link)
    expect(page.get_by_role("heading", name="补充投诉信息")).to_be_visible()
    expect(page.locator("blockquote")).to_have_text("家里暖气不热，室温只有15度，请派人来看看。")
    page.get_by_label("详细地址（小区、楼号、单元、门牌）").fill(ADDRESS)
    page.get_by_label("所在区").fill("和平区")
    page.get_by_label("户号（选填）").fill("HT-0042")
    photographed(page, "wechat-form-zh")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_contain_text("已提交，正在受理")
    photographed(page, "wechat-form-zh-done")

    en_link, en_msg = writes(wechat, "The radiators are cold again, 14 degrees inside.")
    page.goto(en_link)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Complete your complaint")).to_be_visible()
    page.get_by_label("Address (compound, building, unit, flat)").fill("Bldg 3, Unit 2, Room 301, 18 Nanjing N St")
    page.get_by_label("District").fill("Heping")
    page.get_by_label("Phone (optional)").fill("call me")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
    expect(page.get_by_text("Please give a valid phone number.")).to_be_visible()
    photographed(page, "wechat-form-en-error")
    page.get_by_label("Phone (optional)").fill("139 1234 5678")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text("Submitted: we are taking your complaint.")
    photographed(page, "wechat-form-en-done")
    page.close()

    assert complaints(migrated.database_url, [zh_msg, en_msg]) == 2
