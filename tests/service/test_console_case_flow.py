"""One case through the console on the real services (in-process, on the session's Postgres and Kafka): every step
by a signed-in person, each page calling intake, dispatch, followup and reporting with that person's token.

An agent enters a phone complaint and sees it routed to repair; the repair dispatcher finds it in the queue with its
text, address and phone, acknowledges it, sends crew 1 and agrees an appointment; a crew-1 member arrives, records
17 °C and a photo, and resolves with the customer's acceptance (a crew-2 member cannot open the job); the agent
records the callback; the case page names each person at their step.

Sessions are written as a sign-in writes them, with tokens of a local issuer that every service trusts here
(the sign-in itself: tests/service/test_console_signin.py, against the real provider).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.console import SignedIn, session_for
from tests.support.console_platform import running_console_platform
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import wait_until
from tests.support.tokens import LocalIssuer

#: The smallest valid PNG: a 1×1 transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
#: A case page's timeline entry: its event type and the name of who took the step.
TIMELINE_ENTRY = re.compile(
    r'data-event="([a-z_.]+)">\s*<time[^>]*>[^<]*</time>\s*<strong>[^<]*</strong>\s*·?\s*'
    r'(?:<span data-testid="timeline-actor">([^<]*)</span>)?'
)
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"


@dataclass
class Platform:
    console: httpx.AsyncClient
    app: FastAPI
    issuer: LocalIssuer

    async def as_(self, staff_id: str) -> SignedIn:
        return await session_for(self.app, self.issuer, staff_id)

    async def get(self, who: SignedIn, path: str) -> httpx.Response:
        self.console.cookies.clear()
        self.console.cookies.set("console_session", who.session_id)
        return await self.console.get(path)

    async def post(self, who: SignedIn, path: str, form: dict[str, str], files: dict[str, Any] | None = None):
        self.console.cookies.clear()
        self.console.cookies.set("console_session", who.session_id)
        fields: list[tuple[str, Any]] = [(k, (None, v)) for k, v in {**form, "csrf_token": who.csrf_token}.items()]
        fields += list((files or {}).items())
        answer = await self.console.post(path, files=fields)
        assert answer.status_code == 303, f"{path}: {answer.status_code} {_message(answer.text)}"
        return answer


def _message(html: str) -> str:
    found = re.search(r'data-testid="(?:refused|error|invalid)".*?</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(0)) if found else html[:300]


@pytest.fixture(scope="module")
async def platform(migrated: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    issuer = LocalIssuer()
    async with running_console_platform(
        migrated,
        str(tmp_path_factory.mktemp("photos")),
        persons=issuer.verifier,
        console={"oidc_issuer": issuer.issuer, "console_public_url": "http://console"},
    ) as running:
        yield Platform(running.console, running.console_app, issuer)


async def _until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60) -> Any:
    try:
        return await wait_until(check, timeout=timeout, interval=0.3)
    except Exception as exc:
        raise AssertionError(f"waited {timeout:.0f} s for {what}") from exc


async def test_one_case_through_the_console_every_step_by_a_signed_in_person(platform: Platform) -> None:
    agent = await platform.as_("agent.li")
    dispatcher = await platform.as_("repair.zhao")
    crew = await platform.as_("crew1.chen")
    other_crew = await platform.as_("crew2.yang")
    street = f"和平区测温路{uuid.uuid4().int % 10**6}号3单元502室"

    # The agent: a phone complaint, then where it went.
    saved = await platform.post(
        agent,
        "/agent/complaints",
        {
            "channel": "phone",
            "customer_name": "王小明",
            "customer_phone": "13912345678",
            "account_no": f"HT-{uuid.uuid4().hex[:6].upper()}",
            "address": street,
            "district": "heping",
            "text": HEATING,
            "idempotency_key": uuid.uuid4().hex,
        },
    )
    reference = saved.headers["location"].split("/")[3]
    assert re.fullmatch(r"TS-\d{8}-\d{6}", reference)

    async def routed() -> str | None:
        answer = await platform.get(agent, f"/agent/complaints/{reference}/routing?n=1")
        return answer.text if 'data-routed="true"' in answer.text else None

    shown = await _until(routed, "the complaint routed")
    assert 'data-testid="routing-department">维修部<' in shown

    # The repair dispatcher: the queue with text, address and phone; acknowledge, crew 1, an appointment.
    async def in_queue() -> str | None:
        page = await platform.get(dispatcher, "/departments/repair/queue")
        cards = page.text.split('data-testid="queue-item"')
        card = next((c for c in cards if reference in c), None)
        return card if card is not None and "13912345678" in card else None

    card = await _until(in_queue, "the work order in repair's queue with the customer's phone")
    assert street in card and "室内温度一直只有16度左右" in card and 'href="tel:13912345678"' in card
    work_order = re.search(r'data-work-order="([0-9a-f-]{36})"', card).group(1)  # type: ignore[union-attr]
    page = f"/work-orders/{work_order}"
    await platform.post(dispatcher, f"{page}/acknowledge", {})
    await platform.post(dispatcher, f"{page}/crew", {"crew": "repair-crew-1", "note": "请今天下午上门"})
    await platform.post(
        dispatcher,
        f"{page}/appointment",
        {"window_start": "2030-01-15T14:00", "window_end": "2030-01-15T16:00", "note": "已与客户电话约定"},
    )

    # Crew 1 on a phone: the job, arrival, 17 °C, a photo, resolved with the customer's acceptance.
    jobs = await platform.get(crew, "/crew/jobs")
    assert work_order in jobs.text and 'href="tel:13912345678"' in jobs.text and "2030-01-15 14:00" in jobs.text
    assert work_order not in (await platform.get(other_crew, "/crew/jobs")).text
    assert (await platform.get(other_crew, page)).status_code == 403
    await platform.post(crew, f"{page}/arrive", {"back": "/crew/jobs"})
    await platform.post(
        crew, f"{page}/findings", {"indoor_temperature_c": "17", "note": "暖气片上热下凉", "back": "/crew/jobs"}
    )
    await platform.post(
        crew, f"{page}/photos", {"back": "/crew/jobs"}, files={"file": ("radiator.png", PNG, "image/png")}
    )
    job = await platform.get(crew, f"{page}?back=/crew/jobs")
    causes = re.findall(r'<option value="(repair\.[a-z_]+)"', job.text)
    assert causes, "the repair department's root causes"
    photo = re.search(r'<img src="(/work-orders/[^"]+/photos/[^"]+)"', job.text)
    assert photo is not None and (await platform.get(crew, photo.group(1))).headers["content-type"] == "image/png"
    await platform.post(
        crew,
        f"{page}/resolve",
        {
            "resolution": "排气并调节阀门，室温恢复",
            "root_cause": causes[0],
            "acceptance_name": "王小明",
            "acceptance_confirmed": "on",
            "back": "/crew/jobs",
        },
    )

    # The agent's callback.
    async def my_callback() -> str | None:
        answer = await platform.get(agent, "/agent/callbacks")
        mine = answer.text.split('data-testid="team-callbacks"')[0]
        found = re.search(rf'data-reference="{reference}".*?action="(/agent/callbacks/[0-9a-f-]+/outcome)"', mine, re.S)
        return found.group(1) if found else None

    outcome = await _until(my_callback, "the callback in the agent's own list")
    await platform.post(
        agent,
        outcome,
        {"method": "phone", "reached": "yes", "satisfied": "yes", "score_supply": "5", "score_speed": "4"},
    )

    # The case page names each person at their step.
    async def named() -> str | None:
        case = await platform.get(agent, f"/cases/{reference}")
        if case.status_code != 200:
            return None
        actors = set(re.findall(r'data-testid="timeline-actor">([^<]+)<', case.text))
        return case.text if {"李娜", "赵磊", "陈刚"} <= actors and "callback.attempted" in case.text else None

    case = await _until(named, "the case's timeline naming the agent, the dispatcher and the crew member")
    entries = TIMELINE_ENTRY.findall(case)
    by_event = {event: actor for event, actor in entries}
    assert by_event.get("complaint.received") == "李娜"
    assert by_event.get("workorder.acknowledged") == "赵磊"
    assert by_event.get("workorder.crew_assigned") == "赵磊"
    assert by_event.get("workorder.appointment_agreed") == "赵磊"
    assert by_event.get("workorder.started") == "陈刚"
    assert by_event.get("workorder.findings_recorded") == "陈刚"
    assert by_event.get("workorder.resolved") == "陈刚"
    assert by_event.get("callback.attempted") == "李娜"
    assert 'data-testid="sla-clocks"' in case
