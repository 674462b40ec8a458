"""What every part of the read models' SQL shares: the schema, a case's columns as the reports show them, the open
work orders of the queues, a department's scope, and `Tables`, the base each part is written on (one schema, over a
pooled connection in a unit of work or over the pool itself for single-statement reads)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast

import asyncpg

from services.reporting.case_state import COUNTERS, TimelineEvent

SCHEMA = "reporting"

#: A row of `cases` as the reports show it: the columns of `CASE_FIELDS`, in that order.
CaseRow = Mapping[str, Any]

CASE_FIELDS = (
    "complaint_id",
    "reference_no",
    "account_no",
    "channel",
    "district",
    "address",
    "category",
    "department",
    "severity",
    "priority",
    "status",
    "cycle",
    "work_order_id",
    "work_order_status",
    "acknowledge_by",
    "resolve_by",
    "linked_to",
    "incident_id",
    "outage_id",
    "eta",
    "asset_type",
    "asset_id",
    "reopen_count",
    "escalation_level",
    "accepted_at",
    "first_resolved_at",
    "closed_at",
    "close_outcome",
    "name_masked",
    "phone_masked",
    "text",
    "owner",
    "invalid",
    "invalid_reason",
    "resolved_on_contact",
    "handled_on_contact",
    "customer_agitated",
    "due_at",
    "root_cause",
    "root_cause_zh",
    "root_cause_en",
    "root_cause_note",
    "owner_name",
    "received_at",
)

CASE_SELECT = ", ".join(f"c.{f}" for f in CASE_FIELDS)

#: A work order of a case as the queues show it: the case's fields, with the work order's own department, status
#: and resolve deadline (an acknowledge deadline is on record only for the case's current lead), its role and lead.
_WORK_ORDER_OWN = {
    "department": "w.department",
    "work_order_id": "w.work_order_id",
    "work_order_status": "w.status",
    "resolve_by": "w.resolve_by",
    "acknowledge_by": "CASE WHEN w.work_order_id = c.work_order_id THEN c.acknowledge_by END",
}

_WORK_ORDER_SELECT = ", ".join(
    [
        *(f"{_WORK_ORDER_OWN[f]} AS {f}" if f in _WORK_ORDER_OWN else f"c.{f}" for f in CASE_FIELDS),
        "w.role",
        "w.lead_work_order_id",
    ]
)

#: An incident's own work order in the same shape (`kind` tells them apart): no customer, no channel, its
#: compound as the address, its description as the text. Untyped NULLs take the case columns' types in the UNION.
_INCIDENT_OWN = {
    "complaint_id": "i.incident_id",
    "reference_no": "i.reference_no",
    "district": "i.district",
    "address": "i.compound",
    "category": "i.category",
    "department": "i.department",
    "severity": "i.severity",
    "status": "i.status",
    "cycle": "1",
    "work_order_id": "i.work_order_id",
    "work_order_status": "i.work_order_status",
    "resolve_by": "i.resolve_by",
    "incident_id": "i.incident_id",
    "eta": "i.eta",
    "asset_type": "i.asset_type",
    "asset_id": "i.asset_id",
    "reopen_count": "0",
    "escalation_level": "i.escalation_level",
    "accepted_at": "i.opened_at",
    "text": "i.description",
    "invalid": "false",
    "resolved_on_contact": "false",
    "customer_agitated": "false",
    "due_at": "i.resolve_by",
    "root_cause": "i.root_cause",
}

_INCIDENT_WORK_ORDER_SELECT = ", ".join(
    [*(f"{_INCIDENT_OWN.get(f, 'NULL')} AS {f}" for f in CASE_FIELDS), "'lead' AS role", "NULL AS lead_work_order_id"]
)

#: Every open work order a department holds: the cases' (leads and assisting parts) and the incidents' own.
OPEN_WORK_ORDERS = (
    f"SELECT {_WORK_ORDER_SELECT}, 'case' AS kind FROM {{schema}}.work_orders w "
    f"JOIN {{schema}}.cases c USING (complaint_id) WHERE w.status = ANY($1::text[]) "
    f"UNION ALL SELECT {_INCIDENT_WORK_ORDER_SELECT}, 'incident' FROM {{schema}}.incidents i "
    "WHERE i.work_order_status = ANY($1::text[])"
)


def of_department(param: str, schema: str) -> str:
    """A case is a department's when it is its department's, or one of its work orders (a coordinated case's
    assisting part) is; the parameter NULL means every department's."""
    return (
        f"({param}::text IS NULL OR c.department = {param} OR EXISTS (SELECT 1 FROM {schema}.work_orders w "
        f"WHERE w.complaint_id = c.complaint_id AND w.department = {param}))"
    )


SUMMED = (*COUNTERS, "handling_ms")


class Tables:
    """The read models of one schema (`reporting`, or a side-by-side rebuild's), over a connection or the pool."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, schema: str = SCHEMA) -> None:
        self.conn = conn
        self.schema = schema

    async def timelines(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TimelineEvent]]:
        found: dict[uuid.UUID, list[TimelineEvent]] = defaultdict(list)
        for r in await self._fetch(
            f"SELECT complaint_id, event_id, event_type, occurred_at, payload FROM {self.schema}.timeline "
            "WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        ):
            found[r["complaint_id"]].append(
                TimelineEvent(str(r["event_id"]), r["event_type"], r["occurred_at"], r["payload"])
            )
        return found

    async def _fetch(self, query: str, *args: Any) -> list[Mapping[str, Any]]:
        """Rows read by column name (asyncpg's records are mappings in all but their stubs)."""
        return cast(list[Mapping[str, Any]], await self.conn.fetch(query, *args))

    async def _fetchrow(self, query: str, *args: Any) -> Mapping[str, Any] | None:
        return cast(Mapping[str, Any] | None, await self.conn.fetchrow(query, *args))
