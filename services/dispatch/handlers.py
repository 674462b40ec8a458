"""What dispatch does: route received complaints, open a new cycle on a reopening, and move work orders through
their lifecycle for departments and supervisors (reads are in views.py).

HTTP routes and Kafka subscribers are thin callers of `Dispatcher`. Each call is one unit of work: the state,
the events it emits (outbox) and the processed-event mark commit together, or not at all. Where a complaint
goes is decided in `routing.py`; which step is allowed when, in `workorders/lifecycle.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.dispatch import events
from services.dispatch.classification import ComplaintFacts, Rules, classify
from services.dispatch.events import RouteReason
from services.dispatch.model import Actor, Case, Conflict, Forbidden, NotFound, Step, WorkOrder, WorkOrderView
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import (
    Route,
    duplicate_reason,
    reopen_needed,
    route_new,
    route_reclassified,
    route_reopened,
    route_returned,
)
from services.dispatch.workorders.lifecycle import Action, next_status
from shared.contracts import (
    Category,
    ComplaintReceived,
    ComplaintReopened,
    Event,
    Severity,
    WorkOrderStatus,
)
from shared.db import Transactions
from shared.logging import bind_case, get_logger
from shared.sla import SlaTable

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _effects(step: Step, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a department's step writes on the work order, and what its history entry records."""
    if step.action is Action.ACKNOWLEDGE:
        return {"acknowledged_at": now}, {}
    if step.action is Action.START:
        return {"started_at": now}, {}
    if step.action is Action.RESOLVE:
        return (
            {"resolved_at": now, "resolution": step.resolution, "root_cause": step.root_cause},
            {"resolution": step.resolution, "root_cause": step.root_cause},
        )
    if step.action is Action.RETURN:
        return {"closing_reason": step.reason}, {"reason": step.reason}
    if step.action is Action.NOTE:
        return {}, {"note": step.note}
    return {}, {}


