"""One case through the console in a real browser, on the real processes (`python -m embedded`) and the real
identity provider: every step is taken by a person who signed in at Keycloak's own page.

李娜 (agent.li) looks the caller up by phone and enters the phone complaint, and is told its reference number, its
category and that it went to repair; 赵磊 (repair.zhao) finds it in repair's queue with its text, address and phone,
acknowledges it, sends crew 1 and agrees a visit window; 陈刚 (crew1.chen), on a 390-px phone, arrives, records 17 °C
and a photo and resolves it with the customer's acceptance; 李娜 makes the callback; the case page names each of
them at their step. 吴静 (supervisor.wu) then finds 赵磊's read of the customer's contact in the access log and
the per-staff report keys each person's figures on one row.

Every screen is photographed in Chinese and in English (switched with the console's own language switch) into
test-artifacts/console/, and axe-core looks at each: the module fails on any serious or critical violation,
listing them all at once.

Then from the keyboard alone (Tab, typing, arrow keys, Space, Enter; never a click): 李娜 goes from the skip link
through the lookup and the complaint form and is told the reference, 陈刚 on the phone reaches "arrived" on a job and
opens a closed section; every stop must show a focus ring of at least 3:1 against what is behind it, and the stops
must follow the page's reading order. The flow's signed-in pages are reused.

Sync tests: Playwright's sync API cannot run inside an asyncio loop. Waits are Playwright's auto-waiting and
polls with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import itertools
import re
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.complaints import complaint, headers
from tests.support.console_browser import (
    NAMES,
    UI_TIMEOUT_MS,
    Console,
    Screens,
    assert_fits_phone,
    poll,
)
from tests.support.identity import IdentityProvider
from tests.support.platform import Platform

pytestmark = pytest.mark.e2e

#: Real time (the drill's 60-ms minutes would mark everything overdue and escalate it before a person could act);
#: the session's Keycloak serves the demo realm, so the runner lists its sign-ins as `make run` does.
PLATFORM_ENV = {"SLA_TIME_SCALE": "1", "PLATFORM_DEMO_SIGN_INS": "1"}

UTILITY_TZ = ZoneInfo("Asia/Shanghai")
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"

expect.set_options(timeout=UI_TIMEOUT_MS)


def _png(width: int = 96, height: int = 64) -> bytes:
    """A small real PNG (a warm gradient, like a thermometer photo would not be): dispatch judges images by bytes."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in (200, 60 + x, 40 + y)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_the_runner_prints_the_console_and_the_demo_sign_ins(
    platform: Platform, identity_provider: IdentityProvider
) -> None:
    """`make run` tells a person where the console is, whom to sign in as and with which password."""
    printed = platform.runner_path.read_text(encoding="utf-8", errors="replace")
    console = platform.url("console")
    assert re.search(rf"^\s*console\s+{re.escape(console)}\s", printed, re.M), f"the console's URL:\n{printed}"
    heading = f"Demo staff sign-ins at {console} (password for all: {identity_provider.password})"
    assert heading in printed, f"the sign-ins' heading:\n{printed}"
    for staff_id, name in NAMES.items():
        assert re.search(rf"^\s+{re.escape(staff_id)}\s.*{name}", printed, re.M), f"{staff_id} ({name}):\n{printed}"


