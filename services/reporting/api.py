"""HTTP API of reporting: cases, households, queues, KPIs, hotspots, CSV exports (read credentials)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from services.reporting import queries
from services.reporting.queries import GroupBy, HotspotRules
from services.reporting.settings import ReaderCredential
from shared.contracts import Department
from shared.contracts.complaint import ACCOUNT_NO_MAX_LENGTH, ACCOUNT_NO_PATTERN
from shared.http.auth import PresentedToken, identify
from shared.http.problems import Problem, problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["reporting"])
PROBLEMS = problem_responses()
LOOKUP_PROBLEMS = problem_responses(404, s404="No such case")
#: A reporting day is a calendar day, written YYYY-MM-DD: nothing else (no timestamps, no epoch seconds).
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _only_iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_only_iso_day)]


class CsvResponse(StreamingResponse):
    """A CSV download; as a response class it also tells the OpenAPI document that the answer is text/csv."""

    media_type = "text/csv"


MAX_PERIOD_DAYS = 731


async def reader(request: Request, token: PresentedToken) -> ReaderCredential:
    return identify(token, request.app.state.settings.credential_by_token, "a reporting read")


Reader = Annotated[ReaderCredential, Depends(reader)]


def _schema(request: Request) -> str:
    return request.app.state.schema


def _now(request: Request) -> datetime:
    return request.app.state.clock()


def _period(request: Request, start: date | None, end: date | None) -> tuple[date, date]:
    today = _now(request).astimezone(request.app.state.timezone).date()
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end:
        raise Problem(422, "Invalid request", "from is after to", errors=[{"field": "from", "message": "after to"}])
    if (end - start).days > MAX_PERIOD_DAYS:
        raise Problem(
            422,
            "Invalid request",
            f"a period spans at most {MAX_PERIOD_DAYS} days",
            errors=[{"field": "from", "message": "period too long"}],
        )
    return start, end


def _present(
    case: dict[str, Any], who: ReaderCredential, request: Request, contact: Any | None = None
) -> dict[str, Any]:
    """Masked contact data for everyone; the real one only for roles allowed to see it."""
    out = dict(case)
    if who.role in request.app.state.settings.reporting_contact_roles and contact is not None:
        out["name"], out["phone"] = contact["name"], contact["phone"]
    return out


async def _contacts(request: Request, who: ReaderCredential, ids: list[Any]) -> dict[Any, Any]:
    if who.role not in request.app.state.settings.reporting_contact_roles or not ids:
        return {}
    rows = await request.app.state.pool.fetch(
        f"SELECT complaint_id, name, phone FROM {_schema(request)}.contacts WHERE complaint_id = ANY($1::uuid[])", ids
    )
    return {r["complaint_id"]: r for r in rows}


@router.get("/meta", responses=PROBLEMS, summary="Today in the utility's time zone (the dashboard's default period)")
async def meta(request: Request, _: Reader) -> dict[str, str]:
    tz = request.app.state.timezone
    return {"today": _now(request).astimezone(tz).date().isoformat(), "timezone": str(tz)}


@router.get("/cases/{ref}", responses=LOOKUP_PROBLEMS, summary="A case: status, department, deadlines, timeline")
async def case(ref: str, request: Request, who: Reader) -> dict[str, Any]:
    pool = request.app.state.pool
    found = await queries.case_by_ref(pool, _schema(request), ref)
    if found is None:
        raise Problem(404, "Not Found", f"no case {ref!r}")
    mark_case(request, found["complaint_id"])
    contacts = await _contacts(request, who, [found["complaint_id"]])
    # Timeline payloads come from the public topics, whose contact data is already masked.
    events = await queries.timeline(pool, _schema(request), found["complaint_id"])
    return _present(found, who, request, contacts.get(found["complaint_id"])) | {"timeline": events}


@router.get("/households/{account_no}/cases", responses=PROBLEMS, summary="A household's archive, newest first")
async def household(
    account_no: Annotated[str, Path(min_length=1, max_length=ACCOUNT_NO_MAX_LENGTH, pattern=ACCOUNT_NO_PATTERN)],
    request: Request,
    who: Reader,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    items, total = await queries.household(
        request.app.state.pool, _schema(request), account_no, limit=page_size, offset=(page - 1) * page_size
    )
    contacts = await _contacts(request, who, [i["complaint_id"] for i in items])
    return {
        "account_no": account_no,
        "items": [_present(i, who, request, contacts.get(i["complaint_id"])) for i in items],
        "page": page,
        "page_size": page_size,
        "total": total,
    }


@router.get("/queues", responses=PROBLEMS, summary="Open and overdue work orders per department")
async def department_queues(request: Request, _: Reader) -> dict[str, Any]:
    return {"departments": await queries.queues(request.app.state.pool, _schema(request), _now(request))}


@router.get("/overdue", responses=PROBLEMS, summary="Open work orders past their resolve deadline")
async def overdue(
    request: Request,
    who: Reader,
    department: Department | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    items, total = await queries.overdue(
        request.app.state.pool,
        _schema(request),
        _now(request),
        department=department.value if department else None,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    return {"items": [_present(i, who, request) for i in items], "total": total, "page": page, "page_size": page_size}


@router.get("/kpis", responses=PROBLEMS, summary="KPIs of the cases received in a period, grouped")
async def kpis(
    request: Request,
    _: Reader,
    group_by: GroupBy = "department",
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    first, last = _period(request, start, end)
    return await queries.kpis(request.app.state.pool, _schema(request), first, last, group_by)


@router.get("/hotspots", responses=PROBLEMS, summary="District x category surges against their trailing baseline")
async def hotspots(
    request: Request,
    _: Reader,
    window_hours: Annotated[int, Query(ge=1, le=24 * 14)] = 24,
    baseline_days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> dict[str, Any]:
    s = request.app.state.settings
    return await queries.hotspots(
        request.app.state.pool,
        _schema(request),
        _now(request),
        window_hours,
        baseline_days,
        HotspotRules(s.hotspot_surge_ratio, s.hotspot_min_count),
    )


@router.get("/repeat-complainants", responses=PROBLEMS, summary="Accounts with many cases in a window")
async def repeat_complainants(
    request: Request,
    _: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    min_cases: Annotated[int, Query(ge=2, le=100)] = 3,
) -> dict[str, Any]:
    rows = await queries.repeat_complainants(request.app.state.pool, _schema(request), _now(request), days, min_cases)
    return {"days": days, "min_cases": min_cases, "rows": rows}


@router.get("/kpis.csv", response_class=CsvResponse, responses=PROBLEMS, summary="KPIs as CSV")
async def kpis_csv(
    request: Request,
    _: Reader,
    group_by: GroupBy = "department",
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
) -> CsvResponse:
    first, last = _period(request, start, end)
    report = await queries.kpis(request.app.state.pool, _schema(request), first, last, group_by)
    rows = [*report["rows"], report["totals"]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()) if rows else ["key"])
    writer.writeheader()
    writer.writerows(rows)
    return _csv_response(iter([buffer.getvalue()]), f"kpis-{group_by}-{first}-{last}.csv")


@router.get(
    "/cases.csv",
    response_class=CsvResponse,
    responses=PROBLEMS,
    summary="Cases received in a period as CSV (streamed)",
)
async def cases_csv(
    request: Request,
    who: Reader,
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
) -> CsvResponse:
    first, last = _period(request, start, end)
    tz = request.app.state.timezone
    since = datetime.combine(first, time(0), tz)
    until = datetime.combine(last + timedelta(days=1), time(0), tz)
    pool, schema = request.app.state.pool, _schema(request)
    show_contacts = who.role in request.app.state.settings.reporting_contact_roles
    fields = [*queries.CASE_FIELDS, *(["name", "phone"] if show_contacts else [])]

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        async with pool.acquire() as conn, conn.transaction():
            batch: list[dict[str, Any]] = []
            async for record in await queries.cases_between(conn, schema, since, until):
                batch.append(dict(record))
                if len(batch) == 500:
                    yield await _csv_rows(batch, writer, buffer, conn, schema, show_contacts)
                    batch = []
            if batch:
                yield await _csv_rows(batch, writer, buffer, conn, schema, show_contacts)
        yield buffer.getvalue()

    return _csv_response(rows(), f"cases-{first}-{last}.csv")


async def _csv_rows(
    batch: list[dict[str, Any]],
    writer: csv.DictWriter[str],
    buffer: io.StringIO,
    conn: Any,
    schema: str,
    show_contacts: bool,
) -> str:
    if show_contacts:
        found = await conn.fetch(
            f"SELECT complaint_id, name, phone FROM {schema}.contacts WHERE complaint_id = ANY($1::uuid[])",
            [b["complaint_id"] for b in batch],
        )
        by_id = {r["complaint_id"]: r for r in found}
        for b in batch:
            contact = by_id.get(b["complaint_id"])
            b["name"], b["phone"] = (contact["name"], contact["phone"]) if contact else (None, None)
    writer.writerows(batch)
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_response(body: Any, filename: str) -> CsvResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
