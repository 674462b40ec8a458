"""What dispatch does: route received complaints, open a new cycle on a reopening, and move work orders through
their lifecycle for departments and supervisors (reads are in views.py).

HTTP routes and Kafka subscribers are thin callers of `Dispatcher`. Each call is one unit of work: the state,
the events it emits (outbox) and the processed-event mark commit together, or not at all. Where a complaint
goes is decided in `routing.py`; which step is allowed when, in `workorders/lifecycle.py`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.dispatch import corrective_actions, events
from services.dispatch.assets import AssetIndex
from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify
from services.dispatch.contact_access import ContactDesk
from services.dispatch.coordination import Coordinator, check_hand_back, handed_back, lead_of, others_open
from services.dispatch.corrective_actions import CorrectiveActionDesk
from services.dispatch.crews import Crews, load_crews
from services.dispatch.events import RouteReason
from services.dispatch.fault_handlers import FaultHandlers
from services.dispatch.field_work import FIELD_ACTIONS, acceptance_of, field_effects, field_event
from services.dispatch.first_contact import SETTLED_BY, FirstContact, first_contact
from services.dispatch.grouping import FaultDesk, Placement
from services.dispatch.incidents.faults import Fault, identify
from services.dispatch.incidents.policy import IncidentRules, load_incident_rules
from services.dispatch.model import (
    Actor,
    Case,
    Conflict,
    CorrectiveAction,
    Forbidden,
    Incident,
    LabelledExample,
    NotFound,
    Photo,
    Step,
    WorkOrder,
    WorkOrderView,
)
from services.dispatch.photos import PhotoStorage, check_photo
from services.dispatch.photos.storage import photo_key
from services.dispatch.repository import DispatchRepository
from services.dispatch.resolution import AcceptedResolution, accept_resolution
from services.dispatch.root_causes import RootCauseCatalogue, load_root_causes
from services.dispatch.routing import (
    Route,
    department_for,
    duplicate_reason,
    reopen_needed,
    route_new,
    route_reclassified,
    route_reopened,
    route_returned,
)
from services.dispatch.workorders.lifecycle import Action, next_status
from services.dispatch.workorders.opening import WorkOrderOpener
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


def _who(actor: Actor) -> str:
    """How a decision's reasons name its maker: a person by name and staff id, a credential by its name."""
    return f"{actor.label} ({actor.name})" if actor.is_person else actor.name


def _not_theirs(order: WorkOrder, actor: Actor) -> str:
    if actor.crew is not None and order.department == actor.department:
        return f"work order {order.work_order_id} is not assigned to crew {actor.crew}"
    return f"work order {order.work_order_id} belongs to {order.department}"