def test_one_case_through_the_console_every_step_by_a_signed_in_person(console: Console, screens: Screens) -> None:
    began = time.monotonic()
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    account = f"HT-{uuid.uuid4().hex[:6].upper()}"
    street = f"和平区测温路{uuid.uuid4().int % 10**4}号3单元502室"
    # The household called before, on the web: the lookup shows that case in its history.
    earlier = complaint(
        "web",
        customer={"account_no": account, "name": "王小明", "phone": phone, "preferred_contact": "phone"},
        location={"address": street, "district": "heping"},
        text="上个月的供暖费账单比往年高出很多，请核实计费面积。",
        category_hint="billing",
    )
    answer = httpx.post(f"{console.services['intake']}/v1/complaints", json=earlier, headers=headers("web"), timeout=30)
    assert answer.status_code in (200, 201, 202), answer.text
    earlier_reference = answer.json()["reference_no"]

    # 1. 李娜 looks the caller up by phone, enters the complaint, and reads out where it went.
    agent = console.sign_in("agent.li", "/agent/complaints/new", screens=screens)

    def look_up() -> None:
        def shows_history() -> bool:
            agent.fill("#lookup-phone", phone)
            agent.get_by_test_id("lookup-submit").click()
            results = agent.get_by_test_id("lookup-results")
            expect(results.locator("[data-testid=lookup-empty], [data-testid=lookup-history]")).to_be_visible()
            return results.get_by_text(earlier_reference).count() > 0

        poll(agent, "the household's earlier case in the lookup", shows_history)

    look_up()
    screens.both(agent, "agent-new", look_up)

    agent.get_by_test_id("channel-phone").check()
    agent.fill("#customer_name", "王小明")
    agent.fill("#customer_phone", phone)
    agent.fill("#account_no", account)
    agent.fill("#district", "heping")
    agent.fill("#address", street)
    agent.fill("#text", HEATING)
    agent.get_by_test_id("complaint-submit").click()
    reference = agent.get_by_test_id("reference-number").inner_text().strip()
    assert re.fullmatch(r"TS-\d{8}-\d{6}", reference), reference

    def routed() -> bool:
        routing = agent.locator("[data-testid=routing]")
        expect(routing).to_have_attribute("data-routed", re.compile("true|false"))
        try:
            expect(agent.locator("[data-testid=routing][data-routed=true]")).to_be_visible(timeout=25_000)
            return True
        except AssertionError:
            agent.reload()  # the page gave up polling (20 tries): a person would look again
            return False

    poll(agent, "the complaint routed", routed)
    expect(agent.get_by_test_id("routing-category")).to_have_text("供暖温度")
    expect(agent.get_by_test_id("routing-department")).to_have_text("维修部")
    screens.both(agent, "agent-saved", lambda: expect(agent.get_by_test_id("routing-department")).to_be_visible())

    # 2. 赵磊 finds it in repair's queue with its text, address and phone; acknowledges, sends crew 1, agrees a visit.
    dispatcher = console.sign_in("repair.zhao", "/departments/repair/queue")
    card = dispatcher.locator("[data-testid=queue-item]", has_text=reference)

    def in_queue() -> bool:
        if card.count():
            return True
        dispatcher.reload()
        return False

    poll(dispatcher, "the work order in repair's queue", in_queue)
    expect(card.get_by_test_id("wo-text")).to_have_text(HEATING)
    expect(card.get_by_test_id("wo-address")).to_contain_text(street)
    expect(card.get_by_test_id("wo-phone")).to_have_text(phone)
    expect(card.get_by_test_id("wo-phone")).to_have_attribute("href", f"tel:{phone}")
    screens.both(dispatcher, "queue")

    card.get_by_role("link", name=reference).click()
    expect(dispatcher.get_by_test_id("wo-title")).to_be_visible()
    dispatcher.get_by_test_id("acknowledge").click()
    expect(dispatcher.get_by_test_id("done")).to_have_text("已签收工单。")
    dispatcher.get_by_test_id("assign-crew-section").locator("summary").click()
    dispatcher.select_option("#crew", "repair-crew-1")
    dispatcher.fill("#crew-note", "请今天下午上门测温")
    dispatcher.get_by_test_id("assign-crew").click()
    expect(dispatcher.get_by_test_id("done")).to_have_text("已派给班组。")
    expect(dispatcher.get_by_test_id("wo-crew")).to_have_text("维修一班")
    tomorrow = (datetime.now(UTILITY_TZ) + timedelta(days=1)).date().isoformat()
    dispatcher.get_by_test_id("appointment-section").locator("summary").click()
    dispatcher.fill("#window_start", f"{tomorrow}T14:00")
    dispatcher.fill("#window_end", f"{tomorrow}T16:00")
    dispatcher.fill("#appointment-note", "已与客户电话约定")
    dispatcher.get_by_test_id("agree-appointment").click()
    expect(dispatcher.get_by_test_id("done")).to_have_text("已约定上门时间。")
    expect(dispatcher.get_by_test_id("wo-appointment")).to_contain_text(f"{tomorrow} 14:00")
    expect(dispatcher.get_by_test_id("wo-phone")).to_have_text(phone)
    screens.both(dispatcher, "work-order")

    # 3. 陈刚 on a 390-px phone: the job, arrival, 17 °C, a photo, resolved with the customer's acceptance.
    crew = console.sign_in("crew1.chen", "/crew/jobs", phone=True)
    job = crew.locator("[data-testid=job]", has_text=street)
    expect(job).to_be_visible()
    expect(job.get_by_test_id("call-customer")).to_have_attribute("href", f"tel:{phone}")
    expect(job.get_by_test_id("wo-appointment")).to_contain_text(f"{tomorrow} 14:00")
    screens.both(crew, "crew-jobs.phone", narrow=True)
    job.get_by_test_id("arrive").click()  # on site: the job's own page is next
    expect(crew.get_by_test_id("done")).to_have_text("已记录到达现场。")
    expect(crew.get_by_test_id("wo-status")).to_have_text("处理中")
    crew.fill("#indoor_temperature_c", "17")
    crew.fill("#findings-note", "暖气片上热下凉，排气后复测")
    crew.get_by_test_id("record-findings").click()
    expect(crew.get_by_test_id("done")).to_have_text("已记录现场情况。")
    expect(crew.get_by_test_id("wo-findings")).to_contain_text("17")
    crew.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "radiator.png", "mimeType": "image/png", "buffer": _png()}]
    )
    crew.get_by_test_id("upload-photo").click()
    expect(crew.get_by_test_id("done")).to_have_text("已上传照片。")
    photo = crew.get_by_test_id("wo-photos").locator("img")
    expect(photo).to_have_count(1)
    # decode() waits for the image to load (and rejects if it cannot): reading `complete` at once raced the load.
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 96, "the photo is shown from dispatch"
    screens.both(crew, "job.phone", narrow=True)
    crew.get_by_test_id("resolve-section").locator("summary").click()
    crew.fill("#resolution", "排气并调节阀门，室温恢复到20度")
    crew.fill("#acceptance_name", "王小明")
    crew.get_by_test_id("acceptance-confirmed").check()
    assert_fits_phone(crew, "job.phone with the resolve form open")
    crew.get_by_test_id("resolve").click()
    expect(crew.get_by_test_id("done")).to_have_text("已办结工单。")
    expect(crew.locator("[data-testid=job]", has_text=street)).to_have_count(0)
    assert_fits_phone(crew, "crew-jobs.phone after resolving")

    # 4. 李娜's callback, once followup has scheduled it.
    agent.goto(console.url + "/agent/callbacks")
    mine = agent.get_by_test_id("my-callbacks").locator(f'[data-reference="{reference}"]')

    def scheduled() -> bool:
        if mine.count():
            return True
        agent.reload()
        return False

    poll(agent, "the callback in 李娜's own list", scheduled)
    expect(mine).to_contain_text("李娜")  # the owner by name

    def open_outcome() -> None:
        mine.get_by_test_id("record-outcome").click()
        expect(mine.get_by_test_id("outcome-form")).to_be_visible()

    open_outcome()
    screens.both(agent, "callbacks", open_outcome)
    open_outcome()
    form = mine.get_by_test_id("outcome-form")
    form.get_by_role("radio", name="电话").check()
    form.locator("fieldset", has_text="是否联系到客户").get_by_role("radio", name="是").check()
    form.locator("fieldset", has_text="客户是否满意").get_by_role("radio", name="是").check()
    form.locator("select[name=score_supply]").select_option("5")
    form.locator("select[name=score_attitude]").select_option("5")
    form.locator("select[name=score_speed]").select_option("4")
    form.get_by_test_id("outcome-submit").click()
    expect(agent.get_by_test_id("done")).to_have_text("已记录回访结果。")

    # 5. The case page names each person at their step.
    agent.goto(f"{console.url}/cases/{reference}")
    entries = agent.get_by_test_id("timeline-entry")

    def timeline() -> dict[str, str | None] | None:
        found = entries.evaluate_all(
            "els => els.map(e => [e.dataset.event,"
            " (e.querySelector('[data-testid=timeline-actor]') || {}).textContent || null])"
        )
        by_event = {event: actor for event, actor in found}
        if "callback.attempted" in by_event and {"李娜", "赵磊", "陈刚"} <= set(by_event.values()):
            return by_event
        agent.reload()
        return None

    by_event = poll(agent, "the timeline naming 李娜, 赵磊 and 陈刚", timeline)
    expected = {
        "complaint.received": "李娜",
        "workorder.acknowledged": "赵磊",
        "workorder.crew_assigned": "赵磊",
        "workorder.appointment_agreed": "赵磊",
        "workorder.started": "陈刚",
        "workorder.findings_recorded": "陈刚",
        "workorder.resolved": "陈刚",
        "callback.attempted": "李娜",
    }
    assert {event: by_event.get(event) for event in expected} == expected
    expect(agent.get_by_test_id("sla-clocks")).to_be_visible()
    screens.both(agent, "case")

    # 吴静 (supervisor): her desk, 赵磊's read of the customer's contact, one row per person in the report.
    supervisor = console.sign_in("supervisor.wu", "/")
    expect(supervisor).to_have_url(re.compile(re.escape(console.url) + "/supervisor$"))
    expect(supervisor.get_by_test_id("desk")).to_be_visible()
    wu = console.person("supervisor.wu")
    log = wu.contact_access(reference, "repair.zhao")
    reads = [entry for entry in log if entry["reference_no"] == reference]
    assert reads and all(entry["staff_name"] == "赵磊" for entry in reads), log
    assert any("phone" in entry["what"] for entry in reads), reads

    def report() -> dict[str, list[dict[str, Any]]] | None:
        rows: dict[str, list[dict[str, Any]]] = {}
        for row in wu.report("reports/staff")["rows"]:
            rows.setdefault(row["staff_id"], []).append(row)
        agent_rows, crew_rows = rows.get("agent.li", []), rows.get("crew1.chen", [])
        if (
            agent_rows
            and agent_rows[0]["cases_owned"] >= 1
            and agent_rows[0]["callbacks_done"] >= 1
            and crew_rows
            and crew_rows[0]["work_orders_resolved"] >= 1
        ):
            return rows
        return None

    rows = poll(supervisor, "the per-staff report's rows for 李娜 and 陈刚", report)
    assert len(rows["agent.li"]) == 1 and len(rows["crew1.chen"]) == 1, rows
    assert rows["agent.li"][0]["staff_name"] == "李娜" and rows["crew1.chen"][0]["staff_name"] == "陈刚"

    # Signing out ends the provider's session too and says so.
    supervisor.get_by_test_id("sign-out").click()
    supervisor.wait_for_url(re.compile(re.escape(console.url + "/signed-out")))
    screens.both(supervisor, "signed-out")
    print(f"\nconsole flow in the browser: {time.monotonic() - began:.1f} s; screens: {len(screens.taken)}")


