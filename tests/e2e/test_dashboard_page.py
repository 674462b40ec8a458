"""The dashboard page in a real headless Chromium against a stand-in API: it must render every panel from the
API's JSON (charts, tiles, tables), send the API key on every request, work in both languages, and fetch nothing
from any host but its own origin, since the machines it runs on have no internet access.

The storm panels (open incidents, active outage notices) are fed as events: a storm of contract events is
projected by reporting's own handler into the in-memory read models, and the stand-in answers with the rows as
reporting's views render them."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from services.reporting.handlers import ReportingContext, project
from services.reporting.schemas import IncidentsPage, OutageRead, OutagesPage
from services.reporting.views import incident_read
from shared.handling import Door
from tests.fakes.reporting import InMemoryTransactions, ReadModelTables
from tests.support import chromium
from tests.support.reporting_events.incidents import storm

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "services" / "reporting" / "dashboard"
ARTIFACTS = ROOT / "test-artifacts"
API_KEY = "test-key"
TODAY = date(2026, 11, 23)
PERIOD_FROM = TODAY - timedelta(days=29)


# ---------------------------------------------------------------- canned API data (one month of a heating season)

# Heating starts on 1 November: complaints jump, with a spike on the 2nd, then settle.
DAILY_RECEIVED = [28, 31, 34, 30, 33, 26, 24, 58, 97, 71, 55, 49, 44, 38, 40,
                  47, 45, 43, 41, 36, 33, 39, 42, 44, 40, 38, 35, 31, 37, 35]  # fmt: skip
DAILY_RESOLVED = [25, 27, 31, 28, 30, 24, 22, 41, 66, 70, 61, 50, 43, 37, 36,
                  41, 42, 39, 38, 33, 30, 34, 38, 39, 37, 35, 32, 28, 32, 31]  # fmt: skip


def kpi_row(key: str, received: int, resolved: int, in_time: int, **extra: Any) -> dict[str, Any]:
    """A ROW of /v1/kpis with its rates derived from the counts, as the backend computes them (None when 0/0)."""

    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    acknowledged = extra.get("acknowledged", round(received * 0.97))
    callbacks = extra.get("callbacks_done", round(resolved * 0.85))
    satisfied = extra.get("satisfied", round(callbacks * 0.88))
    reopened = extra.get("reopened", round(resolved * 0.035))
    messaged = extra.get("messaged", round(received * 0.95))
    reached = extra.get("reached_by_message", round(messaged * 0.95))
    return {
        "key": key,
        "received": received,
        "resolved": resolved,
        "resolved_in_time": in_time,
        "due": resolved,  # every case due in the period resolved: timeliness over them
        "due_in_time": in_time,
        "timeliness_rate": rate(in_time, resolved),
        "acknowledged": acknowledged,
        "ack_in_time_rate": extra.get("ack_in_time_rate", 0.962 if received else None),
        "callbacks_done": callbacks,
        "callbacks_due": resolved,  # one callback due per resolved case, `callbacks` of them reached the customer
        "callbacks_completed": callbacks,
        "callback_coverage": rate(callbacks, resolved),
        "satisfied": satisfied,
        "satisfaction_rate": rate(satisfied, callbacks),
        "reopened": reopened,
        "reopen_rate": rate(reopened, resolved),
        "messaged": messaged,
        "reached_by_message": reached,
        "message_reach_rate": rate(reached, messaged),
        "handling_median_hours": extra.get("handling_median_hours", 6.4 if resolved else None),
        "handling_p90_hours": extra.get("handling_p90_hours", 27.5 if resolved else None),
    }


TOTALS = kpi_row(
    "all",
    1244,
    1120,
    1008,
    acknowledged=1210,
    callbacks_done=952,
    satisfied=838,
    reopened=41,
    messaged=1180,
    reached_by_message=1121,
)  # timeliness 90.0 %, callbacks 85.0 %, satisfaction 88.0 %, reopen 3.7 %, reached by message 95.0 %
#: A test may swap the totals (a period with nothing received) and the rows of a grouping; reset after it.
SERVED_TOTALS: dict[str, Any] = {"totals": TOTALS}
DEPARTMENTS = [
    kpi_row("repair", 772, 690, 609, handling_median_hours=7.9, handling_p90_hours=31.0),
    kpi_row("billing", 268, 246, 232, handling_median_hours=4.1, handling_p90_hours=19.6),
    kpi_row("customer_service", 204, 184, 167, handling_median_hours=3.2, handling_p90_hours=12.4),
]
CATEGORIES = [
    kpi_row("heating_temperature", 486, 441, 388),
    kpi_row("equipment_fault", 201, 180, 166),
    kpi_row("outage", 132, 126, 121),
    kpi_row("billing", 168, 155, 146),
    kpi_row("safety_hazard", 41, 41, 41),
    kpi_row("service_attitude", 77, 70, 62),
    kpi_row("consultation", 120, 107, 84),
    kpi_row("other", 19, 0, 0),  # nothing resolved yet: its rates are null and show as "—"
]
DAYS = [
    kpi_row((PERIOD_FROM + timedelta(days=i)).isoformat(), received, resolved, round(resolved * 0.9))
    for i, (received, resolved) in enumerate(zip(DAILY_RECEIVED, DAILY_RESOLVED, strict=True))
]
HOTSPOTS = {
    "window_hours": 24,
    "baseline_days": 7,
    "rows": [
        {"district": "tiexi", "category": "equipment_fault", "count": 5, "baseline": 3.1, "ratio": 1.6, "surge": False},
        {"district": "heping", "category": "heating_temperature", "count": 12, "baseline": 2.5, "ratio": 4.8,
         "surge": True},
        {"district": "shenhe", "category": "billing", "count": 3, "baseline": 2.0, "ratio": 1.5, "surge": False},
    ],
}  # fmt: skip
OVERDUE_ITEMS = [
    {"complaint_id": "5d0c8f8e-8a63-4d49-9d3e-1f1b0c7a9a01", "reference_no": "TS-20261119-000088",
     "department": "billing", "category": "billing", "severity": "normal", "status": "assigned",
     "resolve_by": "2026-11-21T01:00:00+00:00", "overdue_minutes": 3455},
    {"complaint_id": "0b6f5a57-3c1e-4f7a-8a55-5f6d3e2c1b02", "reference_no": "TS-20261122-000317",
     "department": "repair", "category": "heating_temperature", "severity": "serious", "status": "in_progress",
     "resolve_by": "2026-11-22T10:00:00+00:00", "overdue_minutes": 1415},
    {"complaint_id": "9e2d7c44-1b2a-4e3f-b6a7-2c9d8e7f6a03", "reference_no": "TS-20261123-000042",
     "department": "repair", "category": "outage", "severity": "emergency", "status": "acknowledged",
     "resolve_by": "2026-11-23T08:00:00+00:00", "overdue_minutes": 95},
]  # fmt: skip
# A station failed this morning: three callers, one incident (still open, past its deadline), and a feeder's
# outage notice with one caller — as events, through reporting's projection.
STORM = storm(datetime(2026, 11, 23, 0, 0, tzinfo=UTC), resolved=False)
STORM_NOW = STORM.at(300)  # 4 h 20 min after the incident opened, 20 min past its deadline


def _storm_tables() -> ReadModelTables:
    tx = InMemoryTransactions()
    asyncio.run(Door(tx, ReportingContext(ZoneInfo("Asia/Shanghai"))).run(project, STORM.events))
    return tx.tables


_STORM_TABLES = _storm_tables()
INCIDENTS = IncidentsPage(
    items=[incident_read(row, STORM_NOW) for row in _STORM_TABLES.incidents.values() if row["status"] == "open"],
    total=len(_STORM_TABLES.incidents),
    page=1,
    page_size=50,
).model_dump(mode="json")
OUTAGES = OutagesPage(
    items=[OutageRead.model_validate(row) for row in _STORM_TABLES.outages.values() if row["status"] == "active"],
    total=len(_STORM_TABLES.outages),
    page=1,
    page_size=50,
).model_dump(mode="json")
HOTSPOTS["assets"] = [
    {"asset_type": "feeder", "asset_id": "FDR-10K-07", "count": 4, "baseline": 2.0, "ratio": 2.0, "surge": False},
    {"asset_type": "heat_exchange_station", "asset_id": "HES-0231", "count": 14, "baseline": 1.0, "ratio": 14.0,
     "surge": True},
]  # fmt: skip
REPEAT = {
    "rows": [
        {"account_no": "HT-20417", "cases": 4, "last_at": "2026-11-23T02:14:00+00:00"},
        {"account_no": "HT-11873", "cases": 3, "last_at": "2026-11-21T09:40:00+00:00"},
    ]
}

# ---------------------------------------------------------------- the stand-in server


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    api_key: str | None
    host: str | None
    status: int


@dataclass
class FixtureServer:
    """The backend's routes with canned JSON, on a free loopback port; logs every request it answers."""

    httpd: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def log(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def take(self) -> list[Request]:
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


def kpis(query: dict[str, str]) -> tuple[int, Any]:
    groups: dict[str, list[dict[str, Any]]] = {"department": DEPARTMENTS, "category": CATEGORIES, "day": DAYS}
    if {"from", "to", "group_by"} - query.keys() or query["group_by"] not in groups:
        return 400, {"detail": "from, to and group_by (department|category|day) are required"}
    rows = SERVED_TOTALS.get(query["group_by"], groups[query["group_by"]])
    if query["group_by"] == "day":
        rows = [row for row in rows if query["from"] <= row["key"] <= query["to"]]
    totals = SERVED_TOTALS["totals"]
    body = {"from": query["from"], "to": query["to"], "group_by": query["group_by"], "rows": rows, "totals": totals}
    return 200, body


def api(path: str, query: dict[str, str]) -> tuple[int, Any]:
    if path == "/v1/meta":
        return 200, {"today": TODAY.isoformat(), "timezone": "Asia/Shanghai"}
    if path == "/v1/kpis":
        return kpis(query)
    if path == "/v1/hotspots":
        return 200, HOTSPOTS
    if path == "/v1/overdue":
        page, size = int(query.get("page", "1")), int(query.get("page_size", "20"))
        items = OVERDUE_ITEMS[(page - 1) * size : page * size]
        return 200, {"items": items, "total": len(OVERDUE_ITEMS), "page": page, "page_size": size}
    if path == "/v1/repeat-complainants":
        return 200, REPEAT
    if path == "/v1/reports/incidents" and query.get("status") == "open":
        return 200, INCIDENTS
    if path == "/v1/reports/outages" and query.get("active") == "true":
        return 200, OUTAGES
    return 404, {"detail": "Not Found"}


class Handler(BaseHTTPRequestHandler):
    server_version = "fixture"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        key = self.headers.get("X-API-Key")
        if url.path.startswith("/v1/"):
            status, body = (401, {"detail": "Invalid API key"}) if key != API_KEY else api(url.path, query)
            self.reply(status, json.dumps(body).encode(), "application/json")
        elif url.path == "/dashboard":
            status = 307
            self.send_response(status)
            self.send_header("Location", "/dashboard/")
            self.end_headers()
        else:
            status = self.static(url.path)
        fixture: FixtureServer = self.server.fixture  # type: ignore[attr-defined]
        fixture.log(Request(url.path, query, key, self.headers.get("Host"), status))

    def static(self, path: str) -> int:
        """Like the backend's StaticFiles mount: /dashboard/ is index.html, /dashboard/<file> the folder's files."""
        types = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
        name = "index.html" if path == "/dashboard/" else path.removeprefix("/dashboard/")
        file = DASHBOARD / name
        if not path.startswith("/dashboard/") or "/" in name or file.suffix not in types or not file.is_file():
            self.reply(404, b"not found", "text/plain")
            return 404
        self.reply(200, file.read_bytes(), types[file.suffix])
        return 200

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are kept in FixtureServer.requests instead of being printed."""


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="dashboard-fixture", daemon=True)
    fixture = FixtureServer(httpd, thread)
    httpd.fixture = fixture  # type: ignore[attr-defined]
    thread.start()
    try:
        yield fixture
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
    assert not thread.is_alive()


# ---------------------------------------------------------------- reading the dumped DOM


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def find_all(self, tag: str | None = None, attrs: dict[str, str | None] | None = None) -> list[Node]:
        """Descendants with this tag and these attributes (a None value: the attribute is present)."""
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, str):
                continue
            wanted = (tag is None or child.tag == tag) and all(
                name in child.attrs and (value is None or child.attrs[name] == value)
                for name, value in (attrs or {}).items()
            )
            if wanted:
                found.append(child)
            found.extend(child.find_all(tag, attrs))
        return found

    def one(self, tag: str | None = None, attrs: dict[str, str | None] | None = None) -> Node:
        found = self.find_all(tag, attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _TreeBuilder(HTMLParser):
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def visible_text(node: Node) -> str:
    return re.sub(r"\s+", " ", node.text()).strip()


# ---------------------------------------------------------------- rendering the page


@dataclass
class Rendered:
    dom: Node
    html: str
    requests: list[Request]
    net_log: dict[str, Any] | None


def open_page(
    server: FixtureServer, query: str, screenshot: str | None, tmp: Path, *, net_log: bool = False
) -> Rendered:
    server.take()
    log_path = tmp / "netlog.json" if net_log else None
    html = chromium.render(
        f"{server.base}/dashboard/{query}",
        screenshot=ARTIFACTS / screenshot if screenshot else None,
        net_log=log_path,
    )
    log = json.loads(log_path.read_text()) if log_path else None
    return Rendered(parse(html), html, server.take(), log)


@pytest.fixture(scope="module")
def zh(server: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return open_page(server, "?key=test-key", "dashboard_storm.png", tmp_path_factory.mktemp("zh"), net_log=True)


@pytest.fixture(scope="module")
def en(server: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return open_page(server, "?key=test-key&lang=en", "dashboard-fixture-en.png", tmp_path_factory.mktemp("en"))


def body(page: Rendered) -> Node:
    return page.dom.one("body")


def tile(page: Rendered, name: str) -> str:
    return visible_text(page.dom.one(attrs={"data-kpi": name}))


def chart(page: Rendered, name: str) -> Node:
    return page.dom.one("svg", {"data-chart": name})


# ---------------------------------------------------------------- tests


def test_renders_every_panel(zh: Rendered) -> None:
    assert body(zh).attrs.get("data-rendered") == "true", visible_text(body(zh))[:500]
    assert chart(zh, "trend").attrs["data-points"] == "30"
    assert chart(zh, "department").attrs["data-points"] == "3"
    assert chart(zh, "category").attrs["data-points"] == "8"
    assert len(chart(zh, "trend").find_all("rect", {"data-day": None})) == 30
    assert len(zh.dom.find_all("tr", {"data-row": "hotspot"})) == 3
    assert len(zh.dom.find_all("tr", {"data-row": "overdue"})) == 3
    assert len(zh.dom.find_all("tr", {"data-row": "repeat"})) == 2
    error = zh.dom.one(attrs={"id": "error"})
    assert "hidden" in error.attrs and not visible_text(error)


def test_tiles_show_formatted_totals(zh: Rendered) -> None:
    assert len(zh.dom.find_all(attrs={"data-kpi": None})) == 10
    expected = {
        "received": "1,244",
        "resolved": "1,120",
        "timeliness_rate": "90.0%",
        "ack_in_time_rate": "96.2%",
        "callback_coverage": "85.0%",
        "message_reach_rate": "95.0%",
        "satisfaction_rate": "88.0%",
        "reopen_rate": "3.7%",
        "handling_median_hours": "6.4",
        "handling_p90_hours": "27.5",
    }
    for name, value in expected.items():
        assert value in tile(zh, name), (name, tile(zh, name))
    assert "受理量" in tile(zh, "received")
    assert "小时" in tile(zh, "handling_median_hours")
    # callback coverage (85 %) misses its 90 % target: drawn as a breach
    assert "bad" in zh.dom.one(attrs={"data-kpi": "callback_coverage"}).classes()
    assert "bad" not in zh.dom.one(attrs={"data-kpi": "timeliness_rate"}).classes()
    reach = zh.dom.one(attrs={"data-kpi": "message_reach_rate"})
    assert "消息触达率" in tile(zh, "message_reach_rate") and "送达 1,121 / 1,180 件" in tile(zh, "message_reach_rate")
    assert (reach.attrs["data-value"], reach.attrs["title"]) == ("0.95", "1,121 / 1,180")


RATES = [
    "timeliness_rate",
    "ack_in_time_rate",
    "callback_coverage",
    "satisfaction_rate",
    "reopen_rate",
    "message_reach_rate",
]


def test_a_period_with_nothing_due_shows_every_rate_as_a_dash(server: FixtureServer, tmp_path: Path) -> None:
    """Nothing received, no message due: each rate is null in the API and "—" on its tile, never 0 % or NaN."""
    SERVED_TOTALS["totals"] = kpi_row("all", 0, 0, 0, acknowledged=0, callbacks_done=0, satisfied=0, reopened=0)
    try:
        page = open_page(server, "?key=test-key&lang=en", None, tmp_path)
    finally:
        SERVED_TOTALS["totals"] = TOTALS
    assert body(page).attrs.get("data-rendered") == "true"
    for name in RATES:
        shown = page.dom.one(attrs={"data-kpi": name})
        assert visible_text(shown.one(attrs={"class": "tile-value"})) == "—", (name, tile(page, name))
        assert shown.attrs["data-value"] == "", name
    assert "0 of 0 cases" in tile(page, "message_reach_rate")


def _nothing_due_yet(**extra: Any) -> dict[str, Any]:
    nothing = {"acknowledged": 0, "callbacks_done": 0, "satisfied": 0, "reopened": 0, "messaged": 0}
    return kpi_row(extra.pop("key"), extra.pop("received"), 0, 0, **nothing, reached_by_message=0, **extra)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_morning_with_nothing_due_yet_shows_dashes_not_a_red_zero(
    server: FixtureServer, tmp_path: Path, lang: str
) -> None:
    """Issue 24: 12 received this morning, 9 routed and 3 in the triage queue, nothing acknowledged and no deadline
    passed. Reporting answers every rate null (acknowledgement in time too: nothing fell due), and each shows "—",
    neutral, never a red "0.0%"; the triage queue's cases show under their own labels."""
    SERVED_TOTALS.update(
        totals=_nothing_due_yet(key="all", received=12, ack_in_time_rate=None),
        department=[
            _nothing_due_yet(key="repair", received=9, ack_in_time_rate=None),
            _nothing_due_yet(key="unrouted", received=3, ack_in_time_rate=None),
        ],
        category=[
            _nothing_due_yet(key="heating_temperature", received=9, ack_in_time_rate=None),
            _nothing_due_yet(key="unclassified", received=3, ack_in_time_rate=None),
        ],
    )
    try:
        page = open_page(server, f"?key=test-key&lang={lang}", f"dashboard-nothing-due-{lang}.png", tmp_path)
    finally:
        SERVED_TOTALS.clear()
        SERVED_TOTALS["totals"] = TOTALS
    assert body(page).attrs.get("data-rendered") == "true"
    assert "12" in tile(page, "received")
    for name in RATES:
        shown = page.dom.one(attrs={"data-kpi": name})
        assert visible_text(shown.one(attrs={"class": "tile-value"})) == "—", (name, tile(page, name))
        assert "bad" not in shown.classes() and "0.0%" not in tile(page, name), name
    labels = {"zh": ("待分派", "待分类"), "en": ("Not yet routed", "Not yet classified")}[lang]
    assert labels[0] in visible_text(chart(page, "department"))
    assert labels[1] in visible_text(chart(page, "category"))
    for grouping in ("department", "category"):
        gauges = [t for t in chart(page, grouping).find_all("text") if "data-rate" in t.attrs]
        assert [(t.text(), "bad" in t.classes()) for t in gauges] == [("—", False), ("—", False)], grouping


def test_breakdowns_label_codes_and_show_timeliness(zh: Rendered) -> None:
    department = visible_text(chart(zh, "department"))
    for label in ("维修", "营业收费", "客户服务", "88.3%", "94.3%", "90.8%"):
        assert label in department
    category = visible_text(chart(zh, "category"))
    for label in ("室温不达标", "设备故障", "停电停热停水停气", "安全隐患", "费用争议", "服务态度", "咨询", "其他"):
        assert label in category
    assert "—" in category  # "other" has nothing resolved: no rate
    below_target = [text.text() for text in chart(zh, "department").find_all("text") if "bad" in text.classes()]
    assert below_target == ["88.3%"]  # repair misses the 90 % target, the others do not


def test_trend_marks_the_heating_start_spike(zh: Rendered) -> None:
    bars = chart(zh, "trend").find_all("rect", {"data-day": None})
    days = [bar.attrs["data-day"] for bar in bars]
    assert days[0] == PERIOD_FROM.isoformat() and days[-1] == TODAY.isoformat()
    red = [bar.attrs["data-day"] for bar in bars if bar.attrs["fill"].lower() == "#d14343"]
    assert red == ["2026-11-02", "2026-11-03"]  # 97 and 71: above mean + 2 SD (41.5 + 2 × 14.1)


def test_surge_row_is_highlighted(zh: Rendered) -> None:
    rows = zh.dom.find_all("tr", {"data-row": "hotspot"})
    surges = [row for row in rows if "surge" in row.classes()]
    assert len(surges) == 1
    assert surges[0] is rows[0]  # surges first
    assert "和平区" in visible_text(surges[0]) and "激增" in visible_text(surges[0])


def test_overdue_list_in_service_time_zone(zh: Rendered) -> None:
    rows = [visible_text(row) for row in zh.dom.find_all("tr", {"data-row": "overdue"})]
    assert "TS-20261123-000042" in rows[2] and "紧急" in rows[2] and "2026-11-23 16:00" in rows[2]
    assert "1 小时 35 分" in rows[2]
    assert "2 天 9 小时" in rows[0]


def test_api_key_sent_and_default_period_from_meta(zh: Rendered, server: FixtureServer) -> None:
    api_calls = [r for r in zh.requests if r.path.startswith("/v1/")]
    assert {r.path for r in api_calls} == {
        "/v1/meta", "/v1/kpis", "/v1/hotspots", "/v1/overdue", "/v1/repeat-complainants", "/v1/reports/incidents",
        "/v1/reports/outages",
    }  # fmt: skip
    assert all(r.api_key == API_KEY and r.status == 200 for r in api_calls), api_calls
    assert all("key" not in r.query for r in api_calls)  # the key travels in the header only
    kpi_calls = [r.query for r in api_calls if r.path == "/v1/kpis"]
    assert sorted(q["group_by"] for q in kpi_calls) == ["category", "day", "department"]
    assert all((q["from"], q["to"]) == (PERIOD_FROM.isoformat(), TODAY.isoformat()) for q in kpi_calls)
    statics = {r.path for r in zh.requests if not r.path.startswith("/v1/")}
    assert statics == {"/dashboard/", "/dashboard/dashboard.css", "/dashboard/dashboard.js"}
    host = server.base.removeprefix("http://")
    assert {r.host for r in zh.requests} == {host}


def test_browser_contacted_no_other_host(zh: Rendered, server: FixtureServer) -> None:
    """Chromium's own network log: the page's navigation and every request the page initiated (markup, CSS,
    script, fetch) went to the fixture's origin. The browser's own services (network time, updates, autofill)
    have no initiator and are not the page's doing; render() fails their host names inside Chromium."""
    assert zh.net_log is not None
    names = {number: name for name, number in zh.net_log["constants"]["logEventTypes"].items()}
    by_page: set[str] = set()
    for event in zh.net_log["events"]:
        params = event.get("params") or {}
        if names[event["type"]] != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("request_type") == "main frame" or params.get("initiator") == server.base:
            by_page.add(params["url"])
    assert f"{server.base}/dashboard/dashboard.js" in by_page, sorted(by_page)
    assert sum(url.startswith(f"{server.base}/v1/") for url in by_page) >= 6, sorted(by_page)
    foreign = {url for url in by_page if not url.startswith(f"{server.base}/")}
    assert not foreign, foreign


def test_open_incident_and_active_outage(zh: Rendered) -> None:
    """Fed as events: the incident's asset, family, households, calls, the ETA last announced (in the service's
    time zone), its age, and its deadline passed; the outage notice's feeder, kind, start and ETA."""
    (incident,) = [visible_text(row) for row in zh.dom.find_all("tr", {"data-row": "incident"})]
    assert STORM.incident_ref in incident and "换热站 HES-0231" in incident and "和平区" in incident
    assert "停热" in incident and "2026-11-23 13:20" in incident  # ETA moved to 05:20 UTC
    assert "4 小时 20 分" in incident and "已超时" in incident
    row = zh.dom.one("tr", {"data-row": "incident"})
    cells = [visible_text(cell) for cell in row.find_all("td")]
    assert cells[2:4] == ["3", "3"], cells  # households, calls linked
    assert row.attrs["data-sla"] == "overdue"
    (outage,) = [visible_text(row) for row in zh.dom.find_all("tr", {"data-row": "outage"})]
    assert STORM.outage_ref in outage and "馈线 FDR-10K-07" in outage and "10千伏线路故障抢修" in outage
    assert "故障停供" in outage and "停电" in outage
    assert "2026-11-23 07:00" in outage and "2026-11-23 14:40" in outage  # started, ETA (moved once)
    assert "共 1 起" in visible_text(zh.dom.one(attrs={"id": "inc-hint"}))


def test_hotspots_by_asset(zh: Rendered) -> None:
    rows = zh.dom.find_all("tr", {"data-row": "asset-hotspot"})
    assert len(rows) == 2 and "surge" in rows[0].classes()
    assert "换热站 HES-0231" in visible_text(rows[0]) and "×14.0" in visible_text(rows[0])


def test_english_toggle(en: Rendered) -> None:
    assert body(en).attrs.get("data-rendered") == "true"
    assert en.dom.one("html").attrs["lang"] == "en"
    assert "Resolved in time" in tile(en, "timeliness_rate") and "90.0%" in tile(en, "timeliness_rate")
    reach = tile(en, "message_reach_rate")
    assert "Reached by message" in reach and "95.0%" in reach and "1,121 of 1,180 cases" in reach
    department = visible_text(chart(en, "department"))
    assert "Repair" in department and "Customer service" in department and "维修" not in department
    assert "Heating below standard" in visible_text(chart(en, "category"))
    surge = next(row for row in en.dom.find_all("tr", {"data-row": "hotspot"}) if "surge" in row.classes())
    assert "Heping" in visible_text(surge) and "Surge" in visible_text(surge)
    assert "1 h 35 min" in visible_text(en.dom.find_all("tr", {"data-row": "overdue"})[2])
    assert "Daily received and resolved" in visible_text(body(en))
    incident = visible_text(en.dom.one("tr", {"data-row": "incident"}))
    assert "Heat-exchange station HES-0231" in incident and "No heat" in incident and "4 h 20 min" in incident
    assert "Overdue" in incident and "Open incidents" in visible_text(body(en))
    outage = visible_text(en.dom.one("tr", {"data-row": "outage"}))
    assert "Feeder FDR-10K-07" in outage and "10 kV feeder repair" in outage and "Unplanned" in outage
    assert not re.search(r"[\u4e00-\u9fff]", visible_text(en.dom.one("main")))  # no Chinese left in the panels


def test_without_key_asks_for_one(server: FixtureServer, tmp_path: Path) -> None:
    page = open_page(server, "", None, tmp_path)
    assert body(page).attrs.get("data-rendered") == "needs-key"
    assert "hidden" not in page.dom.one(attrs={"id": "key-panel"}).attrs
    assert page.dom.one("input", {"id": "key-input"}).attrs["type"] == "password"
    assert not [r for r in page.requests if r.path.startswith("/v1/")]


def test_rejected_key_shows_error(server: FixtureServer, tmp_path: Path) -> None:
    page = open_page(server, "?key=wrong", None, tmp_path)
    assert body(page).attrs.get("data-rendered") == "error"
    error = page.dom.one(attrs={"id": "error"})
    assert "hidden" not in error.attrs and "401" in visible_text(error)
    assert "hidden" not in page.dom.one(attrs={"id": "key-panel"}).attrs
    assert [r.status for r in page.requests if r.path.startswith("/v1/")] == [401]


_COMMENTS = {
    ".html": [re.compile(r"<!--.*?-->", re.S)],
    ".css": [re.compile(r"/\*.*?\*/", re.S)],
    ".js": [re.compile(r"/\*.*?\*/", re.S), re.compile(r"^\s*//.*$", re.M), re.compile(r"\s//\s.*$", re.M)],
}
_EXTERNAL = re.compile(r"https?://|(?:src|href)\s*=\s*[\"']?//|url\(\s*[\"']?(?:https?:)?//|@import", re.I)


def test_static_files_reference_no_external_url() -> None:
    files = sorted(path for path in DASHBOARD.iterdir() if path.suffix in _COMMENTS)
    assert {path.name for path in files} == {"index.html", "dashboard.js", "dashboard.css"}
    for path in files:
        code = path.read_text(encoding="utf-8")
        for comment in _COMMENTS[path.suffix]:
            code = comment.sub("", code)
        found = _EXTERNAL.findall(code)
        assert not found, f"{path.name} references {found}"
