"""The reads of the handling rules' reports: serious cases and incidents (leadership), root causes, per staff."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.reporting.case_parts import REACHED, SCORES
from services.reporting.repository.sql import CASE_SELECT, Tables, of_department

#: The key of a root-cause group per `by`; by month the local month it was resolved in (`$3`, the time zone).
_ROOT_CAUSE_KEYS: dict[str, str] = {
    "department": "w.department",
    "asset": "CASE WHEN c.asset_id IS NULL THEN NULL ELSE c.asset_type || ':' || c.asset_id END",
    "district": "c.district",
    "month": "to_char(w.resolved_at AT TIME ZONE $3, 'YYYY-MM')",
}


class HandlingReads(Tables):
    """What the serious-case, root-cause and per-staff reports read."""

    async def serious_cases(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]:
        """Serious and emergency cases accepted in [since, until) (only a department's, when given), oldest first."""
        return await self._fetch(
            f"SELECT {CASE_SELECT}, c.cause_analysis, c.escalations FROM {self.schema}.cases c "
            "WHERE c.severity IN ('serious', 'emergency') AND c.accepted_at >= $1 AND c.accepted_at < $2 "
            f"AND {of_department('$3', self.schema)} ORDER BY c.accepted_at, c.complaint_id",
            since,
            until,
            department,
        )

    async def serious_incidents(
        self, since: datetime, until: datetime, department: str | None = None
    ) -> list[Mapping[str, Any]]:
        """Serious and emergency incidents opened in [since, until) (only a department's, when given), oldest first
        (their handling is derived from their timelines: `incident_handling`)."""
        return await self._fetch(
            f"SELECT * FROM {self.schema}.incidents "
            "WHERE severity IN ('serious', 'emergency') AND opened_at >= $1 AND opened_at < $2 "
            "AND ($3::text IS NULL OR department = $3) ORDER BY opened_at, incident_id",
            since,
            until,
            department,
        )

    async def root_causes(self, by: str, since: datetime, until: datetime, timezone: str) -> list[Mapping[str, Any]]:
        """Work orders resolved in [since, until) per group of `by` and root-cause code, the most frequent first."""
        key = _ROOT_CAUSE_KEYS[by]
        return await self._fetch(
            f"SELECT {key} AS key, w.root_cause AS code, max(w.root_cause_zh) AS label_zh, "
            "max(w.root_cause_en) AS label_en, count(*) AS count "
            f"FROM {self.schema}.work_orders w JOIN {self.schema}.cases c USING (complaint_id) "
            "WHERE w.root_cause IS NOT NULL AND w.resolved_at >= $1 AND w.resolved_at < $2 "
            "GROUP BY 1, 2 ORDER BY 1 NULLS LAST, count(*) DESC, 2",
            since,
            until,
            *([timezone] if by == "month" else []),  # $3, only where the key needs it
        )

    async def staff_cases(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per owner: the cases accepted in [since, until) they own, and how many they settled at first contact
        (with the owner's display name, when an event gave it)."""
        return await self._fetch(
            "SELECT owner AS staff_id, max(owner_name) AS staff_name, count(*) AS cases_owned, "
            "count(*) FILTER (WHERE resolved_on_contact) AS first_contact_resolutions "
            f"FROM {self.schema}.cases WHERE owner IS NOT NULL AND accepted_at >= $1 AND accepted_at < $2 "
            "GROUP BY owner",
            since,
            until,
        )

    async def staff_callbacks(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per agent: callbacks that reached the customer by their attempt in [since, until)."""
        return await self._fetch(
            f"SELECT agent AS staff_id, max(agent_name) AS staff_name, count(*) AS callbacks_done "
            f"FROM {self.schema}.callbacks "
            "WHERE outcome = ANY($3::text[]) AND last_attempt_at >= $1 AND last_attempt_at < $2 GROUP BY agent",
            since,
            until,
            list(REACHED),
        )

    async def staff_satisfaction(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per owner: the final callbacks of their cases accepted in [since, until), by outcome, and the survey."""
        scores = ", ".join(f"sum(b.score_{n}) AS score_{n}_sum, count(b.score_{n}) AS score_{n}_n" for n in SCORES)
        return await self._fetch(
            "SELECT c.owner AS staff_id, "
            "count(*) FILTER (WHERE b.outcome = 'satisfied') AS satisfied, "
            "count(*) FILTER (WHERE b.outcome = 'dissatisfied') AS dissatisfied, "
            f"count(*) FILTER (WHERE b.outcome = 'unreachable') AS unreachable, {scores} "
            f"FROM {self.schema}.callbacks b JOIN {self.schema}.cases c USING (complaint_id) "
            "WHERE b.final AND c.owner IS NOT NULL AND c.accepted_at >= $1 AND c.accepted_at < $2 GROUP BY c.owner",
            since,
            until,
        )

    async def staff_resolutions(self, since: datetime, until: datetime) -> list[Mapping[str, Any]]:
        """Per actor: the work orders they resolved in [since, until); `person` when an event named them as a
        person (a display name other than the id: dispatch names a credential after itself)."""
        person = "resolved_by_name IS NOT NULL AND resolved_by_name <> resolved_by"
        return await self._fetch(
            f"SELECT resolved_by AS staff_id, max(resolved_by_name) FILTER (WHERE {person}) AS staff_name, "
            f"bool_or({person}) AS person, count(*) AS work_orders_resolved FROM {self.schema}.work_orders "
            "WHERE resolved_by IS NOT NULL AND resolved_at >= $1 AND resolved_at < $2 GROUP BY resolved_by",
            since,
            until,
        )
