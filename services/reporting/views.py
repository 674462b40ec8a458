"""The read side: what each report answers, from the read models and the rules in `model` and `kpis`.

Routes hand over what they decoded and answer what comes back. Who sees customers' real contact data is
decided here, once, for every report that shows cases.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.reporting.actors import person_names, step_actor
from services.reporting.case_parts import as_datetime, delivery_order
from services.reporting.handling_reports import (
    corrective_action_read,
    escalation_reads,
    serious_case,
    serious_incident,
    staff_rows,
)
from services.reporting.incident_handling import incident_handling
from services.reporting.incident_state import sla_outcome
from services.reporting.kpis import kpi_figures, with_ack_overdue, with_due, with_incidents
from services.reporting.model import (
    INCIDENT_GROUPINGS,
    GroupBy,
    HotspotRules,
    LookupKeys,
    Period,
    overdue_minutes,
    reporting_period,
    score_asset_hotspots,
    score_hotspots,
)
from services.reporting.repository import CASE_FIELDS, CaseRow, ReportQueries
from services.reporting.schemas import (
    AssetHotspotRead,
    CallbackRead,
    CaseRead,
    CaseSummary,
    DepartmentQueue,
    HotspotRead,
    HotspotsRead,
    HouseholdCaseRead,
    HouseholdCasesRead,
    HouseholdLookupRead,
    IncidentRead,
    IncidentsPage,
    KpiReport,
    KpiRow,
    MessageRead,
    MetaRead,
    OutageRead,
    OutagesPage,
    OverdueCase,
    OverduePage,
    QueuesRead,
    RepeatComplainant,
    RepeatComplainantsRead,
    RootCauseBy,
    RootCauseRow,
    RootCausesReport,
    SeriousReport,
    StaffReport,
    SurgeRead,
    SurgesRead,
    TimelineEntryRead,
    WorkOrderRead,
)
from services.reporting.settings import ReaderCredential, Role
from shared.db import Transactions
from shared.http.person import Person
from shared.privacy import mask_name

#: Rows fetched and written per chunk of a streamed CSV export.
EXPORT_BATCH = 500
#: Reference numbers look like TS-20261123-000042; anything else is looked up as a complaint id.
REFERENCE_PREFIX = "TS-"
#: The most cases a household lookup answers with (open ones first).
LOOKUP_LIMIT = 100
#: Who reads: a reader credential, or a signed-in person.
Reader = ReaderCredential | Person


@dataclass(frozen=True)
class ReportViews:
    """Every report, over the read models (`queries`, on the pool) and read-only snapshots (`snapshots`: one
    REPEATABLE READ transaction, never committed, for a report made of several reads and the export's cursor)."""

    queries: ReportQueries
    snapshots: Transactions[ReportQueries]
    clock: Callable[[], datetime]
    timezone: ZoneInfo
    contact_roles: frozenset[Role]
    hotspot_rules: HotspotRules
    #: Credential roles whose cases export carries real names and phones (above the lowest reader: settings).
    contact_export_roles: frozenset[Role] = frozenset({"supervisor"})

    def shows_contacts(self, who: Reader) -> bool:
        """Masked contact data for everyone; the real one only for credential roles allowed to see it — never for a
        person (only dispatch hands real contact data to persons, and logs each read)."""
        return isinstance(who, ReaderCredential) and who.role in self.contact_roles

    def exports_contacts(self, who: Reader) -> bool:
        """Names and phones in the cases export: only for credential roles above the lowest reader, never a
        person."""
        return isinstance(who, ReaderCredential) and who.role in self.contact_export_roles

    def personal_fields(self, who: Reader, *, export: bool = False) -> tuple[str, ...]:
        """What of customers a read shows them (the access log's `what`): the account, address and the case's text
        always; the real name and phone for who may see (or export) them."""
        shown = self.exports_contacts(who) if export else self.shows_contacts(who)
        return ("account_no", "address", "text", *(("name", "phone") if shown else ()))

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    def period(self, start: date | None, end: date | None) -> Period:
        """The period a report covers, counted from today in the utility's time zone; raises `InvalidPeriod`."""
        return reporting_period(self.today(), start, end)

    def meta(self) -> MetaRead:
        return MetaRead(today=self.today(), timezone=str(self.timezone))

    async def case(self, ref: str, who: Reader) -> CaseRead | None:
        found = await self._find_case(ref)
        if found is None:
            return None
        complaint_id = found["complaint_id"]
        (summary,) = await self._summaries([found], who)
        # Timeline payloads come from the public topics, whose contact data is already masked. Each step names who
        # took it; a name one step lacks is the one the same staff id has elsewhere in the case.
        entries = one_line_per_message(await self.queries.timeline(complaint_id))
        names = person_names((e["event_type"], e["payload"]) for e in entries)
        timeline = [_timeline_entry(e, names, masked=not self.shows_contacts(who)) for e in entries]
        handling = await self.queries.case_handling(complaint_id) or {}
        now = self.clock()
        return CaseRead(
            **_set_fields(summary),
            cause_analysis=handling.get("cause_analysis"),
            work_orders=[WorkOrderRead.model_validate(dict(w)) for w in await self.queries.work_orders([complaint_id])],
            callbacks=[CallbackRead.model_validate(dict(b)) for b in await self.queries.callbacks([complaint_id])],
            corrective_actions=[
                corrective_action_read(a, now) for a in await self.queries.corrective_actions([complaint_id])
            ],
            escalations=escalation_reads(handling.get("escalations")),
            messages=[MessageRead.model_validate(dict(m)) for m in await self.queries.messages([complaint_id])],
            timeline=timeline,
        )

    async def household(
        self, account_no: str, who: Reader, *, department: str | None, page: int, page_size: int
    ) -> HouseholdCasesRead:
        """A household's cases; only `department`'s when given (a department person's own)."""
        rows, total = await self.queries.household(
            account_no, department=department, limit=page_size, offset=(page - 1) * page_size
        )
        items = await self._summaries(rows, who)
        return HouseholdCasesRead(account_no=account_no, items=items, page=page, page_size=page_size, total=total)

    async def household_lookup(self, keys: LookupKeys, department: str | None = None) -> HouseholdLookupRead:
        """The households matching a caller's phone, account or address, with their cases: open ones first (only
        `department`'s when given). Contact data masked for everyone (the lookup is a search by phone number)."""
        rows, total = await self.queries.household_lookup(
            phone=keys.phone,
            account_no=keys.account_no,
            address=keys.address,
            department=department,
            limit=LOOKUP_LIMIT,
        )
        items = [
            HouseholdCaseRead.model_validate(dict(r) | {"received_at": r["received_at"] or r["accepted_at"]})
            for r in rows
        ]
        accounts = sorted({r["account_no"] for r in rows if r["account_no"]})
        return HouseholdLookupRead(accounts=accounts, items=items, total=total)

    async def queues(self, department: str | None = None) -> QueuesRead:
        """Every department's queue, or only `department`'s (a department person's own)."""
        rows = [r for r in await self.queries.queues(self.clock()) if department in (None, r["department"])]
        return QueuesRead(departments=[DepartmentQueue.model_validate(dict(r)) for r in rows])

    async def overdue(self, department: str | None, *, page: int, page_size: int) -> OverduePage:
        now = self.clock()
        rows, total = await self.queries.overdue(
            now, department=department, limit=page_size, offset=(page - 1) * page_size
        )
        items = [OverdueCase(**dict(r), overdue_minutes=overdue_minutes(now, r["resolve_by"])) for r in rows]
        return OverduePage(items=items, total=total, page=page, page_size=page_size)

    async def kpis(self, group_by: GroupBy, period: Period) -> KpiReport:
        """KPIs of the cases received in the period (local days), grouped, with the period's totals; and of
        the incidents opened in it, each counted once."""
        since, until = self._bounds(period)
        now = self.clock()
        async with self.snapshots() as snapshot:  # rows and totals from one state, even mid-projection
            q = snapshot.repo
            groups = await q.kpi_groups(group_by, period.first, period.last)
            groups = with_due(groups, await q.due_groups(group_by, since, until, now, str(self.timezone)))
            groups = with_ack_overdue(groups, await q.ack_overdue(group_by, since, until, now))
            if group_by in INCIDENT_GROUPINGS:
                groups = with_incidents(groups, await q.incident_groups(group_by, period.first, period.last))
            total = replace(
                await q.kpi_total(period.first, period.last),
                incidents=await q.incident_total(period.first, period.last),
                due=await q.due_total(since, until, now),
                ack_overdue=(await q.ack_overdue("total", since, until, now)).get("total", 0),
            )
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
        baseline_start = window_start - timedelta(days=baseline_days)
        window: dict[str, Any] = {
            "window_hours": window_hours,
            "baseline_days": baseline_days,
            "rules": self.hotspot_rules,
        }
        areas = score_hotspots(await self.queries.area_counts(baseline_start, window_start, now), **window)
        assets = score_asset_hotspots(await self.queries.asset_counts(baseline_start, window_start, now), **window)
        return HotspotsRead(
            window_hours=window_hours,
            baseline_days=baseline_days,
            rows=[HotspotRead.model_validate(h) for h in areas],
            assets=[AssetHotspotRead.model_validate(h) for h in assets],
        )

    async def surges(self, window_hours: int, baseline_days: int) -> SurgesRead:
        """The areas and assets surging now, as the surge gauges score them (`hotspots` of the alert window)."""
        found = await self.hotspots(window_hours, baseline_days)
        areas = [
            SurgeRead(kind="area", district=h.district, category=h.category, **_surge_figures(h))
            for h in found.rows
            if h.surge
        ]
        assets = [
            SurgeRead(kind="asset", asset_type=h.asset_type, asset_id=h.asset_id, **_surge_figures(h))
            for h in found.assets
            if h.surge
        ]
        return SurgesRead(
            window_hours=window_hours,
            baseline_days=baseline_days,
            checked_at=self.clock(),
            surges=sorted(areas + assets, key=lambda s: (-s.ratio, -s.count)),
        )

    async def incidents(self, status: str | None, *, page: int, page_size: int) -> IncidentsPage:
        """Incidents (open, resolved, or all), the most recently opened first, judged against their deadline now."""
        rows, total = await self.queries.incidents(status, limit=page_size, offset=(page - 1) * page_size)
        now = self.clock()
        return IncidentsPage(items=[incident_read(r, now) for r in rows], total=total, page=page, page_size=page_size)

    async def outages(self, active: bool | None, *, page: int, page_size: int) -> OutagesPage:
        """Outage notices (active, ended, or all), the latest start first."""
        status = None if active is None else ("active" if active else "ended")
        rows, total = await self.queries.outages(status, limit=page_size, offset=(page - 1) * page_size)
        items = [OutageRead.model_validate(dict(r)) for r in rows]
        return OutagesPage(items=items, total=total, page=page, page_size=page_size)

    async def repeat_complainants(self, days: int, min_cases: int) -> RepeatComplainantsRead:
        rows = await self.queries.repeat_complainants(self.clock() - timedelta(days=days), min_cases)
        return RepeatComplainantsRead(
            days=days, min_cases=min_cases, rows=[RepeatComplainant.model_validate(dict(r)) for r in rows]
        )

    async def staff(self, period: Period) -> StaffReport:
        """Per staff id: cases owned, first-contact resolutions, work orders resolved, callbacks done, satisfaction
        (`handling_reports`)."""
        since, until = self._bounds(period)
        rows = staff_rows(
            await self.queries.staff_cases(since, until),
            await self.queries.staff_callbacks(since, until),
            await self.queries.staff_satisfaction(since, until),
            await self.queries.staff_resolutions(since, until),
        )
        return StaffReport(from_=period.first, to=period.last, rows=rows)

    async def serious(self, period: Period, department: str | None = None) -> SeriousReport:
        """The leadership report: every serious or emergency case accepted and incident opened in the period (only
        `department`'s when given), oldest first, with its cause analysis, root cause, corrective actions (overdue
        judged now) and escalations."""
        since, until = self._bounds(period)
        cases = await self.queries.serious_cases(since, until, department)
        actions: dict[uuid.UUID, list[Mapping[str, Any]]] = {}
        for action in await self.queries.corrective_actions([c["complaint_id"] for c in cases]):
            actions.setdefault(action["complaint_id"], []).append(action)
        incidents = await self.queries.serious_incidents(since, until, department)
        timelines = await self.queries.timelines([i["incident_id"] for i in incidents])
        now = self.clock()
        found = [serious_case(c, actions.get(c["complaint_id"], []), now) for c in cases]
        for i in incidents:
            events = timelines.get(i["incident_id"], [])
            handling = incident_handling(str(i["incident_id"]), str(i["work_order_id"]), events)
            found.append(serious_incident(i, handling, now))
        # Oldest first, cases and incidents together (one not yet timed last), then by id: a stable order.
        found.sort(key=lambda r: (r.accepted_at is None, r.accepted_at or now, str(r.complaint_id)))
        return SeriousReport(from_=period.first, to=period.last, cases=found)

    async def root_causes(self, by: RootCauseBy, period: Period) -> RootCausesReport:
        """Work orders resolved in the period, counted per group of `by` and root-cause code."""
        since, until = self._bounds(period)
        rows = await self.queries.root_causes(by, since, until, str(self.timezone))
        return RootCausesReport(
            from_=period.first, to=period.last, by=by, rows=[RootCauseRow.model_validate(dict(r)) for r in rows]
        )

    def _bounds(self, period: Period) -> tuple[datetime, datetime]:
        """The period's local days as [since, until) instants."""
        since = datetime.combine(period.first, time(0), self.timezone)
        return since, datetime.combine(period.last + timedelta(days=1), time(0), self.timezone)

    def case_export_fields(self, who: Reader) -> list[str]:
        return [*CASE_FIELDS, *(["name", "phone"] if self.exports_contacts(who) else [])]

    async def cases_received(
        self, period: Period, who: Reader, department: str | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The cases accepted in the period (local days; only `department`'s when given), oldest first, in batches,
        all from one snapshot; with real contact data (None when unknown) for roles allowed to see it."""
        since, until = self._bounds(period)
        show_contacts = self.exports_contacts(who)
        async with self.snapshots() as snapshot:
            async for batch in snapshot.repo.cases_accepted_between(
                since, until, department=department, batch_size=EXPORT_BATCH
            ):
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

    async def _summaries(self, rows: list[CaseRow], who: Reader) -> list[CaseSummary]:
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


def incident_read(row: Mapping[str, Any], now: datetime) -> IncidentRead:
    """An incident row as answered: its age (or how long it took) and its SLA outcome at `now`."""
    opened_at, resolved_at = row["opened_at"], row["resolved_at"]
    duration = int(((resolved_at or now) - opened_at).total_seconds() // 60) if opened_at else None
    return IncidentRead.model_validate(
        dict(row) | {"duration_minutes": duration, "sla_outcome": sla_outcome(now, row["resolve_by"], resolved_at)}
    )


def one_line_per_message(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The timeline as an agent reads it: each message once, where it was requested, with its latest status —
    not its queued, sent and delivered reports one by one (three lines that say one thing; the history stays in
    the stored timeline and in notify's deliveries). Which report is the latest: `case_parts.delivery_order`, the
    rule the messages table is derived by."""
    latest: dict[str, Mapping[str, Any]] = {}
    steps: list[Mapping[str, Any]] = []
    for entry in entries:
        if entry["event_type"] != "notification.delivery":
            steps.append(entry)
            continue
        key = entry["payload"]["notification_id"]
        if key not in latest or delivery_order(entry["payload"]) > delivery_order(latest[key]["payload"]):
            latest[key] = entry
    lines = [dict(e) | {"occurred_at": as_datetime(e["payload"]["requested_at"])} for e in latest.values()]
    return sorted([*steps, *lines], key=lambda e: (e["occurred_at"], str(e["event_id"])))


def _timeline_entry(entry: Mapping[str, Any], names: Mapping[str, str], *, masked: bool) -> TimelineEntryRead:
    """A step as the reader sees it: who took it, and the payload as published — except the name a customer gave
    the crew on accepting the work (`workorder.resolved` v3), masked like all contact data for who may not see it."""
    payload = entry["payload"]
    actor = step_actor(entry["event_type"], payload, names)
    acceptance = payload.get("acceptance") if entry["event_type"] == "workorder.resolved" else None
    if masked and isinstance(acceptance, dict) and acceptance.get("customer_name"):
        payload = {**payload, "acceptance": {**acceptance, "customer_name": mask_name(acceptance["customer_name"])}}
    return TimelineEntryRead.model_validate(
        dict(entry) | {"payload": payload, "actor": actor.id, "actor_name": actor.name}
    )


def _set_fields(model: CaseSummary) -> Mapping[str, Any]:
    """The fields explicitly set, so a copy into a wider model leaves out what the original left out."""
    return {name: getattr(model, name) for name in model.model_fields_set}


def _surge_figures(hotspot: HotspotRead | AssetHotspotRead) -> dict[str, Any]:
    return {
        "count": hotspot.count,
        "baseline": hotspot.baseline,
        "ratio": hotspot.ratio,
        "since": hotspot.since,
    }
