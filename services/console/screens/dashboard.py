"""`/dashboard`: the managers' dashboard, and the surge banner every manager's page carries.

The figures are reporting's, read as the signed-in person (their token: reporting checks the role, bounds a
department manager's lists to their department and masks contact data) — no API key is typed into any page. The
dashboard gathers what was API-only before: first-contact rate, survey scores, the serious-case report, per-staff
figures and root causes, beside the KPI tiles, the breakdowns, open incidents, active outage notices, hotspots and
the overdue list. A rate reporting answers null (nothing due) shows "—", never a red "0.0%".

`/dashboard/surges` is the banner's inner HTML: the surges now (reporting `GET /v1/surges`, the same figures as the
`ComplaintSurge*` alert rules) and the open incidents. `base.html` loads it into a live region (kinds `surge`,
`incident`: a new complaint is a `surge` change), so a surge flags at once on an open page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.auth import screen
from services.console.backends import PersonCalls
from services.console.figures import SCORES, breach, count, decimal, percent, tiles
from services.console.screens.common import Calls, Page

router = APIRouter(include_in_schema=False)
#: Rows of the overdue list and of the per-staff table shown (the CSV exports have all).
OVERDUE_ROWS = 10
#: Open incidents named in the banner (the dashboard lists them all).
BANNER_INCIDENTS = 5


@router.get("/dashboard", dependencies=[screen("dashboard")])
async def dashboard(page: Page, calls: Calls) -> Response:
    query = page.request.query_params
    period = {k: v for k, v in (("from", query.get("from")), ("to", query.get("to"))) if v}
    found = await _figures(calls, period)
    totals = found["departments"].get("totals", {})
    return page.render(
        "dashboard.html",
        period={"from": found["departments"].get("from"), "to": found["departments"].get("to")},
        tiles=tiles(totals),
        totals=totals,
        scores=SCORES,
        percent=percent,
        decimal=decimal,
        count=count,
        breach=breach,
        **found,
    )


@router.get("/dashboard/surges", dependencies=[screen("dashboard")])
async def surges(page: Page, calls: Calls) -> Response:
    """The banner's inner HTML (a live region's `data-live-src`), also a page of its own without script."""
    found, incidents = await asyncio.gather(
        calls.if_answered("reporting", "/v1/surges"),
        calls.if_answered("reporting", "/v1/reports/incidents", status="open", page_size=BANNER_INCIDENTS),
    )
    return page.render(
        "_surge_banner.html",
        surges=(found or {}).get("surges", []),
        incidents=(incidents or {}).get("items", []),
        unanswered=found is None or incidents is None,
        count=count,
    )


async def _figures(calls: PersonCalls, period: dict[str, str]) -> dict[str, Any]:
    """Every read of the dashboard at once (one reporting, many small answers)."""
    reads = {
        "departments": calls.get("reporting", "/v1/kpis", group_by="department", **period),
        "categories": calls.get("reporting", "/v1/kpis", group_by="category", **period),
        "serious": calls.get("reporting", "/v1/reports/serious", **period),
        "staff": calls.get("reporting", "/v1/reports/staff", **period),
        "root_causes": calls.get("reporting", "/v1/reports/root-causes", by="department", **period),
        "incidents": calls.get("reporting", "/v1/reports/incidents", status="open"),
        "outages": calls.get("reporting", "/v1/reports/outages", active="true"),
        "hotspots": calls.get("reporting", "/v1/hotspots"),
        "overdue": calls.get("reporting", "/v1/overdue", page_size=OVERDUE_ROWS),
    }
    answers = await asyncio.gather(*reads.values())
    return dict(zip(reads, answers, strict=True))
