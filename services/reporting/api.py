"""HTTP API of reporting: cases, households, queues, KPIs, hotspots, incidents and outage notices, the handling
rules' reports (serious cases, root causes, per staff), CSV exports (read credentials; per staff: managers).

Thin routes: decode the request, ask `views.ReportViews`, answer. Every route needs a reader credential. A route
that shows customers' personal data (a case, a household's archive, the lookup, the cases export) records who read
what through `handlers.access` before it answers. No route
catches anything: a refused period or lookup (`model.InvalidPeriod`, `model.InvalidLookup`) and a case not found are
`shared.errors` answered as problems in one place (`shared.http.problems`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BeforeValidator

from services.reporting import exports
from services.reporting.auth import Manager, Reader, ReaderIdentity, department_asked, department_scope
from services.reporting.deps import AccessLog, Reports, Settings
from services.reporting.handlers.access import Reads, read_by, reads, record
from services.reporting.handling_reports import serious_csv_rows
from services.reporting.model import GroupBy, lookup_keys
from services.reporting.schemas import (
    CaseRead,
    HotspotsRead,
    HouseholdCasesRead,
    HouseholdLookupRead,
    IncidentRead,
    IncidentsPage,
    KpiReport,
    MetaRead,
    OutageRead,
    OutagesPage,
    OverduePage,
    PersonalDataReadEntry,
    PersonalDataReads,
    QueuesRead,
    RepeatComplainantsRead,
    RootCauseBy,
    RootCauseRow,
    RootCausesReport,
    SeriousCsvRow,
    SeriousReport,
    StaffReport,
    StaffRow,
    SurgesRead,
)
from shared.contracts import Department
from shared.contracts.complaint import ACCOUNT_NO_MAX_LENGTH, ACCOUNT_NO_PATTERN
from shared.errors import NotFound
from shared.http.instants import INSTANT_PATTERN, instant
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case
from shared.privacy import mask_phone

router = APIRouter(prefix="/v1", tags=["reporting"])
#: The managers' dashboard moved to the console (issue 24): signed in there, read as the person, no API key typed
#: into a page. The old addresses of reporting's key-typed page send the browser there.
front = APIRouter()


@front.get("/", include_in_schema=False)
@front.get("/dashboard", include_in_schema=False)
@front.get("/dashboard/{rest:path}", include_in_schema=False)
async def dashboard_moved(settings: Settings) -> RedirectResponse:
    """308 to the console's `/dashboard` (`REPORTING_CONSOLE_URL`); without it, a 404 saying where it went."""
    if not settings.reporting_console_url:
        raise NotFound("the managers' dashboard is the console's /dashboard: sign in to the console")
    return RedirectResponse(f"{settings.reporting_console_url.rstrip('/')}/dashboard", status_code=308)


PROBLEMS = problem_responses()
LOOKUP_PROBLEMS = problem_responses(404, s404="No such case")
#: A reporting day is a calendar day, written YYYY-MM-DD: nothing else (no timestamps, no epoch seconds).
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _only_iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_only_iso_day)]
From = Annotated[Day | None, Query(alias="from")]
To = Annotated[Day | None, Query(alias="to")]
Page = Annotated[int, Query(ge=1, le=100_000)]
IncidentStatus = Annotated[Literal["open", "resolved"] | None, Query(description="Only open or only resolved ones.")]
Active = Annotated[bool | None, Query(description="true: only active notices; false: only ended ones.")]
ListSize = Annotated[int, Query(ge=1, le=500)]
CsvSize = Annotated[int, Query(ge=1, le=10_000)]


class CsvResponse(StreamingResponse):
    """A CSV download; as a response class it also tells the OpenAPI document that the answer is text/csv."""

    media_type = "text/csv"