#: The focused element as a keyboard user meets it: a key naming it (id, name — a radio's with its value — test id,
#: hreflang, class or tag), whether a focus ring shows (a non-none outline or box-shadow), the outline's contrast
#: against what is painted behind it (WCAG 1.4.11: 3:1; the best of its four sides, as the element may sit on two
#: backgrounds), whether it is in view, where it sits on the page, and the job card and <details> it is in.
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  const rgba = (c) => {
    const n = (c.match(/[\\d.]+/g) || []).map(Number);
    return n.length < 3 ? null : [n[0], n[1], n[2], n.length > 3 ? n[3] : 1];
  };
  const opaque = (el) => (rgba(getComputedStyle(el).backgroundColor) || [0, 0, 0, 0])[3] > 0;
  const lum = ([R, G, B]) => [R, G, B]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  let contrast = null, behind = null;
  if (outline && rgba(s.outlineColor)) {
    const out = (parseFloat(s.outlineOffset) || 0) + parseFloat(s.outlineWidth) / 2;
    const points = [[r.left + r.width / 2, r.top - out], [r.left + r.width / 2, r.bottom + out],
                    [r.left - out, r.top + r.height / 2], [r.right + out, r.top + r.height / 2]];
    for (const [x, y] of points) {
      if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
      const under = document.elementsFromPoint(x, y).find((el) => el !== e && !e.contains(el) && opaque(el));
      const bg = under ? rgba(getComputedStyle(under).backgroundColor) : [255, 255, 255, 1];
      const c = ratio(rgba(s.outlineColor), bg);
      if (contrast === null || c > contrast) { contrast = c; behind = bg; }
    }
  }
  const name = e.name && e.type === 'radio' ? `${e.name}=${e.value}` : e.name;
  const hreflang = e.getAttribute('hreflang');
  const job = e.closest('[data-testid=job]'), details = e.closest('details');
  return {
    key: e.id || name || e.dataset.testid || (hreflang && `lang-${hreflang}`) || e.className || e.tagName.toLowerCase(),
    testid: e.dataset.testid || null,
    ring: outline || s.boxShadow !== 'none',
    contrast: contrast === null ? null : Math.round(contrast * 100) / 100,
    colours: [s.outlineColor, behind],
    in_view: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.left < innerWidth,
    top: Math.round(r.top + scrollY), bottom: Math.round(r.bottom + scrollY), left: Math.round(r.left + scrollX),
    job: job ? job.dataset.workOrder : null,
    details: details ? details.dataset.testid : null,
  };
}"""
#: WCAG 1.4.11 (non-text contrast): a focus ring against what it is drawn on.
RING_CONTRAST = 3.0
#: The agent's form from the skip link to "save", in the order it is laid out (lookup first, then the complaint).
FORM_TAB_ORDER = [
    "skip-link",
    "lookup-phone",
    "lookup-account",
    "lookup-address",
    "lookup-district",
    "lookup-submit",
    "channel=phone",  # the group's checked radio is its one stop; the arrow keys move within it
    "customer_name",
    "customer_phone",
    "account_no",
    "district",
    "address",
    "text",
    "category_hint",
    "handled_on_contact",
    "customer_agitated",
    "complaint-submit",
]


class Keyboard:
    """A person with only a keyboard: every Tab stop recorded, and each must show its focus ring and be in view."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.stops: list[dict[str, Any]] = []

    def here(self) -> dict[str, Any]:
        found = self.page.evaluate(_FOCUSED)
        assert found, f"no element has the focus after {[s['key'] for s in self.stops]}"
        assert found["ring"], f"{found['key']} has the focus but no visible focus ring (outline or box-shadow)"
        assert found["contrast"] is None or found["contrast"] >= RING_CONTRAST, (
            f"{found['key']}'s focus ring is {found['contrast']}:1 against what is behind it "
            f"(ring, background: {found['colours']}); at least {RING_CONTRAST}:1 is needed to see it"
        )
        assert found["in_view"], f"{found['key']} has the focus but is out of view: {found}"
        return found

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def tab(self) -> dict[str, Any]:
        self.press("Tab")
        stop = self.here()
        self.stops.append(stop)
        return stop

    def tab_to(self, what: str, reached: Callable[[dict[str, Any]], bool], limit: int = 80) -> dict[str, Any]:
        for _ in range(limit):
            stop = self.tab()
            if reached(stop):
                return stop
        raise AssertionError(f"{limit} Tabs did not reach {what}: {[s['key'] for s in self.stops]}")

    def skip_to_main(self) -> None:
        """The page's first stop is the skip link; Enter on it puts the focus on <main>, past the header."""
        assert self.tab()["key"] == "skip-link", self.stops
        self.press("Enter")
        assert self.here()["key"] == "main", "the skip link did not move the focus to the main content"

    def assert_reading_order(self) -> None:
        """Each stop after the one before it as the page reads: on the same row (their heights overlap: a button
        and a link side by side) further right, or else lower down."""
        for before, after in itertools.pairwise(self.stops):
            same_row = after["top"] < before["bottom"] and before["top"] < after["bottom"]
            assert (after["left"] > before["left"]) if same_row else (after["top"] > before["top"]), (
                f"Tab goes from {before['key']} ({before['left']}, {before['top']}) back to {after['key']} "
                f"({after['left']}, {after['top']})"
            )


