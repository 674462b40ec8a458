"""The console's `/dashboard` and its surge banner on real Postgres, reporting stood in by a recording transport: the
figures are read as the signed-in person (their token, no API key anywhere on the page), first-contact rate, survey
scores, the serious-case report, per-staff figures and root causes are shown, a rate reporting answers null is "—"
(never a red "0.0%"), both languages; the banner names the surges and open incidents; the screen is the managers'.

The same screens in a real browser on the real platform: tests/e2e/supervision/test_surge_browser.py."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.console_standins import ConsoleOnStandIns, console_on_standins
from tests.support.infrastructure import Infrastructure

RATES = (
    "first_contact_rate",
    "timeliness_rate",
    "on_site_rate",
    "ack_in_time_rate",
    "callback_coverage",
    "satisfaction_rate",
)


def _kpis(group_by: str, **totals: Any) -> dict[str, Any]:
    base = {
        "key": "all",
        "received": 1244,
        "first_contact_rate": 0.312,
        "timeliness_rate": 0.9,
        "on_site_rate": 0.75,  # below its 90 % target
        "ack_in_time_rate": 0.8,  # below its 95 % target: drawn as a breach
        "callback_coverage": 0.95,
        "satisfaction_rate": 0.88,
        "reopen_rate": 0.02,
        "message_reach_rate": 0.95,
        "handling_median_hours": 6.4,
        "score_supply": 4.25,
        "score_supply_n": 80,
        "score_attitude": 4.6,
        "score_attitude_n": 81,
        "score_speed": None,
        "score_speed_n": 0,
        "score_billing": 3.9,
        "score_billing_n": 12,
    } | totals
    rows = [base | {"key": "repair"}, base | {"key": "unrouted", "received": 8, **dict.fromkeys(RATES)}]
    if group_by == "category":
        rows = [base | {"key": "heating_temperature"}, base | {"key": "unclassified", **dict.fromkeys(RATES)}]
    return {"from": "2026-11-01", "to": "2026-11-30", "group_by": group_by, "rows": rows, "totals": base}


SERIOUS = {
    "from": "2026-11-01",
    "to": "2026-11-30",
    "cases": [
        {
            "complaint_id": "5d1c1a52-0000-4000-8000-000000000042",
            "reference_no": "TS-20261123-000042",
            "category": "safety_hazard",
            "department": "repair",
            "severity": "emergency",
            "status": "resolved",
            "root_cause": "pipe_corrosion",
            "root_cause_zh": "管道腐蚀",
            "root_cause_en": "Pipe corrosion",
            "corrective_actions": [{"overdue": True}, {"overdue": False}],
            "escalations": [{}],
            "kind": "case",
        }
    ],
}
STAFF = {"rows": [{"staff_id": "agent.li", "staff_name": "李娜", "cases_owned": 14, "first_contact_resolutions": 5,
                   "work_orders_resolved": 0, "callbacks_done": 9, "satisfaction_rate": 0.9}]}  # fmt: skip
ROOT_CAUSES = {"rows": [{"key": "repair", "code": "pipe_corrosion", "label_zh": "管道腐蚀",
                         "label_en": "Pipe corrosion", "count": 7}]}  # fmt: skip
INCIDENTS = {"items": [{"reference_no": "INC-20261123-0001", "asset_type": "heat_exchange_station",
                        "asset_id": "HES-0231", "district": "heping", "households": 200, "complaint_count": 214,
                        "eta": "2026-11-23T05:20:00+00:00", "duration_minutes": 260, "sla_outcome": "overdue"}],
             "total": 1, "page": 1, "page_size": 50}  # fmt: skip
SURGES = {"window_hours": 1, "baseline_days": 7, "checked_at": "2026-11-23T02:00:00+00:00",
          "surges": [{"kind": "asset", "asset_type": "building", "asset_id": "changqing-3", "count": 30,
                      "baseline": 0.0, "ratio": 30.0, "since": "2026-11-23T01:00:00+00:00"},
                     {"kind": "area", "district": "heping", "category": "heating_temperature", "count": 30,
                      "baseline": 0.5, "ratio": 30.0, "since": "2026-11-23T01:00:00+00:00"}]}  # fmt: skip


@dataclass
class Reporting:
    """Reporting's answers as the console sees them; every request to reporting kept; `totals` swapped by a test."""

    totals: dict[str, Any] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)
    down: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.down:
            return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})
        path, query = request.url.path, dict(request.url.params)
        answers: dict[str, Any] = {
            "/v1/kpis": lambda: _kpis(query.get("group_by", "department"), **self.totals),
            "/v1/reports/serious": lambda: SERIOUS,
            "/v1/reports/staff": lambda: STAFF,
            "/v1/reports/root-causes": lambda: ROOT_CAUSES,
            "/v1/reports/incidents": lambda: INCIDENTS,
            "/v1/reports/outages": lambda: {"items": [], "total": 0, "page": 1, "page_size": 50},
            "/v1/hotspots": lambda: {"window_hours": 24, "baseline_days": 7, "rows": [], "assets": []},
            "/v1/overdue": lambda: {"items": [], "total": 0, "page": 1, "page_size": 10},
            "/v1/surges": lambda: SURGES,
        }
        if path not in answers:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return httpx.Response(200, json=copy.deepcopy(answers[path]()))


