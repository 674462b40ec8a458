"""What dispatch does: route received complaints, open new cycles on reopening, and move work orders
through their lifecycle for departments and supervisors. HTTP routes and Kafka subscribers are thin
callers of these; each call is one transaction that writes the state and its events (outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.dispatch import messages
from services.dispatch.classification import ComplaintFacts, Rules, classify
from services.dispatch.workorders import repository as repo
from services.dispatch.workorders.lifecycle import Action, next_status
from services.dispatch.workorders.repository import Case, WorkOrder
from shared import outbox
from shared.contracts import (
    Category,
    ComplaintReceived,
    ComplaintReopened,
    Department,
    Event,
    Severity,
    WorkOrderStatus,
)
from shared.db import unit_of_work
from shared.idempotency import first_delivery
from shared.logging import bind_case, get_logger
from shared.sla import SlaTable

SCHEMA = "dispatch"
log = get_logger(__name__)

PRIORITY = {Severity.EMERGENCY: 1, Severity.SERIOUS: 2, Severity.NORMAL: 3}
_RAISED = {
    Severity.NORMAL: Severity.SERIOUS,
    Severity.SERIOUS: Severity.EMERGENCY,
    Severity.EMERGENCY: Severity.EMERGENCY,
}
_RANK = {Severity.NORMAL: 0, Severity.SERIOUS: 1, Severity.EMERGENCY: 2}


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


class Conflict(Exception):
    """The request contradicts the case's state (e.g. reclassifying a closed case)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a department's staff or system (only on its own work orders), or a supervisor."""

    name: str
    department: Department | None = None
    supervisor: bool = False


@dataclass(frozen=True)
class Step:
    """A department's action on a work order, from HTTP or the ingress topic."""

    action: Action
    note: str | None = None
    resolution: str | None = None
    root_cause: str | None = None
    reason: str | None = None
    suggested_department: Department | None = None