def _effects(step: Step, order: WorkOrder, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a department's step writes on the work order, and what its history entry records (field steps:
    field_work.py; resolutions: resolution.py)."""
    if step.action is Action.ACKNOWLEDGE:
        return {"acknowledged_at": now}, {}
    if step.action is Action.START:
        # The first arrival keeps its time (the on-site clock stopped then); a visit after a missed one is recorded.
        return {"started_at": order.started_at or now}, {"crew": order.crew} if order.crew else {}
    if step.action is Action.RETURN:
        return {"closing_reason": step.reason}, {"reason": step.reason}
    if step.action is Action.NOTE:
        return {}, {"note": step.note}
    return {}, {}


@dataclass
class Dispatcher(FaultHandlers):
    """Dispatch's handlers. `transactions` opens a unit of work on the repository (Postgres, or the in-memory
    fake in tests); `clock` is injectable so tests set the time deadlines and history are stamped with."""

    transactions: Transactions[DispatchRepository]
    rules: Rules
    sla: SlaTable
    sla_scale: float = 1.0
    clock: Callable[[], datetime] = _now
    incident_rules: IncidentRules = field(default_factory=load_incident_rules)
    #: Rules and the trained model (`classification.classify`); tests may pass a stand-in.
    classifier: Callable[[ComplaintFacts, Rules], Classification] = classify
    #: What a resolution may name as its root cause (root_causes.toml).
    root_causes: RootCauseCatalogue = field(default_factory=load_root_causes)
    #: The crews a department sends (crews.csv).
    crews: Crews = field(default_factory=load_crews)
    #: Where photos taken on site are kept, and the largest one accepted.
    photos: PhotoStorage | None = None
    photo_max_bytes: int = 5 * 1024 * 1024

    def __post_init__(self) -> None:
        self.orders = WorkOrderOpener(self.sla, self.sla_scale)
        #: Corrective actions set after a resolution, and completed (corrective_actions.py).
        self.corrective = CorrectiveActionDesk(self.transactions, self.rules, self.clock)
        #: Assisting work orders of coordinated cases (coordination.py).
        self.coordination = Coordinator(self.transactions, self.rules, self.orders, self.clock)
        self.faults = FaultDesk(self.incident_rules, self.rules, self.orders)
        #: Customers' contact details: kept from complaint.contact, shown to persons (each read logged).
        self.contacts = ContactDesk(self.transactions, self.clock)
        self._assets: tuple[int, AssetIndex] = (-1, AssetIndex.build(()))

    # --- routing ------------------------------------------------------------------------------

    async def route_received(self, batch: list[ComplaintReceived], *, consumer: str) -> None:
        """Classify and route a batch of received complaints in one transaction, idempotently: each event is
        marked processed by `consumer` (the consumer group's name) with its effect.

        Locks first the accounts (repeat and duplicate checks), then the faults the batch is about (incidents),
        each set in sorted order, so two replicas' batches never wait on each other in a cycle."""
        async with self.transactions() as work:
            repo = work.repo
            await repo.lock_accounts([e.payload.customer.account_no for e in batch if e.payload.customer.account_no])
            assets = await self._asset_index(repo)
            decided: list[tuple[ComplaintReceived, Classification, FirstContact | None, Fault | None]] = []
            for event in batch:
                if not await repo.first_delivery(consumer, event.event_id):
                    continue
                if await repo.get_case(event.complaint_id) is not None:
                    continue  # the same complaint republished under a new event id: already routed
                decision = await self._classify(repo, event)
                contact = first_contact(event.payload.handled_on_contact, event.payload.agent_id, decision)
                fault = None
                if decision.valid and not (contact and contact.settled):
                    location = event.payload.location.model_dump(mode="json")
                    fault = identify(decision.category, event.payload.text, location, self.incident_rules, assets)
                    if decision.triage:
                        decision, fault = self._doubt_within_one_fault(decision, fault, event, assets)
                decided.append((event, decision, contact, fault))
            await repo.lock_faults(f"{f.scope}|{f.family.value}" for _, _, _, f in decided if f is not None)
            outgoing: list[Event] = []
            for event, decision, contact, fault in decided:
                outgoing += await self._route_one(repo, event, decision, contact, fault)
            await repo.add_events(outgoing)
            work.commit()

    def _doubt_within_one_fault(
        self, decision: Classification, fault: Fault | None, event: ComplaintReceived, assets: AssetIndex
    ) -> tuple[Classification, Fault | None]:
        """A doubt a supervisor need not settle: the model hesitates between two categories that both mean one fault
        at one place (no heat or too cold, at one station's compound) and one department. The complaint then goes
        where that fault goes (its incident, its outage notice, or a work order) as the top category: a storm's
        callers must not wait in triage while their incident is handled. Any other doubt stays in triage."""
        if fault is None or len(decision.suggestions) < 2:
            return decision, None
        runner_up = decision.suggestions[1][0]
        location = event.payload.location.model_dump(mode="json")
        other = identify(runner_up, event.payload.text, location, self.incident_rules, assets)
        same_department = department_for(runner_up, self.rules) is department_for(decision.category, self.rules)
        if other is None or (other.family, other.scope) != (fault.family, fault.scope) or not same_department:
            return decision, None
        why = (
            f"doubt between {decision.category.value} and {runner_up.value} is one fault ({fault.family.value} at "
            f"{fault.scope}) for one department: no triage"
        )
        return replace(decision, triage=False, reasons=(*decision.reasons, why)), fault

    async def _classify(self, repo: DispatchRepository, event: ComplaintReceived) -> Classification:
        p = event.payload
        history: dict[str, int] = {}
        if p.customer.account_no:
            since = p.accepted_at - timedelta(days=self.rules.repeat.window_days)
            history = await repo.category_counts(p.customer.account_no, since)
        return self.classifier(
            ComplaintFacts(
                text=p.text,
                channel=p.channel.value,
                category_hint=p.category_hint.value if p.category_hint else None,
                history=history,
            ),
            self.rules,
        )

    async def _route_one(
        self,
        repo: DispatchRepository,
        event: ComplaintReceived,
        decision: Classification,
        contact: FirstContact | None,
        fault: Fault | None,
    ) -> list[Event]:
        """An invalid complaint is closed as invalid; one the agent settled on contact is resolved there
        (`first_contact.py`); a doubtful one waits in triage; the rest join an outage notice or incident, are
        linked to the account's open case, or get a work order."""
        p = event.payload
        bind_case(complaint_id=str(p.complaint_id), correlation_id=event.correlation_id)
        account = p.customer.account_no
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
            model_version=decision.model_version,
            owner=p.agent_id,
            agent_id=p.agent_id,
            agent_name=p.agent_name,
            owner_name=p.agent_name,
            handled_on_contact=p.handled_on_contact,
            customer_agitated=p.customer_agitated,
        )
        now = self.clock()
        if not decision.valid:
            return await self._close_invalid(repo, case, "dispatch", event.event_id, now)
        if contact is not None:
            reasons.append(contact.reason)
            case = replace(case, reasons=reasons)
            if contact.settled:
                return await self._resolve_on_contact(repo, case, event.event_id, now)
        if decision.triage:
            return await self._to_triage(repo, case, decision, event.event_id, now)
        placement = Placement()
        if fault is not None:
            reasons.append(fault.reason)
            case = replace(
                case,
                family=fault.family.value,
                scope=fault.scope,
                asset=fault.asset.model_dump(mode="json") if fault.asset else None,
            )
            placement = await self.faults.placement(repo, case, fault)
        duplicate_of = None
        if placement.outage is not None:
            case = replace(case, outage_id=placement.outage.outage_id)
            reasons.append(f"outage notice {placement.outage.reference_no} covers it")
        elif placement.incident is not None:
            case = replace(case, incident_id=placement.incident.incident_id)
            reasons.append(f"joined incident {placement.incident.reference_no}")
        elif not placement.opens and account:
            duplicate_of = await repo.open_work_order_for_account(account, case.category)
            if duplicate_of is not None:
                case = replace(case, linked_to=duplicate_of.complaint_id)
                reasons.append(duplicate_reason(duplicate_of))
        case = replace(case, reasons=reasons)
        await repo.insert_case(case)
        await self._record_decision(repo, case, now)
        if placement.outage is not None:
            log.info("complaint joined an outage notice", outage=placement.outage.reference_no)
            return await self.faults.join_outage(repo, placement.outage, case, reasons, event.event_id, now)
        if placement.incident is not None:
            log.info("complaint joined an incident", incident=placement.incident.reference_no)
            _, emitted = await self.faults.join_incident(repo, placement.incident, case, reasons, event.event_id, now)
            return emitted
        if placement.opens:
            assert fault is not None
            log.warning("incident opened", scope=fault.scope, family=fault.family.value, callers=len(placement.opens))
            return await self.faults.open_incident(
                repo,
                family=fault.family,
                asset=fault.asset,
                district=fault.district,
                compound=fault.compound,
                scope=fault.scope,
                members=(*placement.opens[:-1], case),
                asset_names=self._asset_names(fault.asset),
                opened_by="threshold",
                actor="dispatch",
                channel=case.channel,
                at=now,
                causation_id=event.event_id,
            )
        if duplicate_of is not None:
            log.info("complaint linked to an open case", linked_to=str(duplicate_of.complaint_id))
            return [events.linked(case, duplicate_of, reasons, event.event_id, now)]
        order = await self.orders.open(
            repo, case, route, cycle=1, start=p.accepted_at, previous=None, actor="dispatch", at=now
        )
        log.info("complaint routed", department=order.department, category=order.category, severity=order.severity)
        return events.routed(case, order, reasons, "new", event.event_id, now)

    async def _close_invalid(
        self, repo: DispatchRepository, case: Case, decided_by: str, causation_id: uuid.UUID, now: datetime
    ) -> list[Event]:
        """Not a complaint we act on: recorded with its reason, no work order; the customer is told why."""
        case = replace(case, invalid_at=now, invalid_by=decided_by)
        await repo.insert_case(case)
        await self._record_decision(repo, case, now)
        log.info("complaint closed as invalid", reason=case.invalid_reason)
        return [events.invalid(case, causation_id, now)]

    async def _resolve_on_contact(
        self, repo: DispatchRepository, case: Case, causation_id: uuid.UUID, now: datetime
    ) -> list[Event]:
        """Settled by the agent on contact: no work order; the callback limit its category would have had."""
        case = replace(case, resolution_id=uuid.uuid4(), resolved_on_contact_at=now)
        await repo.insert_case(case)
        await self._record_decision(repo, case, now)
        log.info("complaint resolved on contact", owner=case.owner)
        return [
            events.resolved_on_contact(
                case,
                department=SETTLED_BY.value,
                callback_limit=self.orders.callback_limit(case, case.accepted_at),
                causation_id=causation_id,
                at=now,
            )
        ]

    @staticmethod
    async def _record_decision(repo: DispatchRepository, case: Case, at: datetime) -> None:
        await repo.add_classification(
            complaint_id=case.complaint_id,
            category=case.category,
            severity=case.severity,
            actor="dispatch",
            reason=None,
            reasons=case.reasons,
            at=at,
            model_version=case.model_version,
        )

    async def _to_triage(
        self,
        repo: DispatchRepository,
        case: Case,
        decision: Classification,
        causation_id: uuid.UUID,
        now: datetime,
    ) -> list[Event]:
        """A doubtful complaint waits for a supervisor, with the model's suggestions; its clocks will run from
        acceptance, so the wait counts."""
        suggestions = [
            {"category": c.value, "department": department_for(c, self.rules).value, "probability": round(p, 4)}
            for c, p in decision.suggestions
        ]
        case = replace(case, triage_since=now, suggestions=suggestions)
        await repo.insert_case(case)
        await self._record_decision(repo, case, now)
        log.info("complaint awaits triage", suggestions=[s["category"] for s in suggestions[:3]])
        return [events.awaiting_triage(case, causation_id, now)]

    async def route_triaged(
        self,
        complaint_id: uuid.UUID,
        *,
        category: Category,
        severity: Severity | None,
        note: str,
        actor: Actor,
    ) -> WorkOrderView:
        """A supervisor decides a doubtful complaint: routed as any other, its clocks from acceptance; the
        decision is kept as a labelled example. Raises NotFound, Conflict (not waiting in triage)."""
        async with self.transactions() as work:
            repo = work.repo
            case = await _locked_case(repo, complaint_id, lambda c: c.awaiting_triage, "is not waiting in triage")
            now = self.clock()
            route = Route(
                category=category,
                department=department_for(category, self.rules),
                severity=severity or Severity(case.severity),
                reasons=(f"triaged by {_who(actor)}: {note}",),
            )
            changes = {"triaged_at": now, "triaged_by": actor.name}
            view = await self._route_decided(repo, case, route, changes, "triage", "new", note, actor, now)
            work.commit()
        log.info("complaint triaged", category=category.value, by=actor.name)
        return view

    async def overturn_invalid(
        self,
        complaint_id: uuid.UUID,
        *,
        category: Category | None,
        severity: Severity | None,
        note: str,
        actor: Actor,
    ) -> WorkOrderView:
        """A supervisor finds an invalid complaint valid after all: routed as any other (its clocks from acceptance,
        `complaint.routed` reason `reclassified`), the decision kept as a labelled example. Raises NotFound,
        Conflict (the case is not closed as invalid)."""
        async with self.transactions() as work:
            repo = work.repo
            case = await _locked_case(repo, complaint_id, lambda c: c.closed_invalid, "is not closed as invalid")
            now = self.clock()
            chosen = category or Category(case.category)
            route = Route(
                category=chosen,
                department=department_for(chosen, self.rules),
                severity=severity or Severity(case.severity),
                reasons=(f"valid after all, decided by {_who(actor)} (was: {case.invalid_reason}): {note}",),
            )
            changes = {"valid": True, "invalid_reason": None}
            view = await self._route_decided(repo, case, route, changes, "validity", "reclassified", note, actor, now)
            work.commit()
        log.info("invalid complaint overturned", category=chosen.value, by=actor.name)
        return view

    async def _route_decided(
        self,
        repo: DispatchRepository,
        case: Case,
        route: Route,
        changes: dict[str, Any],
        source: str,
        why: RouteReason,
        note: str,
        actor: Actor,
        now: datetime,
    ) -> WorkOrderView:
        """A supervisor decided where a complaint goes (triage, validity): the decision is kept as a labelled
        example, the supervisor owns a case nobody took, and it is routed with its clocks from acceptance."""
        await self._learn(repo, case, route, source=source, actor=actor.name, at=now)
        changes = changes | {
            "category": route.category.value,
            "severity": route.severity.value,
            "owner": case.owner or actor.name,
            "owner_name": case.owner_name if case.owner else actor.label,
        }
        await repo.update_case(case.complaint_id, **changes)
        case = replace(case, **changes)
        await self._record_classification(repo, case, route, actor=actor.name, reason=note, at=now)
        order = await self.orders.open(
            repo,
            case,
            route,
            cycle=case.cycle,
            start=case.accepted_at,
            previous=None,
            actor=actor.name,
            actor_name=actor.label,
            at=now,
        )
        await repo.add_events(self._routed(case, order, route, why, now))
        return WorkOrderView(order, await repo.history(order.work_order_id))

    async def close_as_invalid(self, complaint_id: uuid.UUID, *, reason: str, actor: Actor) -> Case:
        """A supervisor closes a complaint waiting in triage as invalid: no work order, `complaint.invalid` with
        their reason. Raises NotFound, Conflict (not waiting in triage)."""
        async with self.transactions() as work:
            repo = work.repo
            case = await _locked_case(repo, complaint_id, lambda c: c.awaiting_triage, "is not waiting in triage")
            now = self.clock()
            changes: dict[str, Any] = {
                "valid": False,
                "invalid_reason": reason,
                "invalid_at": now,
                "invalid_by": actor.name,
                "triaged_at": now,
                "triaged_by": actor.name,
                "owner": case.owner or actor.name,
                "owner_name": case.owner_name if case.owner else actor.label,
            }
            await repo.update_case(complaint_id, **changes)
            case = replace(case, **changes)
            await repo.add_classification(
                complaint_id=complaint_id,
                category=case.category,
                severity=case.severity,
                actor=actor.name,
                reason=reason,
                reasons=[f"invalid, decided by {_who(actor)}: {reason}"],
                at=now,
            )
            await repo.add_events([events.invalid(case, None, now, decided_by=actor)])
            work.commit()
        log.info("complaint closed as invalid in triage", by=actor.name)
        return case

    @staticmethod
    async def _learn(
        repo: DispatchRepository, case: Case, route: Route, *, source: str, actor: str, at: datetime
    ) -> None:
        """Keep a person's decision where the classifier had decided: the next model learns from it."""
        await repo.add_labelled_example(
            LabelledExample(
                complaint_id=case.complaint_id,
                text=case.text,
                channel=case.channel,
                predicted_category=case.category,
                predicted_severity=case.severity,
                category=route.category.value,
                severity=route.severity.value,
                department=route.department.value,
                source=source,
                actor=actor,
                model_version=case.model_version,
                at=at,
            )
        )

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
                # None for a complaint settled at first contact: its first work order opens now.
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
                order = await self.orders.open(
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
            incident = await self._incident_of(repo, work_order_id)
            order = await repo.get_work_order(work_order_id, lock=True)
            if order is None:
                raise NotFound(f"no work order {work_order_id}")
            if dedupe is not None and not await repo.first_delivery(*dedupe):
                work.commit()
                return WorkOrderView(order, await repo.history(order.work_order_id))
            if not actor.may_act_on(order):
                raise Forbidden(_not_theirs(order, actor))
            case = incident.as_case() if incident else await repo.get_case(order.complaint_id, lock=True)
            assert case is not None
            target = next_status(step.action, WorkOrderStatus(order.status))
            now = self.clock()
            accepted = None
            if step.action is Action.RESOLVE:
                accepted = accept_resolution(
                    step,
                    department=order.department,
                    severity=order.severity,
                    role=order.role,
                    catalogue=self.root_causes,
                    now=now,
                )
            lead = None
            if step.action is Action.RETURN and order.role == "assisting":
                lead = await check_hand_back(repo, order)
            fieldwork = field_effects(step, order, self.crews, actor, now) if step.action in FIELD_ACTIONS else None
            if accepted is not None:
                written, details = accepted.effects(actor.name, now)
                acceptance = acceptance_of(step)
                if acceptance is not None:
                    written, details = {**written, "acceptance": acceptance}, {**details, "acceptance": acceptance}
            elif fieldwork is not None:
                written, details = fieldwork.written, fieldwork.details
            else:
                written, details = _effects(step, order, now)
            changes: dict[str, Any] = {"status": target.value, "updated_at": now, **written}
            await repo.update_work_order(order.work_order_id, **changes)
            await repo.add_history(
                work_order_id=order.work_order_id,
                action=step.action.value,
                from_status=order.status,
                to_status=target.value,
                actor=actor.name,
                actor_name=actor.label,
                details=details,
                at=now,
            )
            updated = replace(order, **changes)
            if step.action is Action.ACKNOWLEDGE and incident is None and case.owner is None:
                # Nobody took it before: the department that signs for its work order owns the case.
                await repo.update_case(case.complaint_id, owner=actor.name, owner_name=actor.label)
                case = replace(case, owner=actor.name, owner_name=actor.label)
            actions: tuple[CorrectiveAction, ...] = ()
            if step.action is Action.RETURN and lead is not None:
                outgoing = [handed_back(updated, case, lead, actor, step.reason or "", now)]
            elif step.action is Action.RETURN:
                outgoing = await self._reroute(repo, case, updated, step, actor, now)
            elif accepted is not None:
                outgoing = await self._resolved(repo, case, updated, accepted, actor, now)
                actions = tuple(await repo.corrective_actions(complaint_id=updated.complaint_id))
            elif fieldwork is not None:
                if fieldwork.finding is not None:
                    await repo.insert_finding(fieldwork.finding)
                if fieldwork.photo is not None:
                    await repo.insert_photo(fieldwork.photo)
                outgoing = [field_event(step, order, updated, case, actor, now, fieldwork)]
            else:
                outgoing = [self._step_event(step, updated, case, actor, now)]
            await repo.add_events(outgoing)
            view = WorkOrderView(updated, await repo.history(updated.work_order_id), actions, case=case)
            work.commit()
            return view

    async def add_photo(self, work_order_id: uuid.UUID, data: bytes, actor: Actor) -> tuple[WorkOrderView, Photo]:
        """Attach a photo taken on site. Raises NotFound, Forbidden, IllegalTransition (not on site), PhotoTooLarge,
        NotAnImage. Who may and whether the work order takes one now are checked before any byte is stored; the
        bytes are stored before the row and the event commit (a row never points at nothing), and removed again when
        the step fails after all."""
        async with self.transactions() as work:
            order = await work.repo.get_work_order(work_order_id)
            if order is None:
                raise NotFound(f"no work order {work_order_id}")
            if not actor.may_act_on(order):
                raise Forbidden(_not_theirs(order, actor))
            next_status(Action.ADD_PHOTO, WorkOrderStatus(order.status))
        content_type = check_photo(data, self.photo_max_bytes)
        if self.photos is None:
            raise RuntimeError("no photo storage configured")
        photo_id = uuid.uuid4()
        key = photo_key(work_order_id, photo_id)
        await self.photos.put(key, data, content_type)
        photo = Photo(
            photo_id=photo_id,
            work_order_id=work_order_id,
            content_type=content_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            actor=actor.name,
            actor_name=actor.label,
            at=self.clock(),
        )
        try:
            return await self.act(work_order_id, Step(Action.ADD_PHOTO, photo=photo), actor), photo
        except BaseException:
            await self.photos.delete(key)
            raise

    @staticmethod
    async def _incident_of(repo: DispatchRepository, work_order_id: uuid.UUID) -> Incident | None:
        """The incident whose work order this is, locked before the work order (the order routing locks them in,
        so a resolution and a joining caller never wait on each other in a cycle)."""
        peek = await repo.get_work_order(work_order_id)
        if peek is None or peek.incident_id is None:
            return None
        return await repo.get_incident(peek.incident_id, lock=True)

    async def _resolved(
        self,
        repo: DispatchRepository,
        case: Case,
        resolved: WorkOrder,
        accepted: AcceptedResolution,
        actor: Actor,
        now: datetime,
    ) -> list[Event]:
        """`workorder.resolved` (the case resolved only when no other work order of it is open), the corrective
        actions the resolution set, and — once the whole case is resolved — everyone waiting on it told."""
        case_resolved = not await others_open(repo, resolved)
        outgoing = [
            events.resolved(resolved, case, actor, now, cause=accepted.cause.as_contract(), case_resolved=case_resolved)
        ]
        _, announced = await corrective_actions.record(
            repo,
            accepted.corrective_actions,
            case=case,
            work_order=resolved,
            department=resolved.department,
            severity=resolved.severity,
            actor=actor.name,
            at=now,
        )
        outgoing += announced
        if case_resolved:
            lead = resolved if resolved.role == "lead" else await lead_of(repo, resolved)
            told = lead if lead.status == WorkOrderStatus.RESOLVED.value else resolved
            outgoing += await self._tell_callers(repo, case, told, actor, now)
        return outgoing

    async def _tell_callers(
        self, repo: DispatchRepository, case: Case, resolved: WorkOrder, actor: Actor, now: datetime
    ) -> list[Event]:
        """A resolution fixes the fault for everyone waiting on it: an incident's callers, or the same-account
        duplicates linked to this case."""
        if resolved.incident_id is not None:
            return await self.faults.incident_resolved(repo, resolved, actor.name, now)
        duplicates = await repo.unfixed_duplicates_of(case.complaint_id)
        return await self.faults.fixed(
            repo,
            duplicates,
            work_order=resolved,
            department=resolved.department,
            resolution=resolved.resolution or "",
            at=now,
        )

    @staticmethod
    def _step_event(step: Step, order: WorkOrder, case: Case, actor: Actor, now: datetime) -> Event:
        if step.action is Action.ACKNOWLEDGE:
            return events.acknowledged(order, case, actor, now)
        if step.action is Action.START:
            return events.started(order, case, actor, now)
        if step.action is Action.NOTE:
            return events.note_added(order, case, actor, now, step.note or "")
        raise ValueError(f"{step.action.value} is not a department's step")

    async def _reroute(
        self, repo: DispatchRepository, case: Case, returned: WorkOrder, step: Step, actor: Actor, now: datetime
    ) -> list[Event]:
        """A returned work order: a new one where `routing.route_returned` says, in the same cycle."""
        route = route_returned(
            case, returned, reason=step.reason, suggested=step.suggested_department, rules=self.rules
        )
        new_order = await self.orders.open(
            repo,
            case,
            route,
            cycle=returned.cycle,
            start=now,
            previous=returned,
            actor=actor.name,
            actor_name=actor.label,
            at=now,
            incident_id=returned.incident_id,
        )
        await repo.move_assisting(returned.work_order_id, new_order.work_order_id)
        if returned.incident_id is not None:
            await repo.update_incident(
                returned.incident_id,
                work_order_id=new_order.work_order_id,
                department=new_order.department,
                category=new_order.category,
            )
        else:
            await self._learn(
                repo, replace(case, category=returned.category), route, source="return", actor=actor.name, at=now
            )
            await repo.update_case(case.complaint_id, category=route.category.value)
            await self._record_classification(repo, case, route, actor=actor.name, reason=step.reason, at=now)
        return [
            events.returned(returned, case, actor, now, step.reason or "", new_order),
            *self._routed(case, new_order, route, "returned", now),
        ]

    async def reclassify(
        self, complaint_id: uuid.UUID, *, category: Category, severity: Severity | None, reason: str, actor: Actor
    ) -> WorkOrderView:
        """A supervisor's correction: the open work order is closed as reassigned, a new one opened."""
        async with self.transactions() as work:
            repo = work.repo
            case = await _locked_case(repo, complaint_id)
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
                actor_name=actor.label,
                details={"reason": reason, "category": category.value, "severity": route.severity.value},
                at=now,
            )
            await self._learn(
                repo,
                replace(case, category=order.category, severity=order.severity),
                route,
                source="reclassify",
                actor=actor.name,
                at=now,
            )
            await repo.update_case(complaint_id, category=category.value, severity=route.severity.value)
            await self._record_classification(repo, case, route, actor=actor.name, reason=reason, at=now)
            closed = replace(order, status=target.value, updated_at=now, closing_reason=reason)
            new_order = await self.orders.open(
                repo,
                case,
                route,
                cycle=order.cycle,
                start=now,
                previous=order,
                actor=actor.name,
                actor_name=actor.label,
                at=now,
            )
            await repo.move_assisting(order.work_order_id, new_order.work_order_id)
            await repo.add_events(
                [
                    events.reassigned(closed, case, actor, now, reason, new_order),
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


async def _locked_case(
    repo: DispatchRepository,
    complaint_id: uuid.UUID,
    allowed: Callable[[Case], bool] = lambda _: True,
    otherwise: str = "",
) -> Case:
    """The case, locked for a supervisor's decision; NotFound when there is none, Conflict (`complaint <ref>
    <otherwise>`) when its state does not allow the decision."""
    case = await repo.get_case(complaint_id, lock=True)
    if case is None:
        raise NotFound(f"no complaint {complaint_id}")
    if not allowed(case):
        raise Conflict(f"complaint {case.reference_no} {otherwise}")
    return case
