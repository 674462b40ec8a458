"""Dispatch's domain types: a case, its work orders, who acts on them, and the one department access rule.

Plain frozen values with no I/O, so handlers, routing and tests share them. The rows of `dispatch.cases` and
`dispatch.work_orders` map one to one onto `Case` and `WorkOrder` (the repository builds them by column name).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department


class NotFound(Exception):
    """No such work order or complaint (or none this actor may see)."""


class Forbidden(Exception):
    """The actor may not act on this department's work."""


class Conflict(Exception):
    """The request contradicts the case's state (e.g. reclassifying a closed case)."""


@dataclass(frozen=True)
class Case:
    """Dispatch's own record of a complaint: what it needs to classify, detect repeats and re-route."""

    complaint_id: uuid.UUID
    reference_no: str
    account_no: str | None
    channel: str
    district: str
    text: str
    location: dict[str, Any]
    customer: dict[str, Any]
    category_hint: str | None
    accepted_at: datetime
    category: str
    severity: str
    valid: bool
    invalid_reason: str | None
    reasons: list[str]
    #: The classifier's score per category: the ranking a returned work order is re-routed by.
    scores: dict[str, float]
    linked_to: uuid.UUID | None
    cycle: int
    correlation_id: str


@dataclass(frozen=True)
class WorkOrder:
    """One department's assignment for one cycle of a case, with its deadlines and outcome."""

    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    cycle: int
    department: str
    status: str
    category: str
    severity: str
    priority: int
    starts_at: datetime
    acknowledge_by: datetime
    on_site_by: datetime | None
    resolve_by: datetime
    interim_reply_by: datetime | None
    callback_limit: str
    policy_id: str
    previous_work_order_id: uuid.UUID | None
    resolution: str | None
    root_cause: str | None
    closing_reason: str | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class WorkOrderView:
    """A work order with its audit trail, as a department or supervisor reads it."""

    order: WorkOrder
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class Actor:
    """Who acts: a department's staff or system, or a supervisor."""

    name: str
    department: Department | None = None
    supervisor: bool = False

    def may_handle(self, department: str) -> bool:
        """The access rule, for HTTP and the ingress topic alike: a department sees and acts on its own
        work orders and queue only; a supervisor on every department's."""
        return self.supervisor or (self.department is not None and self.department == department)


@dataclass(frozen=True)
class Step:
    """A department's action on a work order, from HTTP or the ingress topic."""

    action: Action
    note: str | None = None
    resolution: str | None = None
    root_cause: str | None = None
    reason: str | None = None
    suggested_department: Department | None = None