def test_an_agent_and_a_crew_member_work_from_the_keyboard_alone(console: Console) -> None:
    """Issue 20's "usable from the keyboard": 李娜 enters a counter complaint and 陈刚 (390-px phone) arrives on the
    job with Tab, typing, arrow keys, Space and Enter only — never a click — and every stop shows its focus ring
    in the order the form is laid out. The signed-in pages of the flow above are reused."""
    began = time.monotonic()
    phone = f"138{uuid.uuid4().int % 10**8:08d}"
    street = f"南开区键盘路{uuid.uuid4().int % 10**4}号1单元101室"
    typed = {
        "customer_name": "张小红",
        "customer_phone": phone,
        "district": "nankai",
        "address": street,
        "text": HEATING,
    }

    # 李娜: skip link, a lookup by phone (Enter in the field), then the complaint form top to bottom.
    agent = console.page_of("agent.li", "/agent/complaints/new")
    keys = Keyboard(agent)
    keys.skip_to_main()
    assert keys.tab()["key"] == "lookup-phone"
    agent.keyboard.type(phone)
    keys.press("Enter")
    expect(agent.get_by_test_id("lookup-results").get_by_test_id("lookup-empty")).to_be_visible()
    assert keys.here()["key"] == "lookup-phone", "the lookup's answer took the focus away from where the agent was"
    while (stop := keys.tab())["key"] != "complaint-submit":
        if stop["key"] in typed:
            agent.keyboard.type(typed[stop["key"]])
        elif stop["key"] == "channel=phone":
            keys.press("ArrowRight")  # a walk-in: the next radio in the group, checked as it is reached
        elif stop["key"] == "customer_agitated":
            keys.press("Space")
        assert len(keys.stops) <= len(FORM_TAB_ORDER), [s["key"] for s in keys.stops]
    assert [s["key"] for s in keys.stops] == FORM_TAB_ORDER
    keys.assert_reading_order()
    expect(agent.get_by_test_id("channel-counter")).to_be_checked()
    expect(agent.get_by_test_id("customer-agitated")).to_be_checked()
    keys.press("Enter")
    reference = agent.get_by_test_id("reference-number").inner_text().strip()
    assert re.fullmatch(r"TS-\d{8}-\d{6}", reference), reference
    # Without the skip link the header comes first: the menu, signing out and the language switch, each with a
    # ring that shows on the header's blue, then the page's own "next complaint".
    saved = Keyboard(agent)
    saved.tab_to("the saved page's next complaint", lambda s: s["testid"] == "next-complaint", limit=20)
    header = [s["key"] for s in saved.stops]
    assert {"skip-link", "brand", "sign-out", "lang-zh-CN", "lang-en"} <= set(header), header
    saved.assert_reading_order()

    # Repair signs for it and sends crew 1 over the API (their screens are the flow's); 陈刚 takes it from there.
    zhao = console.person("repair.zhao")

    def work_order() -> str | None:
        case = zhao.known_case(reference)
        orders = case.get("work_orders", []) if case is not None else []
        return next((str(o["work_order_id"]) for o in orders if o["department"] == "repair"), None)

    work_order_id = poll(agent, "the counter complaint's repair work order", work_order)
    zhao.work_order_step(work_order_id, "acknowledge")
    zhao.work_order_step(work_order_id, "crew", {"crew": "repair-crew-1"})

    crew = console.page_of("crew1.chen", "/crew/jobs", phone=True)
    expect(crew.locator(f'[data-testid=job][data-work-order="{work_order_id}"]')).to_be_visible()
    keys = Keyboard(crew)
    keys.skip_to_main()
    keys.tab_to("the job's arrive button", lambda s: s["job"] == work_order_id and s["testid"] == "arrive")
    in_card = [s["testid"] for s in keys.stops if s["job"] == work_order_id]
    assert in_card == ["wo-phone", "call-customer", "arrive"], in_card  # the card's phone, then its buttons
    keys.assert_reading_order()
    keys.press("Enter")
    expect(crew.get_by_test_id("done")).to_have_text("已记录到达现场。")
    expect(crew.get_by_test_id("wo-status")).to_have_text("处理中")
    assert_fits_phone(crew, "the job after arriving by keyboard")

    # On the job's page a closed <details> (resolve) opens from the keyboard and its first field is the next stop.
    keys = Keyboard(crew)
    keys.skip_to_main()
    keys.tab_to("the resolve section's summary", lambda s: s["key"] == "summary" and s["details"] == "resolve-section")
    expect(crew.get_by_test_id("resolve-section")).not_to_have_attribute("open", "")
    keys.press("Enter")
    expect(crew.get_by_test_id("resolve-section")).to_have_attribute("open", "")
    assert keys.tab()["key"] == "resolution"
    keys.assert_reading_order()
    print(f"\nkeyboard-only agent and crew: {time.monotonic() - began:.1f} s")


def test_no_serious_or_critical_accessibility_problem_on_any_screen(screens: Screens) -> None:
    """axe-core on every console screen in both languages (collected by the flow above, all listed at once)."""
    assert screens.taken, "the flow photographed no screen"
    if screens.provider_problems:  # the provider's own page: its theme is not ours to fix, but say so
        print("\naxe-core on the identity provider's sign-in page:\n" + "\n".join(screens.provider_problems))
    assert not screens.problems, "axe-core:\n" + "\n".join(screens.problems)
