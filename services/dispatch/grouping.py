"""One fault, many callers: which group a complaint joins, opening incidents, and telling every caller.

A complaint about a fault (`incidents/faults.py`) joins, in this order:
1. an outage notice in force for its family and place — told the cause and ETA, no work order;
2. the open incident of its family and place — no work order of its own, no clock of its own;
3. a new incident, when with it the households complaining about the fault within the window reach the
   threshold (`incidents.toml`). Earlier callers of the fault join it too: their open work orders close as
   merged (reassigned to the incident's, with history), so one crew has one work order with one clock.
Otherwise it is routed on its own, as before.

When the group's fault is fixed (the incident's work order resolved, the outage restored, or — for a
same-account duplicate — the case it duplicates resolved), every caller not yet told gets `complaint.fault_fixed`,
from which followup tells them and schedules their own callback. An ETA change reaches every caller the same way.

Every function works inside the caller's unit of work and returns the events to write; none commits. Callers
hold the fault's advisory lock (`lock_faults`) while they look a group up and change it, and the database
refuses a second open incident for one fault, so two dispatch replicas never open two.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from services.dispatch import events
from services.dispatch.classification import Rules
from services.dispatch.incidents.faults import Fault
from services.dispatch.incidents.policy import IncidentRules
from services.dispatch.model import SYSTEM, Actor, Case, Conflict, Incident, NotFound, Outage, WorkOrder
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import Route, department_for, priority_of
from services.dispatch.workorders.lifecycle import Action, next_status
from services.dispatch.workorders.opening import WorkOrderOpener
from shared.contracts import AssetRef, Category, Event, Family, Severity, WorkOrderStatus


def reference(prefix: str, group_id: uuid.UUID, at: datetime) -> str:
    """INC-20261126-3F2A9C: short enough to read out, unique by the id's first hex digits and the day."""
    return f"{prefix}-{at:%Y%m%d}-{group_id.hex[:6].upper()}"


def outage_covers(outage: Outage, fault: Fault) -> bool:
    """A notice covers a fault of its family on its asset, or anywhere in its area (district, and compound if it
    names one)."""
    if outage.family != fault.family.value:
        return False
    if outage.asset is not None:
        return fault.asset is not None and outage.asset == fault.asset.model_dump(mode="json")
    if outage.district is None or outage.district != fault.district:
        return False
    return outage.compound is None or outage.compound == fault.compound


@dataclass(frozen=True)
class Placement:
    """Where a complaint about a fault goes: an outage notice, the open incident, or a new one (`opens`)."""

    outage: Outage | None = None
    incident: Incident | None = None
    opens: tuple[Case, ...] = ()