@dataclass
class Dispatcher:
    pool: asyncpg.Pool
    rules: Rules
    sla: SlaTable
    sla_scale: float = 1.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # --- routing ------------------------------------------------------------------------------

    async def route_received(self, events: list[ComplaintReceived]) -> None:
        """Classify and route a batch of received complaints in one transaction, idempotently."""
        async with unit_of_work(self.pool) as uow:
            conn = uow.conn
            await repo.lock_accounts(
                conn, [e.payload.customer.account_no for e in events if e.payload.customer.account_no]
            )
            outgoing: list[Event] = []
            for event in events:
                if not await first_delivery(conn, SCHEMA, "dispatch.complaint-received", event.event_id):
                    continue
                if await repo.get_case(conn, event.complaint_id) is not None:
                    continue  # the same complaint republished under a new event id: already routed
                outgoing += await self._route_one(conn, event)
            await outbox.add(conn, SCHEMA, outgoing)
            uow.commit()

    async def _route_one(self, conn: asyncpg.Connection, event: ComplaintReceived) -> list[Event]:
        p = event.payload
        bind_case(complaint_id=str(p.complaint_id), correlation_id=event.correlation_id)
        account = p.customer.account_no
        history: dict[str, int] = {}
        if account:
            since = p.accepted_at - timedelta(days=self.rules.repeat.window_days)
            history = await repo.category_counts(conn, account, since)
        decision = classify(
            ComplaintFacts(
                text=p.text,
                channel=p.channel.value,
                category_hint=p.category_hint.value if p.category_hint else None,
                history=history,
            ),
            self.rules,
        )
        reasons = list(decision.reasons)
        case = Case(
            complaint_id=p.complaint_id,
            reference_no=p.reference_no,
            account_no=account,
            channel=p.channel.value,
            district=p.location.district,
            text=p.text,
            location=p.location.model_dump(mode="json"),
            customer=p.customer.model_dump(mode="json"),
            category_hint=p.category_hint.value if p.category_hint else None,
            accepted_at=p.accepted_at,
            category=decision.category.value,
            severity=decision.severity.value,
            valid=decision.valid,
            invalid_reason=decision.invalid_reason,
            reasons=reasons,
            scores={k: float(v) for k, v in decision.scores.items()},
            linked_to=None,
            cycle=1,
            correlation_id=event.correlation_id,
        )
        now = self.clock()
        duplicate_of = await repo.open_work_order_for_account(conn, account, case.category) if account else None
        if duplicate_of is not None:
            case = replace(case, linked_to=duplicate_of.complaint_id)
            reasons = [
                *reasons,
                f"duplicate: work order {duplicate_of.work_order_id} for this account and category is open",
            ]
        await repo.insert_case(conn, case)
        await repo.add_classification(
            conn,
            complaint_id=case.complaint_id,
            category=case.category,
            severity=case.severity,
            actor="dispatch",
            reason=None,
            reasons=reasons,
            at=now,
        )
        if duplicate_of is not None:
            log.info("complaint linked to an open case", linked_to=str(duplicate_of.complaint_id))
            return [messages.linked(case, duplicate_of, reasons, event.event_id, now)]
        order = await self._open_work_order(
            conn,
            case,
            category=Category(case.category),
            severity=Severity(case.severity),
            department=Department(decision.department.value),
            cycle=1,
            start=p.accepted_at,
            previous=None,
            actor="dispatch",
            at=now,
        )
        log.info("complaint routed", department=order.department, category=order.category, severity=order.severity)
        return messages.routed(case, order, reasons, "new", event.event_id, now)

    async def _open_work_order(
        self,
        conn: asyncpg.Connection,
        case: Case,
        *,
        category: Category,
        severity: Severity,
        department: Department,
        cycle: int,
        start: datetime,
        previous: WorkOrder | None,
        actor: str,
        at: datetime,
    ) -> WorkOrder:
        policy = self.sla.policy_for(category.value, severity.value, start)
        deadlines = self.sla.deadlines(policy, start, channel=case.channel, scale=self.sla_scale)
        order = WorkOrder(
            work_order_id=uuid.uuid4(),
            complaint_id=case.complaint_id,
            cycle=cycle,
            department=department.value,
            status="assigned",
            category=category.value,
            severity=severity.value,
            priority=PRIORITY[severity],
            starts_at=start,
            acknowledge_by=deadlines.acknowledge_by,
            on_site_by=deadlines.on_site_by,
            resolve_by=deadlines.resolve_by,
            interim_reply_by=deadlines.interim_reply_by,
            callback_limit=deadlines.callback_limit,
            policy_id=policy.policy_id,
            previous_work_order_id=previous.work_order_id if previous else None,
            resolution=None,
            root_cause=None,
            closing_reason=None,
            created_at=at,
            updated_at=at,
            acknowledged_at=None,
            started_at=None,
            resolved_at=None,
        )
        await repo.insert_work_order(conn, order)
        await repo.add_history(
            conn,
            work_order_id=order.work_order_id,
            action="assign",
            from_status=None,
            to_status="assigned",
            actor=actor,
            details={"department": department.value},
            at=at,
        )
        return order

    async def reopen(self, events: list[ComplaintReopened]) -> None:
        """A dissatisfied customer: a new work-order cycle with raised severity."""
        async with unit_of_work(self.pool) as uow:
            conn = uow.conn
            outgoing: list[Event] = []
            for event in events:
                if not await first_delivery(conn, SCHEMA, "dispatch.complaint-reopened", event.event_id):
                    continue
                case = await repo.get_case(conn, event.complaint_id, lock=True)
                if case is None:
                    raise LookupError(f"reopened complaint {event.complaint_id} was never routed here")
                if await repo.open_work_order_of_case(conn, case.complaint_id) is not None:
                    continue  # still open: nothing to reopen
                previous = await repo.latest_work_order_of_case(conn, case.complaint_id)
                current = Severity(previous.severity if previous else case.severity)
                severity = max(_RAISED[current], Severity(event.payload.severity), key=_RANK.__getitem__)
                now = self.clock()
                cycle = case.cycle + 1
                await repo.update_case(conn, case.complaint_id, cycle=cycle, severity=severity.value)
                case = replace(case, cycle=cycle, severity=severity.value)
                category = Category(previous.category if previous else case.category)
                reasons = [f"reopened ({event.payload.reason}): severity raised to {severity.value}"]
                order = await self._open_work_order(
                    conn,
                    case,
                    category=category,
                    severity=severity,
                    department=Department(self.rules.department_of(category).value),
                    cycle=cycle,
                    start=now,
                    previous=previous,
                    actor="followup",
                    at=now,
                )
                outgoing += messages.routed(case, order, reasons, "reopened", event.event_id, now)
            await outbox.add(conn, SCHEMA, outgoing)
            uow.commit()

    # --- work-order lifecycle -------------------------------------------------------------------

    async def act(
        self, work_order_id: uuid.UUID, step: Step, actor: Actor, *, dedupe_id: uuid.UUID | None = None
    ) -> WorkOrder:
        """Apply a department's step; raises NotFound, Forbidden or IllegalTransition.

        `dedupe_id` (a department system's update id) makes a redelivered update a no-op."""
        async with unit_of_work(self.pool) as uow:
            conn = uow.conn
            order = await repo.get_work_order(conn, work_order_id, lock=True)
            if order is None:
                raise NotFound(f"no work order {work_order_id}")
            if dedupe_id is not None and not await first_delivery(
                conn, SCHEMA, "dispatch.department-updates", dedupe_id
            ):
                uow.commit()
                return order
            if not actor.supervisor and actor.department != order.department:
                raise Forbidden(f"work order {work_order_id} belongs to {order.department}")
            case = await repo.get_case(conn, order.complaint_id, lock=True)
            assert case is not None
            target = next_status(step.action, WorkOrderStatus(order.status))
            now = self.clock()
            changes: dict[str, Any] = {"status": target.value, "updated_at": now}
            details: dict[str, Any] = {}
            if step.action is Action.ACKNOWLEDGE:
                changes["acknowledged_at"] = now
            elif step.action is Action.START:
                changes["started_at"] = now
            elif step.action is Action.RESOLVE:
                changes |= {"resolved_at": now, "resolution": step.resolution, "root_cause": step.root_cause}
                details = {"resolution": step.resolution, "root_cause": step.root_cause}
            elif step.action is Action.RETURN:
                changes["closing_reason"] = step.reason
                details = {"reason": step.reason}
            elif step.action is Action.NOTE:
                details = {"note": step.note}
            await repo.update_work_order(conn, order.work_order_id, **changes)
            await repo.add_history(
                conn,
                work_order_id=order.work_order_id,
                action=step.action.value,
                from_status=order.status,
                to_status=target.value,
                actor=actor.name,
                details=details,
                at=now,
            )
            updated = replace(order, **{k: v for k, v in changes.items()})
            events: list[Event]
            if step.action is Action.ACKNOWLEDGE:
                events = [messages.acknowledged(updated, case, actor.name, now)]
            elif step.action is Action.START:
                events = [messages.started(updated, case, actor.name, now)]
            elif step.action is Action.RESOLVE:
                events = [messages.resolved(updated, case, actor.name, now)]
            elif step.action is Action.NOTE:
                events = [messages.note_added(updated, case, actor.name, now, step.note or "")]
            else:
                events = await self._reroute(conn, case, updated, step, actor, now)
            await outbox.add(conn, SCHEMA, events)
            uow.commit()
            return updated

    async def _reroute(
        self, conn: asyncpg.Connection, case: Case, returned: WorkOrder, step: Step, actor: Actor, now: datetime
    ) -> list[Event]:
        """A returned work order goes to the department suggested, or to the next-best category's."""
        category, department = self._next_best(case, Department(returned.department), step.suggested_department)
        reasons = [f"returned by {returned.department}: {step.reason}", f"re-routed to {department.value}"]
        new_order = await self._open_work_order(
            conn,
            case,
            category=category,
            severity=Severity(returned.severity),
            department=department,
            cycle=returned.cycle,
            start=now,
            previous=returned,
            actor=actor.name,
            at=now,
        )
        await repo.update_case(conn, case.complaint_id, category=category.value)
        await repo.add_classification(
            conn,
            complaint_id=case.complaint_id,
            category=category.value,
            severity=returned.severity,
            actor=actor.name,
            reason=step.reason,
            reasons=reasons,
            at=now,
        )
        return [
            messages.returned(returned, case, actor.name, now, step.reason or "", new_order),
            *messages.routed(case, new_order, reasons, "returned", None, now),
        ]

    def _next_best(
        self, case: Case, not_department: Department, suggested: Department | None
    ) -> tuple[Category, Department]:
        ranked = sorted(case.scores.items(), key=lambda kv: kv[1], reverse=True)
        candidates = [Category(c) for c, score in ranked if score > 0] + [Category.OTHER]
        for category in candidates:
            department = Department(self.rules.department_of(category).value)
            if suggested is not None and department is not suggested:
                continue
            if department is not not_department:
                return category, department
        if suggested is not None and suggested is not not_department:
            fallback = {
                Department.REPAIR: Category.EQUIPMENT_FAULT,
                Department.BILLING: Category.BILLING,
                Department.CUSTOMER_SERVICE: Category.OTHER,
            }
            return fallback[suggested], suggested
        return Category.OTHER, Department.CUSTOMER_SERVICE

    async def reclassify(
        self, complaint_id: uuid.UUID, *, category: Category, severity: Severity | None, reason: str, actor: Actor
    ) -> WorkOrder:
        """A supervisor's correction: the open work order is closed as reassigned, a new one opened."""
        async with unit_of_work(self.pool) as uow:
            conn = uow.conn
            case = await repo.get_case(conn, complaint_id, lock=True)
            if case is None:
                raise NotFound(f"no complaint {complaint_id}")
            order = await repo.open_work_order_of_case(conn, complaint_id, lock=True)
            if order is None:
                raise Conflict("the case has no open work order to reclassify")
            now = self.clock()
            chosen = severity or Severity(order.severity)
            department = Department(self.rules.department_of(category).value)
            target = next_status(Action.REASSIGN, WorkOrderStatus(order.status))
            await repo.update_work_order(
                conn, order.work_order_id, status=target.value, updated_at=now, closing_reason=reason
            )
            await repo.add_history(
                conn,
                work_order_id=order.work_order_id,
                action="reassign",
                from_status=order.status,
                to_status=target.value,
                actor=actor.name,
                details={"reason": reason, "category": category.value, "severity": chosen.value},
                at=now,
            )
            await repo.update_case(conn, complaint_id, category=category.value, severity=chosen.value)
            reasons = [f"reclassified by {actor.name}: {reason}"]
            await repo.add_classification(
                conn,
                complaint_id=complaint_id,
                category=category.value,
                severity=chosen.value,
                actor=actor.name,
                reason=reason,
                reasons=reasons,
                at=now,
            )
            closed = replace(order, status=target.value, updated_at=now, closing_reason=reason)
            new_order = await self._open_work_order(
                conn,
                case,
                category=category,
                severity=chosen,
                department=department,
                cycle=order.cycle,
                start=now,
                previous=order,
                actor=actor.name,
                at=now,
            )
            await outbox.add(
                conn,
                SCHEMA,
                [
                    messages.reassigned(closed, case, actor.name, now, reason, new_order),
                    *messages.routed(case, new_order, reasons, "reclassified", None, now),
                ],
            )
            uow.commit()
            return new_order