@dataclass
class Dispatcher:
    """Dispatch's handlers. `transactions` opens a unit of work on the repository (Postgres, or the in-memory
    fake in tests); `clock` is injectable so tests set the time deadlines and history are stamped with."""

    transactions: Transactions[DispatchRepository]
    rules: Rules
    sla: SlaTable
    sla_scale: float = 1.0
    clock: Callable[[], datetime] = _now

    # --- routing ------------------------------------------------------------------------------

    async def route_received(self, batch: list[ComplaintReceived], *, consumer: str) -> None:
        """Classify and route a batch of received complaints in one transaction, idempotently: each event is
        marked processed by `consumer` (the consumer group's name) with its effect."""
        async with self.transactions() as work:
            repo = work.repo
            await repo.lock_accounts([e.payload.customer.account_no for e in batch if e.payload.customer.account_no])
            outgoing: list[Event] = []
            for event in batch:
                if not await repo.first_delivery(consumer, event.event_id):
                    continue
                if await repo.get_case(event.complaint_id) is not None:
                    continue  # the same complaint republished under a new event id: already routed
                outgoing += await self._route_one(repo, event)
            await repo.add_events(outgoing)
            work.commit()

    async def _route_one(self, repo: DispatchRepository, event: ComplaintReceived) -> list[Event]:
        p = event.payload
        bind_case(complaint_id=str(p.complaint_id), correlation_id=event.correlation_id)
        account = p.customer.account_no
        history: dict[str, int] = {}
        if account:
            since = p.accepted_at - timedelta(days=self.rules.repeat.window_days)
            history = await repo.category_counts(account, since)
        decision = classify(
            ComplaintFacts(
                text=p.text,
                channel=p.channel.value,
                category_hint=p.category_hint.value if p.category_hint else None,
                history=history,
            ),
            self.rules,
        )
        route = route_new(decision, self.rules)
        reasons = list(route.reasons)
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
            category=route.category.value,
            severity=route.severity.value,
            valid=decision.valid,
            invalid_reason=decision.invalid_reason,
            reasons=reasons,
            scores={k: float(v) for k, v in decision.scores.items()},
            linked_to=None,
            cycle=1,
            correlation_id=event.correlation_id,
        )
        now = self.clock()
        duplicate_of = await repo.open_work_order_for_account(account, case.category) if account else None
        if duplicate_of is not None:
            case = replace(case, linked_to=duplicate_of.complaint_id)
            reasons = [*reasons, duplicate_reason(duplicate_of)]
        await repo.insert_case(case)
        await repo.add_classification(
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
            return [events.linked(case, duplicate_of, reasons, event.event_id, now)]
        order = await self._open_work_order(
            repo, case, route, cycle=1, start=p.accepted_at, previous=None, actor="dispatch", at=now
        )
        log.info("complaint routed", department=order.department, category=order.category, severity=order.severity)
        return events.routed(case, order, reasons, "new", event.event_id, now)

    async def _open_work_order(
        self,
        repo: DispatchRepository,
        case: Case,
        route: Route,
        *,
        cycle: int,
        start: datetime,
        previous: WorkOrder | None,
        actor: str,
        at: datetime,
    ) -> WorkOrder:
        """A new work order where `route` says, its SLA clocks starting at `start`."""
        policy = self.sla.policy_for(route.category.value, route.severity.value, start)
        deadlines = self.sla.deadlines(policy, start, channel=case.channel, scale=self.sla_scale)
        order = WorkOrder(
            work_order_id=uuid.uuid4(),
            complaint_id=case.complaint_id,
            cycle=cycle,
            department=route.department.value,
            status=WorkOrderStatus.ASSIGNED.value,
            category=route.category.value,
            severity=route.severity.value,
            priority=route.priority,
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
        await repo.insert_work_order(order)
        await repo.add_history(
            work_order_id=order.work_order_id,
            action="assign",
            from_status=None,
            to_status=order.status,
            actor=actor,
            details={"department": order.department},
            at=at,
        )
        return order

    async def reopen(self, batch: list[ComplaintReopened], *, consumer: str) -> None:
        """A dissatisfied customer: a new work-order cycle with raised severity (idempotently, as above)."""
        async with self.transactions() as work:
            repo = work.repo
            outgoing: list[Event] = []
            for event in batch:
                if not await repo.first_delivery(consumer, event.event_id):
                    continue
                case = await repo.get_case(event.complaint_id, lock=True)
                if case is None:
                    raise LookupError(f"reopened complaint {event.complaint_id} was never routed here")
                if not reopen_needed(await repo.open_work_order_of_case(case.complaint_id)):
                    continue
                previous = await repo.latest_work_order_of_case(case.complaint_id)
                route = route_reopened(
                    case,
                    previous,
                    requested=Severity(event.payload.severity),
                    reason=event.payload.reason,
                    rules=self.rules,
                )
                now = self.clock()
                cycle = case.cycle + 1
                await repo.update_case(case.complaint_id, cycle=cycle, severity=route.severity.value)
                case = replace(case, cycle=cycle, severity=route.severity.value)
                order = await self._open_work_order(
                    repo, case, route, cycle=cycle, start=now, previous=previous, actor="followup", at=now
                )
                outgoing += events.routed(case, order, list(route.reasons), "reopened", event.event_id, now)
            await repo.add_events(outgoing)
            work.commit()

    # --- work-order lifecycle -------------------------------------------------------------------

    async def act(
        self,
        work_order_id: uuid.UUID,
        step: Step,
        actor: Actor,
        *,
        dedupe: tuple[str, uuid.UUID] | None = None,
    ) -> WorkOrderView:
        """Apply a department's step; raises NotFound, Forbidden or IllegalTransition.

        `dedupe` (the consumer's name and a department system's update id) makes a redelivered update a no-op."""
        async with self.transactions() as work:
            repo = work.repo
            order = await repo.get_work_order(work_order_id, lock=True)
            if order is None:
                raise NotFound(f"no work order {work_order_id}")
            if dedupe is not None and not await repo.first_delivery(*dedupe):
                work.commit()
                return WorkOrderView(order, await repo.history(order.work_order_id))
            if not actor.may_handle(order.department):
                raise Forbidden(f"work order {work_order_id} belongs to {order.department}")
            case = await repo.get_case(order.complaint_id, lock=True)
            assert case is not None
            target = next_status(step.action, WorkOrderStatus(order.status))
            now = self.clock()
            written, details = _effects(step, now)
            changes: dict[str, Any] = {"status": target.value, "updated_at": now, **written}
            await repo.update_work_order(order.work_order_id, **changes)
            await repo.add_history(
                work_order_id=order.work_order_id,
                action=step.action.value,
                from_status=order.status,
                to_status=target.value,
                actor=actor.name,
                details=details,
                at=now,
            )
            updated = replace(order, **changes)
            if step.action is Action.RETURN:
                outgoing = await self._reroute(repo, case, updated, step, actor, now)
            else:
                outgoing = [self._step_event(step, updated, case, actor, now)]
            await repo.add_events(outgoing)
            view = WorkOrderView(updated, await repo.history(updated.work_order_id))
            work.commit()
            return view

    @staticmethod
    def _step_event(step: Step, order: WorkOrder, case: Case, actor: Actor, now: datetime) -> Event:
        if step.action is Action.ACKNOWLEDGE:
            return events.acknowledged(order, case, actor.name, now)
        if step.action is Action.START:
            return events.started(order, case, actor.name, now)
        if step.action is Action.RESOLVE:
            return events.resolved(order, case, actor.name, now)
        if step.action is Action.NOTE:
            return events.note_added(order, case, actor.name, now, step.note or "")
        raise ValueError(f"{step.action.value} is not a department's step")

    async def _reroute(
        self, repo: DispatchRepository, case: Case, returned: WorkOrder, step: Step, actor: Actor, now: datetime
    ) -> list[Event]:
        """A returned work order: a new one where `routing.route_returned` says, in the same cycle."""
        route = route_returned(
            case, returned, reason=step.reason, suggested=step.suggested_department, rules=self.rules
        )
        new_order = await self._open_work_order(
            repo, case, route, cycle=returned.cycle, start=now, previous=returned, actor=actor.name, at=now
        )
        await repo.update_case(case.complaint_id, category=route.category.value)
        await self._record_classification(repo, case, route, actor=actor.name, reason=step.reason, at=now)
        return [
            events.returned(returned, case, actor.name, now, step.reason or "", new_order),
            *self._routed(case, new_order, route, "returned", now),
        ]

    async def reclassify(
        self, complaint_id: uuid.UUID, *, category: Category, severity: Severity | None, reason: str, actor: Actor
    ) -> WorkOrderView:
        """A supervisor's correction: the open work order is closed as reassigned, a new one opened."""
        async with self.transactions() as work:
            repo = work.repo
            case = await repo.get_case(complaint_id, lock=True)
            if case is None:
                raise NotFound(f"no complaint {complaint_id}")
            order = await repo.open_work_order_of_case(complaint_id, lock=True)
            if order is None:
                raise Conflict("the case has no open work order to reclassify")
            now = self.clock()
            route = route_reclassified(
                order, category=category, severity=severity, by=actor.name, reason=reason, rules=self.rules
            )
            target = next_status(Action.REASSIGN, WorkOrderStatus(order.status))
            await repo.update_work_order(
                order.work_order_id, status=target.value, updated_at=now, closing_reason=reason
            )
            await repo.add_history(
                work_order_id=order.work_order_id,
                action=Action.REASSIGN.value,
                from_status=order.status,
                to_status=target.value,
                actor=actor.name,
                details={"reason": reason, "category": category.value, "severity": route.severity.value},
                at=now,
            )
            await repo.update_case(complaint_id, category=category.value, severity=route.severity.value)
            await self._record_classification(repo, case, route, actor=actor.name, reason=reason, at=now)
            closed = replace(order, status=target.value, updated_at=now, closing_reason=reason)
            new_order = await self._open_work_order(
                repo, case, route, cycle=order.cycle, start=now, previous=order, actor=actor.name, at=now
            )
            await repo.add_events(
                [
                    events.reassigned(closed, case, actor.name, now, reason, new_order),
                    *self._routed(case, new_order, route, "reclassified", now),
                ]
            )
            view = WorkOrderView(new_order, await repo.history(new_order.work_order_id))
            work.commit()
            return view

    @staticmethod
    async def _record_classification(
        repo: DispatchRepository, case: Case, route: Route, *, actor: str, reason: str | None, at: datetime
    ) -> None:
        await repo.add_classification(
            complaint_id=case.complaint_id,
            category=route.category.value,
            severity=route.severity.value,
            actor=actor,
            reason=reason,
            reasons=list(route.reasons),
            at=at,
        )

    @staticmethod
    def _routed(case: Case, order: WorkOrder, route: Route, why: RouteReason, at: datetime) -> list[Event]:
        return events.routed(case, order, list(route.reasons), why, None, at)