def _csv(body: Iterable[str] | AsyncIterator[str], filename: str) -> CsvResponse:
    return CsvResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _endpoint(request: Request) -> str:
    """The request as the access log names it: method and route template, never the ids in the path."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def _log_read(
    access: AccessLog, request: Request, who: ReaderIdentity, subject: str, what: tuple[str, ...]
) -> None:
    await access.run(record, read_by(who, endpoint=_endpoint(request), subject=subject, what=what))


@router.get(
    "/meta",
    response_model=MetaRead,
    responses=PROBLEMS,
    summary="Today in the utility's time zone (the dashboard's default period)",
)
async def meta(reports: Reports, _: Reader) -> MetaRead:
    return reports.meta()


@router.get(
    "/cases/{ref}",
    response_model=CaseRead,
    response_model_exclude_unset=True,
    responses=LOOKUP_PROBLEMS,
    summary="A case: status, department, deadlines, timeline",
)
async def case(ref: str, request: Request, reports: Reports, who: Reader, access: AccessLog) -> CaseRead:
    found = await reports.case(ref, who)
    if found is None:
        raise NotFound(f"no case {ref!r}")
    mark_case(request, found.complaint_id)
    await _log_read(access, request, who, found.reference_no or ref, reports.personal_fields(who))
    return found


@router.get(
    "/households/lookup",
    response_model=HouseholdLookupRead,
    responses=problem_responses(),
    summary="Find a caller's household by phone, account or address: its cases, open ones first (contact masked)",
)
async def household_lookup(
    request: Request,
    reports: Reports,
    who: Reader,
    access: AccessLog,
    phone: Annotated[str | None, Query(min_length=5, max_length=32, description="Any usual form")] = None,
    account_no: Annotated[
        str | None, Query(min_length=1, max_length=ACCOUNT_NO_MAX_LENGTH, pattern=ACCOUNT_NO_PATTERN)
    ] = None,
    address: Annotated[str | None, Query(min_length=2, max_length=300, description="Part of the address")] = None,
) -> HouseholdLookupRead:
    """An agent on the phone looks the caller up before taking the complaint: the households found by any of the
    keys given, and all their cases (a household is its customer, matched by account, phone or address)."""
    keys = lookup_keys(phone, account_no, address)  # an `InvalidLookup` is answered 422, naming the fields
    found = await reports.household_lookup(keys, department_scope(who))
    # The log names the keys asked, the phone masked: the log itself must not become a list of phone numbers.
    asked = {"phone": phone and mask_phone(phone), "account_no": account_no, "address": address}
    subject = " ".join(f"{k}={v}" for k, v in asked.items() if v)
    await _log_read(access, request, who, subject, reports.personal_fields(who))
    return found


@router.get(
    "/households/{account_no}/cases",
    response_model=HouseholdCasesRead,
    response_model_exclude_unset=True,
    responses=PROBLEMS,
    summary="A household's archive, newest first",
)
async def household(
    account_no: Annotated[str, Path(min_length=1, max_length=ACCOUNT_NO_MAX_LENGTH, pattern=ACCOUNT_NO_PATTERN)],
    request: Request,
    reports: Reports,
    who: Reader,
    access: AccessLog,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HouseholdCasesRead:
    found = await reports.household(account_no, who, department=department_scope(who), page=page, page_size=page_size)
    await _log_read(access, request, who, account_no, reports.personal_fields(who))
    return found


@router.get(
    "/queues", response_model=QueuesRead, responses=PROBLEMS, summary="Open and overdue work orders per department"
)
async def department_queues(reports: Reports, who: Reader) -> QueuesRead:
    """Every department's queue; a department person's own only."""
    return await reports.queues(department_scope(who))


@router.get(
    "/overdue", response_model=OverduePage, responses=PROBLEMS, summary="Open work orders past their resolve deadline"
)
async def overdue(
    reports: Reports,
    who: Reader,
    department: Department | None = None,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> OverduePage:
    """Every department's overdue work orders, or one's; a department person's own only (another's is a 403)."""
    scope = department_asked(who, department.value if department else None)
    return await reports.overdue(scope, page=page, page_size=page_size)


@router.get(
    "/kpis", response_model=KpiReport, responses=PROBLEMS, summary="KPIs of the cases received in a period, grouped"
)
async def kpis(
    reports: Reports, _: Reader, group_by: GroupBy = "department", start: From = None, end: To = None
) -> KpiReport:
    return await reports.kpis(group_by, reports.period(start, end))


@router.get(
    "/hotspots",
    response_model=HotspotsRead,
    responses=PROBLEMS,
    summary="District x category surges against their trailing baseline",
)
async def hotspots(
    reports: Reports,
    _: Reader,
    window_hours: Annotated[int, Query(ge=1, le=24 * 14)] = 24,
    baseline_days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> HotspotsRead:
    return await reports.hotspots(window_hours, baseline_days)


@router.get(
    "/surges",
    response_model=SurgesRead,
    responses=PROBLEMS,
    summary="The surges now: district x category and assets far above their baseline in the alert window",
)
async def surges(reports: Reports, settings: Settings, _: Reader) -> SurgesRead:
    """What the surge gauges on `/metrics` (and the alert rules `ComplaintSurge*`) say now, for the pages that flag
    it to supervisors and managers: the last `HOTSPOT_ALERT_WINDOW_HOURS` against the baseline days before."""
    return await reports.surges(settings.hotspot_alert_window_hours, settings.hotspot_alert_baseline_days)


@router.get(
    "/repeat-complainants",
    response_model=RepeatComplainantsRead,
    responses=PROBLEMS,
    summary="Accounts with many cases in a window",
)
async def repeat_complainants(
    reports: Reports,
    _: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    min_cases: Annotated[int, Query(ge=2, le=100)] = 3,
) -> RepeatComplainantsRead:
    return await reports.repeat_complainants(days, min_cases)


@router.get("/kpis.csv", response_class=CsvResponse, responses=PROBLEMS, summary="KPIs as CSV")
async def kpis_csv(
    reports: Reports, _: Reader, group_by: GroupBy = "department", start: From = None, end: To = None
) -> CsvResponse:
    period = reports.period(start, end)
    report = await reports.kpis(group_by, period)
    return _csv([exports.kpi_csv(report)], exports.kpis_filename(group_by, period))


@router.get(
    "/cases.csv",
    response_class=CsvResponse,
    responses=PROBLEMS,
    summary="Cases received in a period as CSV (streamed)",
)
async def cases_csv(
    request: Request, reports: Reports, who: Reader, access: AccessLog, start: From = None, end: To = None
) -> CsvResponse:
    """Names and phones only for a key whose role is above the lowest reader's (`REPORTING_CONTACT_EXPORT_ROLES`);
    every export is logged, with or without them."""
    period = reports.period(start, end)
    await _log_read(access, request, who, f"{period.first}..{period.last}", reports.personal_fields(who, export=True))
    cases = reports.cases_received(period, who, department_scope(who))
    chunks = exports.csv_chunks(reports.case_export_fields(who), cases)
    return _csv(chunks, exports.cases_filename(period))


@router.get(
    "/reports/incidents",
    response_model=IncidentsPage,
    responses=PROBLEMS,
    summary="Incidents (one fault, many callers): households, ETA, duration, SLA outcome, escalations",
)
async def incidents(
    reports: Reports, _: Reader, status: IncidentStatus = None, page: Page = 1, page_size: ListSize = 50
) -> IncidentsPage:
    return await reports.incidents(status, page=page, page_size=page_size)


@router.get(
    "/reports/outages",
    response_model=OutagesPage,
    responses=PROBLEMS,
    summary="Outage notices: kind, area or asset, status, ETA, complaints linked",
)
async def outages(
    reports: Reports, _: Reader, active: Active = None, page: Page = 1, page_size: ListSize = 50
) -> OutagesPage:
    return await reports.outages(active, page=page, page_size=page_size)


@router.get("/reports/incidents.csv", response_class=CsvResponse, responses=PROBLEMS, summary="Incidents as CSV")
async def incidents_csv(
    reports: Reports, _: Reader, status: IncidentStatus = None, page: Page = 1, page_size: CsvSize = 1000
) -> CsvResponse:
    found = await reports.incidents(status, page=page, page_size=page_size)
    return _csv([exports.models_csv(IncidentRead, found.items)], "incidents.csv")


@router.get("/reports/outages.csv", response_class=CsvResponse, responses=PROBLEMS, summary="Outage notices as CSV")
async def outages_csv(
    reports: Reports, _: Reader, active: Active = None, page: Page = 1, page_size: CsvSize = 1000
) -> CsvResponse:
    found = await reports.outages(active, page=page, page_size=page_size)
    return _csv([exports.models_csv(OutageRead, found.items)], "outages.csv")


@router.get(
    "/reports/serious",
    response_model=SeriousReport,
    responses=PROBLEMS,
    summary="Leadership report: serious and emergency cases, their cause, corrective actions and escalations",
)
async def serious(reports: Reports, who: Reader, start: From = None, end: To = None) -> SeriousReport:
    return await reports.serious(reports.period(start, end), department_scope(who))


@router.get(
    "/reports/serious.csv",
    response_class=CsvResponse,
    responses=PROBLEMS,
    summary="Leadership report as CSV: one line per corrective action (a case without any gets one)",
)
async def serious_csv(reports: Reports, who: Reader, start: From = None, end: To = None) -> CsvResponse:
    period = reports.period(start, end)
    found = await reports.serious(period, department_scope(who))
    return _csv(
        [exports.models_csv(SeriousCsvRow, serious_csv_rows(found.cases))], exports.period_filename("serious", period)
    )


@router.get(
    "/reports/root-causes",
    response_model=RootCausesReport,
    responses=PROBLEMS,
    summary="Root causes of the work orders resolved in a period, per department, asset, district or month",
)
async def root_causes(
    reports: Reports, _: Reader, by: RootCauseBy = "department", start: From = None, end: To = None
) -> RootCausesReport:
    return await reports.root_causes(by, reports.period(start, end))


@router.get("/reports/root-causes.csv", response_class=CsvResponse, responses=PROBLEMS, summary="Root causes as CSV")
async def root_causes_csv(
    reports: Reports, _: Reader, by: RootCauseBy = "department", start: From = None, end: To = None
) -> CsvResponse:
    period = reports.period(start, end)
    found = await reports.root_causes(by, period)
    return _csv([exports.models_csv(RootCauseRow, found.rows)], exports.period_filename(f"root-causes-{by}", period))


@router.get(
    "/reports/staff",
    response_model=StaffReport,
    responses=problem_responses(403),
    summary="Per staff (managers): cases owned, first-contact resolutions, work orders resolved, callbacks done, "
    "satisfaction",
)
async def staff(reports: Reports, _: Manager, start: From = None, end: To = None) -> StaffReport:
    return await reports.staff(reports.period(start, end))


@router.get(
    "/personal-data-reads",
    response_model=PersonalDataReads,
    responses=problem_responses(403),
    summary="Who read customers' personal data here (managers): exports, household archives, lookups, cases",
)
async def personal_data_reads(
    access: AccessLog,
    _: Manager,
    reader: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    since: Annotated[
        str | None, Query(pattern=INSTANT_PATTERN, description="At or after: ISO 8601 with an offset")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PersonalDataReads:
    found = await access.run(reads, Reads(reader, instant("since", since), limit))
    return PersonalDataReads(items=[PersonalDataReadEntry.model_validate(asdict(r)) for r in found])


@router.get(
    "/reports/staff.csv", response_class=CsvResponse, responses=problem_responses(403), summary="Per staff as CSV"
)
async def staff_csv(reports: Reports, _: Manager, start: From = None, end: To = None) -> CsvResponse:
    period = reports.period(start, end)
    found = await reports.staff(period)
    return _csv([exports.models_csv(StaffRow, found.rows)], exports.period_filename("staff", period))
