"""The read side: what each report answers, from the read models and the rules in `model` and `kpis`.

Routes hand over what they decoded and answer what comes back. Who sees customers' real contact data is
decided here, once, for every report that shows cases.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.reporting.kpis import kpi_figures
from services.reporting.model import GroupBy, HotspotRules, Period, overdue_minutes, reporting_period, score_hotspots
from services.reporting.repository import CASE_FIELDS, CaseRow, ReportQueries
from services.reporting.schemas import (
    CaseRead,
    CaseSummary,
    DepartmentQueue,
    HotspotRead,
    HotspotsRead,
    HouseholdCasesRead,
    KpiReport,
    KpiRow,
    MetaRead,
    OverdueCase,
    OverduePage,
    QueuesRead,
    RepeatComplainant,
    RepeatComplainantsRead,
    TimelineEntryRead,
)
from services.reporting.settings import ReaderCredential, Role
from shared.db import Transactions

#: Rows fetched and written per chunk of a streamed CSV export.
EXPORT_BATCH = 500
#: Reference numbers look like TS-20261123-000042; anything else is looked up as a complaint id.
REFERENCE_PREFIX = "TS-"


@dataclass(frozen=True)
class ReportViews:
    """Every report, over the read models (`queries`, on the pool) and read-only snapshots (`snapshots`:
    a transaction that is never committed, for the streamed export's cursor)."""

    queries: ReportQueries
    snapshots: Transactions[ReportQueries]
    clock: Callable[[], datetime]
    timezone: ZoneInfo
    contact_roles: frozenset[Role]
    hotspot_rules: HotspotRules

    def shows_contacts(self, who: ReaderCredential) -> bool:
        """Masked contact data for everyone; the real one only for roles allowed to see it."""
        return who.role in self.contact_roles

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    def period(self, start: date | None, end: date | None) -> Period:
        """The period a report covers, counted from today in the utility's time zone; raises `InvalidPeriod`."""
        return reporting_period(self.today(), start, end)

    def meta(self) -> MetaRead:
        return MetaRead(today=self.today(), timezone=str(self.timezone))

    async def case(self, ref: str, who: ReaderCredential) -> CaseRead | None:
        found = await self._find_case(ref)
        if found is None:
            return None
        complaint_id = found["complaint_id"]
        (summary,) = await self._summaries([found], who)
        # Timeline payloads come from the public topics, whose contact data is already masked.
        timeline = [TimelineEntryRead.model_validate(dict(e)) for e in await self.queries.timeline(complaint_id)]
        return CaseRead(**_set_fields(summary), timeline=timeline)

    async def household(
        self, account_no: str, who: ReaderCredential, *, page: int, page_size: int
    ) -> HouseholdCasesRead:
        rows, total = await self.queries.household(account_no, limit=page_size, offset=(page - 1) * page_size)
        items = await self._summaries(rows, who)
        return HouseholdCasesRead(account_no=account_no, items=items, page=page, page_size=page_size, total=total)

    async def queues(self) -> QueuesRead:
        rows = await self.queries.queues(self.clock())
        return QueuesRead(departments=[DepartmentQueue.model_validate(dict(r)) for r in rows])

    async def overdue(self, department: str | None, *, page: int, page_size: int) -> OverduePage:
        now = self.clock()
        rows, total = await self.queries.overdue(
            now, department=department, limit=page_size, offset=(page - 1) * page_size
        )
        items = [OverdueCase(**dict(r), overdue_minutes=overdue_minutes(now, r["resolve_by"])) for r in rows]
        return OverduePage(items=items, total=total, page=page, page_size=page_size)

    async def kpis(self, group_by: GroupBy, period: Period) -> KpiReport:
        """KPIs of the cases received in the period (local days), grouped, with the period's totals."""
        groups = await self.queries.kpi_groups(group_by, period.first, period.last)
        total = await self.queries.kpi_total(period.first, period.last)
        return KpiReport(
            from_=period.first,
            to=period.last,
            group_by=group_by,
            rows=[KpiRow.model_validate(kpi_figures(g)) for g in groups],
            totals=KpiRow.model_validate(kpi_figures(total)),
        )

    async def hotspots(self, window_hours: int, baseline_days: int) -> HotspotsRead:
        """District x category counts in the last `window_hours` against the average window of the
        `baseline_days` before it."""
        now = self.clock()
        window_start = now - timedelta(hours=window_hours)
        counts = await self.queries.area_counts(window_start - timedelta(days=baseline_days), window_start, now)
        found = score_hotspots(counts, window_hours=window_hours, baseline_days=baseline_days, rules=self.hotspot_rules)
        return HotspotsRead(
            window_hours=window_hours,
            baseline_days=baseline_days,
            rows=[HotspotRead.model_validate(h) for h in found],
        )

    async def repeat_complainants(self, days: int, min_cases: int) -> RepeatComplainantsRead:
        rows = await self.queries.repeat_complainants(self.clock() - timedelta(days=days), min_cases)
        return RepeatComplainantsRead(
            days=days, min_cases=min_cases, rows=[RepeatComplainant.model_validate(dict(r)) for r in rows]
        )

    def case_export_fields(self, who: ReaderCredential) -> list[str]:
        return [*CASE_FIELDS, *(["name", "phone"] if self.shows_contacts(who) else [])]

    async def cases_received(self, period: Period, who: ReaderCredential) -> AsyncIterator[list[dict[str, Any]]]:
        """The cases accepted in the period (local days), oldest first, in batches, all from one snapshot;
        with real contact data (None when unknown) for roles allowed to see it."""
        since = datetime.combine(period.first, time(0), self.timezone)
        until = datetime.combine(period.last + timedelta(days=1), time(0), self.timezone)
        show_contacts = self.shows_contacts(who)
        async with self.snapshots() as snapshot:
            async for batch in snapshot.repo.cases_accepted_between(since, until, batch_size=EXPORT_BATCH):
                if show_contacts:
                    contacts = await snapshot.repo.contacts([row["complaint_id"] for row in batch])
                    for row in batch:
                        contact = contacts.get(row["complaint_id"])
                        row["name"], row["phone"] = (contact.name, contact.phone) if contact else (None, None)
                yield batch

    async def _find_case(self, ref: str) -> CaseRow | None:
        if ref.startswith(REFERENCE_PREFIX):
            return await self.queries.case_by_reference(ref)
        try:
            complaint_id = uuid.UUID(ref)
        except ValueError:
            return None
        return await self.queries.case_by_id(complaint_id)

    async def _summaries(self, rows: list[CaseRow], who: ReaderCredential) -> list[CaseSummary]:
        """Cases as a reader may see them: a case with no contact on record shows none (not null)."""
        if not self.shows_contacts(who) or not rows:
            return [CaseSummary.model_validate(dict(r)) for r in rows]
        contacts = await self.queries.contacts([r["complaint_id"] for r in rows])
        summaries = []
        for row in rows:
            contact = contacts.get(row["complaint_id"])
            extra = {"name": contact.name, "phone": contact.phone} if contact else {}
            summaries.append(CaseSummary.model_validate(dict(row) | extra))
        return summaries


def _set_fields(model: CaseSummary) -> Mapping[str, Any]:
    """The fields explicitly set, so a copy into a wider model leaves out what the original left out."""
    return {name: getattr(model, name) for name in model.model_fields_set}