@dataclass
class FaultDesk:
    """Incidents and outage notices, for the handlers: they open the unit of work and commit."""

    rules: IncidentRules
    routing: Rules
    orders: WorkOrderOpener

    # --- a complaint about a fault ---------------------------------------------------------------------------

    async def placement(self, repo: DispatchRepository, case: Case, fault: Fault) -> Placement:
        """Where `case` (not yet stored) goes; the caller holds the fault's lock."""
        for outage in await repo.active_outages(fault.family.value, case.accepted_at):
            if outage_covers(outage, fault):
                return Placement(outage=outage)
        incident = await repo.open_incident(fault.scope, fault.family.value, lock=True)
        if incident is not None:
            return Placement(incident=incident)
        earlier = await repo.unsettled_fault_cases(
            fault.scope, fault.family.value, case.accepted_at - self.rules.window
        )
        if len({_household(c) for c in [*earlier, case]}) >= self.rules.threshold_households:
            return Placement(opens=(*earlier, case))
        return Placement()

    async def join_outage(
        self, repo: DispatchRepository, outage: Outage, case: Case, reasons: list[str], cause: uuid.UUID, at: datetime
    ) -> list[Event]:
        outage = replace(outage, complaint_count=outage.complaint_count + 1, updated_at=at)
        await repo.update_outage(outage.outage_id, complaint_count=outage.complaint_count, updated_at=at)
        return [
            events.outage_linked(outage, case, at),
            events.joined(case, incident=None, outage=outage, merged=None, reasons=reasons, causation_id=cause, at=at),
        ]

    async def join_incident(
        self,
        repo: DispatchRepository,
        incident: Incident,
        case: Case,
        reasons: list[str],
        cause: uuid.UUID | None,
        at: datetime,
        *,
        merged: WorkOrder | None = None,
    ) -> tuple[Incident, list[Event]]:
        """Link one more caller (already stored with `incident_id`); the incident's severity follows its
        households, and its work order's priority with it."""
        households = await repo.incident_households(incident.incident_id)
        severity = self.rules.severity_for(households, Severity(incident.severity), Severity(case.severity))
        incident = replace(
            incident, complaint_count=incident.complaint_count + 1, households=households, severity=severity.value
        )
        await repo.update_incident(
            incident.incident_id,
            complaint_count=incident.complaint_count,
            households=households,
            severity=incident.severity,
        )
        await self._raise_work_order(repo, incident, at)
        emitted = [
            events.incident_linked(incident, case, merged, at),
            events.joined(
                case, incident=incident, outage=None, merged=merged, reasons=reasons, causation_id=cause, at=at
            ),
        ]
        return incident, emitted

    async def open_incident(
        self,
        repo: DispatchRepository,
        *,
        family: Family,
        asset: AssetRef | None,
        district: str,
        compound: str | None,
        scope: str,
        members: tuple[Case, ...],
        opened_by: str,
        actor: str,
        channel: str,
        at: datetime,
        eta: datetime | None = None,
        description: tuple[str, str] | None = None,
        asset_names: tuple[str, str] | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> list[Event]:
        """A new incident with its one work order; `members` (stored already) join it, their open work orders
        merged into its."""
        incident_id, work_order_id = uuid.uuid4(), uuid.uuid4()
        rule = self.rules.family(family)
        category = _incident_category(members, rule.categories)
        zh, en = description or _describe(rule.label_zh, rule.label_en, asset, asset_names, compound, district)
        incident = Incident(
            incident_id=incident_id,
            reference_no=reference("INC", incident_id, at),
            family=family.value,
            scope=scope,
            asset=asset.model_dump(mode="json") if asset else None,
            district=district,
            compound=compound,
            department=department_for(category, self.routing).value,
            category=category.value,
            severity=self.rules.severity_for(0, *(Severity(c.severity) for c in members)).value,
            status="open",
            work_order_id=work_order_id,
            complaint_count=0,
            households=0,
            eta=eta,
            description=zh,
            description_en=en,
            opened_by=opened_by,
            actor=actor,
            channel=channel,
            correlation_id=f"incident-{incident_id}",
            opened_at=at,
            resolved_at=None,
        )
        await repo.insert_incident(incident)
        route = Route(
            category=category,
            department=department_for(category, self.routing),
            severity=Severity(incident.severity),
            reasons=(f"incident {incident.reference_no} ({opened_by}): {zh}",),
        )
        order = await self.orders.open(
            repo,
            incident.as_case(),
            route,
            cycle=1,
            start=at,
            previous=None,
            actor=actor,
            at=at,
            incident_id=incident_id,
            work_order_id=work_order_id,
        )
        emitted: list[Event] = [
            events.incident_opened(incident, at),
            events.assigned(incident.as_case(), order, list(route.reasons), "new", causation_id, at),
        ]
        for position, member in enumerate(members, start=1):
            merged, closed = await self._merge(repo, member, incident, order, at)
            await repo.update_case(member.complaint_id, incident_id=incident_id)
            member = replace(member, incident_id=incident_id)
            emitted += closed
            incident, linked = await self.join_incident(
                repo,
                incident,
                member,
                [f"joined incident {incident.reference_no}"],
                causation_id if position == len(members) else None,  # the complaint that made the threshold
                at,
                merged=merged,
            )
            emitted += linked
        return emitted

    async def _merge(
        self, repo: DispatchRepository, case: Case, incident: Incident, into: WorkOrder, at: datetime
    ) -> tuple[WorkOrder | None, list[Event]]:
        """Close an earlier caller's open work order as merged into the incident's (the `reassigned` transition,
        so every consumer stops its clocks as for any reassignment)."""
        order = await repo.open_work_order_of_case(case.complaint_id, lock=True)
        if order is None:
            return None, []
        reason = f"merged into incident {incident.reference_no}"
        target = next_status(Action.REASSIGN, WorkOrderStatus(order.status))
        await repo.update_work_order(order.work_order_id, status=target.value, updated_at=at, closing_reason=reason)
        await repo.add_history(
            work_order_id=order.work_order_id,
            action="merge",
            from_status=order.status,
            to_status=target.value,
            actor="dispatch",
            details={"incident_id": str(incident.incident_id), "into_work_order_id": str(into.work_order_id)},
            at=at,
        )
        closed = replace(order, status=target.value, updated_at=at, closing_reason=reason)
        return closed, [events.reassigned(closed, case, SYSTEM, at, reason, into)]

    async def _raise_work_order(self, repo: DispatchRepository, incident: Incident, at: datetime) -> None:
        order = await repo.get_work_order(incident.work_order_id, lock=True)
        if order is None or Severity(order.severity).rank >= Severity(incident.severity).rank:
            return
        severity = Severity(incident.severity)
        await repo.update_work_order(
            order.work_order_id, severity=severity.value, priority=priority_of(severity), updated_at=at
        )
        await repo.add_history(
            work_order_id=order.work_order_id,
            action="severity",
            from_status=order.status,
            to_status=order.status,
            actor="dispatch",
            details={"severity": severity.value, "households": incident.households},
            at=at,
        )

    # --- operators ------------------------------------------------------------------------------------------

    async def set_incident_eta(
        self,
        repo: DispatchRepository,
        incident_id: uuid.UUID,
        eta: datetime,
        note: str | None,
        actor: Actor,
        at: datetime,
    ) -> tuple[Incident, list[Event]]:
        incident = await repo.get_incident(incident_id, lock=True)
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        if not actor.may_handle(incident.department):
            raise NotFound(f"no incident {incident_id} for {actor.name}")
        if incident.status != "open":
            raise Conflict(f"incident {incident.reference_no} is {incident.status}")
        previous = incident.eta
        incident = replace(incident, eta=eta)
        await repo.update_incident(incident_id, eta=eta)
        emitted = [events.incident_eta_updated(incident, previous, note, actor.name, at)]
        for case in await repo.cases_joined(incident_id=incident_id, unfixed=True):
            emitted.append(events.eta_changed(case, eta=eta, previous=previous, note=note, at=at))
        return incident, emitted

    async def incident_resolved(
        self, repo: DispatchRepository, order: WorkOrder, actor: str, at: datetime
    ) -> list[Event]:
        """The incident's work order was resolved: the incident too, and every caller is told."""
        assert order.incident_id is not None
        incident = await repo.get_incident(order.incident_id, lock=True)
        assert incident is not None
        incident = replace(incident, status="resolved", resolved_at=at)
        await repo.update_incident(incident.incident_id, status="resolved", resolved_at=at)
        callers = await repo.cases_joined(incident_id=incident.incident_id, unfixed=True)
        return [
            events.incident_resolved(incident, order, actor, at),
            *await self.fixed(
                repo, callers, work_order=order, department=order.department, resolution=order.resolution or "", at=at
            ),
        ]

    async def fixed(
        self,
        repo: DispatchRepository,
        callers: list[Case],
        *,
        work_order: WorkOrder | None,
        department: str | None,
        resolution: str,
        at: datetime,
    ) -> list[Event]:
        """Tell each caller their fault is fixed; each gets the callback limit of their own case."""
        emitted: list[Event] = []
        for case in callers:
            await repo.update_case(case.complaint_id, fixed_at=at)
            emitted.append(
                events.fault_fixed(
                    case,
                    work_order=work_order,
                    department=department or department_for(Category(case.category), self.routing).value,
                    resolution=resolution,
                    callback_limit=self.orders.callback_limit(case, at),
                    at=at,
                )
            )
        return emitted

    async def outage_eta(
        self,
        repo: DispatchRepository,
        outage: Outage,
        expected_end: datetime,
        note: str | None,
        actor: str,
        at: datetime,
    ) -> list[Event]:
        if outage.status != "active":
            raise Conflict(f"outage {outage.reference_no} has ended")
        previous = outage.expected_end
        outage = replace(outage, expected_end=expected_end, updated_at=at)
        await repo.update_outage(outage.outage_id, expected_end=expected_end, updated_at=at)
        emitted = [events.outage_updated(outage, previous, note, actor, at)]
        for case in await repo.cases_joined(outage_id=outage.outage_id, unfixed=True):
            emitted.append(events.eta_changed(case, eta=expected_end, previous=previous, note=note, at=at))
        return emitted

    async def outage_restored(
        self, repo: DispatchRepository, outage: Outage, note: str | None, actor: str, at: datetime
    ) -> list[Event]:
        if outage.status != "active":
            raise Conflict(f"outage {outage.reference_no} has ended")
        outage = replace(outage, status="ended", ended_at=at, updated_at=at)
        await repo.update_outage(outage.outage_id, status="ended", ended_at=at, updated_at=at)
        callers = await repo.cases_joined(outage_id=outage.outage_id, unfixed=True)
        resolution = note or f"{outage.description}: supply restored"
        return [
            events.outage_ended(outage, actor, at),
            *await self.fixed(repo, callers, work_order=None, department=None, resolution=resolution, at=at),
        ]


#: How an asset type reads in what callers are told, when the registry has no name for the asset.
_ASSET_WORDS = {
    "heat_exchange_station": ("换热站", "heat-exchange station"),
    "feeder": ("线路", "feeder"),
    "water_main": ("供水干管", "water main"),
    "gas_line": ("燃气管线", "gas line"),
}


def _describe(
    label_zh: str,
    label_en: str,
    asset: AssetRef | None,
    names: tuple[str, str] | None,
    compound: str | None,
    district: str,
) -> tuple[str, str]:
    """What callers are told the fault is: "长青换热站（HES-0231）供暖故障" / "heating failure at Changqing Heat
    Exchange Station (HES-0231)"; the compound when no asset is known."""
    if asset is None:
        return f"{compound}小区一带{label_zh}", f"{label_en} around {compound} ({district})"
    zh_word, en_word = _ASSET_WORDS[asset.type.value]
    zh_name, en_name = names or (zh_word, en_word)
    return f"{zh_name}（{asset.id}）{label_zh}", f"{label_en} at {en_name or en_word} ({asset.id})"


def _household(case: Case) -> str:
    """A household: its account, or the caller alone when they gave none."""
    return case.account_no or str(case.complaint_id)


def _incident_category(members: tuple[Case, ...], allowed: frozenset[Category]) -> Category:
    """The category most of its callers have (an outage on a tie: a stopped supply is the graver reading)."""
    counts = Counter(Category(c.category) for c in members if Category(c.category) in allowed)
    if not counts:
        return Category.OUTAGE if Category.OUTAGE in allowed else min(allowed)
    top = max(counts.values())
    leaders = [c for c, n in counts.items() if n == top]
    return Category.OUTAGE if Category.OUTAGE in leaders else leaders[0]