@pytest.fixture(scope="module")
def reporting() -> Reporting:
    return Reporting()


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure, reporting: Reporting) -> AsyncIterator[ConsoleOnStandIns]:
    async with console_on_standins(migrated.database_url) as console:
        console.services.on_request("reporting", "GET", r"/.*", reporting.handle)
        yield console


def _tile(html: str, name: str) -> str:
    start = html.index(f'data-kpi="{name}"')
    return html[start : html.index("</li>", start)]


async def test_the_dashboard_reads_reporting_as_the_person_with_what_was_api_only(
    console: ConsoleOnStandIns, reporting: Reporting
) -> None:
    manager = await console.as_("supervisor.wu")
    reporting.seen.clear()
    page = await console.get("/dashboard?lang=zh", manager)
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert {r.headers["Authorization"] for r in reporting.seen} == {f"Bearer {manager.access_token}"}
    assert not any("X-API-Key" in r.headers or "key" in r.url.params for r in reporting.seen)
    assert "api key" not in html.lower() and 'type="password"' not in html
    asked = {r.url.path for r in reporting.seen}
    assert {"/v1/kpis", "/v1/reports/serious", "/v1/reports/staff", "/v1/reports/root-causes"} <= asked
    assert "31.2%" in _tile(html, "first_contact_rate") and "首次接触解决率" in _tile(html, "first_contact_rate")
    assert "1,244" in _tile(html, "received")
    assert "75.0%" in _tile(html, "on_site_rate") and "维修及时率" in _tile(html, "on_site_rate")
    assert 'class="dash-tile bad" data-kpi="ack_in_time_rate"' in html, "80 % misses its 95 % target"
    assert "4.25 / 5" in html and "80 份答卷" in html  # survey scores
    assert 'data-score="score_speed"' in html and "0 份答卷" in html
    assert "TS-20261123-000042" in html and "管道腐蚀" in html and "2 项（1 项逾期）" in html  # serious report
    assert 'data-staff="agent.li"' in html and "李娜" in html  # per staff
    assert 'data-row="root-cause"' in html  # root causes
    assert "待分派" in html and "待分类" in html  # the triage queue's cases under their own labels
    assert "换热站 HES-0231" in html and "已超时" in html  # the open incident
    assert 'class="dash-scroll"' in html, "wide tables scroll in their box: no column clipped"
    english = await console.get("/dashboard?lang=en", manager)
    assert '<html lang="en">' in english.text and "Settled at first contact" in english.text
    assert "Pipe corrosion" in english.text and "Not yet routed" in english.text


async def test_a_rate_with_nothing_due_shows_a_dash_never_a_red_zero(
    console: ConsoleOnStandIns, reporting: Reporting
) -> None:
    leader = await console.as_("leader.he")
    reporting.totals = {"received": 12, **dict.fromkeys(RATES)}
    try:
        pages = [await console.get(f"/dashboard?lang={lang}", leader) for lang in ("zh", "en")]
    finally:
        reporting.totals = {}
    for page in pages:
        for name in RATES:
            tile = _tile(page.text, name)
            assert 'data-value=""' in tile and '<span class="tile-value">—</span>' in tile, (name, tile)
            assert "0.0%" not in tile and f'class="dash-tile" data-kpi="{name}"' in page.text, name
    assert "暂无到期" in pages[0].text and "Nothing due yet" in pages[1].text


async def test_the_banner_names_the_surges_and_open_incidents_for_managers_only(console: ConsoleOnStandIns) -> None:
    supervisor = await console.as_("supervisor.wu")
    page = await console.get("/dashboard", supervisor)
    assert 'data-live-src="/dashboard/surges"' in page.text and 'data-live="surge incident"' in page.text
    banner = await console.get("/dashboard/surges?lang=zh", supervisor, headers={"HX-Request": "true"})
    assert banner.status_code == 200 and "<html" not in banner.text, "only the region's inner HTML"
    assert 'data-where="changqing-3"' in banner.text and "楼栋 changqing-3：30 件投诉" in banner.text
    assert "和平区 · 供暖温度" in banner.text and "INC-20261123-0001" in banner.text
    assert "09:00" in banner.text, "since when, in the utility's zone"
    english = await console.get("/dashboard/surges?lang=en", supervisor)
    assert "Building changqing-3: 30 complaints" in english.text
    agent = await console.as_("agent.li")
    assert (await console.get("/dashboard", agent)).status_code == 403
    assert (await console.get("/dashboard/surges", agent)).status_code == 403
    home = await console.get("/agent/complaints/new", agent)
    assert 'id="surge-banner"' not in home.text, "an agent's pages carry no banner"


async def test_with_reporting_down_the_banner_says_so_in_its_place_and_the_page_keeps_its_message(
    console: ConsoleOnStandIns, reporting: Reporting
) -> None:
    """The banner is on every manager's page: its read failing must not put an error where the page's own message
    ("marked as read") goes — the region answers 200 with a line of its own, and is read again on the next change."""
    supervisor = await console.as_("supervisor.wu")
    reporting.down = True
    try:
        banner = await console.get("/dashboard/surges?lang=en", supervisor, headers={"HX-Request": "true"})
    finally:
        reporting.down = False
    assert banner.status_code == 200 and "HX-Retarget" not in banner.headers
    assert 'data-testid="surges-unanswered"' in banner.text and 'data-testid="surge-alert"' not in banner.text
