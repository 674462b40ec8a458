"""What the reports read (`ReportQueries`), as `views.ReportViews` takes it: the read models on the pool, or a
snapshot's in a transaction never committed (the streamed export)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import Any, Literal, Protocol

from services.reporting.case_state import TimelineEvent
from services.reporting.kpis import IncidentSums, KpiGroup
from services.reporting.model import AreaCounts, AssetCounts, Contact, GroupBy
from services.reporting.repository.sql import CaseRow
from services.reporting.timeliness import DueSums


class ReportQueries(Protocol):
    """What the reports read."""

    async def case_by_reference(self, reference_no: str) -> CaseRow | None: ...

    async def case_by_id(self, complaint_id: uuid.UUID) -> CaseRow | None: ...

    async def timeline(self, complaint_id: uuid.UUID) -> list[Mapping[str, Any]]: ...

    async def contacts(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]: ...

    async def household(
        self, account_no: str, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]: ...

    async def overdue(
        self, now: datetime, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]: ...

    async def queues(self, now: datetime) -> list[Mapping[str, Any]]: ...

    async def kpi_groups(self, group_by: GroupBy, first: date, last: date) -> list[KpiGroup]: ...

    async def kpi_total(self, first: date, last: date) -> KpiGroup: ...

    async def ack_overdue(
        self, group_by: GroupBy | Literal["total"], since: datetime, until: datetime, now: datetime
    ) -> dict[str, int]: ...

    async def area_counts(
        self, baseline_start: datetime, window_start: datetime, now: datetime
    ) -> list[AreaCounts]: ...

    async def asset_counts(
        self, baseline_start: datetime, window_start: datetime, now: datetime
    ) -> list[AssetCounts]: ...

    async def repeat_complainants(self, since: datetime, min_cases: int) -> list[Mapping[str, Any]]: ...

    async def incidents(
        self, status: str | None, *, limit: int, offset: int
    ) -> tuple[list[Mapping[str, Any]], int]: ...

    async def outages(self, status: str | None, *, limit: int, offset: int) -> tuple[list[Mapping[str, Any]], int]: ...

    async def incident_groups(self, group_by: GroupBy, first: date, last: date) -> dict[str, IncidentSums]: ...

    async def incident_total(self, first: date, last: date) -> IncidentSums: ...

    def cases_accepted_between(
        self, since: datetime, until: datetime, *, department: str | None = None, batch_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]: ...

    async def count_cases(self) -> int: ...

    async def due_groups(
        self, group_by: GroupBy, since: datetime, until: datetime, now: datetime, timezone: str
    ) -> dict[str, DueSums]: ...

    async def due_total(self, since: datetime, until: datetime, now: datetime) -> DueSums: ...

    async def case_handling(self, complaint_id: uuid.UUID) -> Mapping[str, Any] | None: ...

    async def work_orders(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def callbacks(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def corrective_actions(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def messages(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]: ...

    async def serious_cases(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]: ...

    async def serious_incidents(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]: ...

    async def timelines(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TimelineEvent]]: ...

    async def root_causes(
        self, by: str, since: datetime, until: datetime, timezone: str
    ) -> list[Mapping[str, Any]]: ...

    async def staff_cases(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def staff_callbacks(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def staff_satisfaction(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def staff_resolutions(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]: ...

    async def household_lookup(
        self,
        *,
        phone: str | None,
        account_no: str | None,
        address: str | None,
        department: str | None = None,
        limit: int,
    ) -> tuple[list[CaseRow], int]: ...
