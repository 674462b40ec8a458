"""An in-memory `DispatchRepository` and the `Transactions` that hand it out, for unit tests of dispatch's
handlers without a database or a broker.

Like the real unit of work, a transaction works on a copy of the state and replaces the state only when the
handler commits: an exception or a missing `commit()` leaves nothing behind. The outbox (`events`) and the
processed-event marks live in the same state, so a test sees exactly what a commit would have published.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.dispatch.candidates import ModelCandidate, ServedModelRow
from services.dispatch.model import (
    Case,
    ClassificationEntry,
    Contact,
    ContactRead,
    CorrectiveAction,
    Finding,
    HistoryEntry,
    Incident,
    LabelledExample,
    Outage,
    Photo,
    SeriousProposal,
    WorkOrder,
)
from services.dispatch.repository.coordination import CoordinatedCase
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import Event
from tests.fakes.transactions import CopyOnCommit

_OPEN = {s.value for s in OPEN}


@dataclass
class DispatchState:
    """Dispatch's tables, in memory. Dicts keep insertion order, which stands in for `created_at` ties."""

    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    work_orders: dict[uuid.UUID, WorkOrder] = field(default_factory=dict)
    history: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    classifications: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    processed: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    incidents: dict[uuid.UUID, Incident] = field(default_factory=dict)
    outages: dict[uuid.UUID, Outage] = field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    asset_version: int = 0
    examples: list[LabelledExample] = field(default_factory=list)
    corrective_actions: dict[uuid.UUID, CorrectiveAction] = field(default_factory=dict)
    serious_proposals: dict[uuid.UUID, SeriousProposal] = field(default_factory=dict)
    contacts: dict[uuid.UUID, Contact] = field(default_factory=dict)
    contact_reads: list[ContactRead] = field(default_factory=list)
    coordinated_cases: dict[uuid.UUID, CoordinatedCase] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    photos: dict[uuid.UUID, Photo] = field(default_factory=dict)
    #: `dispatch.category_models`: retrained candidates, and their models' bytes.
    candidates: dict[uuid.UUID, ModelCandidate] = field(default_factory=dict)
    model_bytes: dict[uuid.UUID, bytes] = field(default_factory=dict)
    #: `dispatch.customer_households`: customer → the household its repeats are counted under.
    customer_households: dict[uuid.UUID, str] = field(default_factory=dict)

    def orders_of(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        return [o for o in self.work_orders.values() if o.complaint_id == complaint_id]

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.events]


class FakeDispatchRepository:
    """`DispatchRepository` over a `DispatchState`; locks are no-ops (one test, one task)."""

    def __init__(self, state: DispatchState) -> None:
        self.state = state

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        return None

    async def households(self, proposed: Sequence[tuple[uuid.UUID, str]]) -> dict[uuid.UUID, str]:
        for customer_id, household in proposed:
            self.state.customer_households.setdefault(customer_id, household)
        return {c: self.state.customer_households[c] for c, _ in proposed}

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {i for i in event_ids if (consumer, i) not in self.state.processed}
        self.state.processed.update((consumer, i) for i in fresh)
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.state.events.extend(events)

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self.state.cases.values():
            if case.household == account_no and case.accepted_at >= since and case.linked_to is None:
                counts[case.category] = counts.get(case.category, 0) + 1
        return counts

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None:
        for order in self.state.work_orders.values():
            case = self.state.cases.get(order.complaint_id)
            if (
                case
                and case.household == account_no
                and order.category == category
                and order.status in _OPEN
                and order.role == "lead"
            ):
                return order
        return None

    async def category_counts_since(self, accounts: Sequence[tuple[str, datetime]]) -> list[dict[str, int]]:
        return [await self.category_counts(account, since) for account, since in accounts]

    async def open_work_orders_for_accounts(self, accounts: Iterable[str]) -> dict[str, list[WorkOrder]]:
        found: dict[str, list[WorkOrder]] = {a: [] for a in sorted(set(accounts))}
        for order in self.state.work_orders.values():  # insertion order stands in for created_at
            case = self.state.cases.get(order.complaint_id)
            if case and case.household in found and order.status in _OPEN and order.role == "lead":
                found[case.household].append(order)
        return found

    async def insert_cases(self, cases: Sequence[Case]) -> None:
        for case in cases:
            await self.insert_case(case)

    async def add_classifications(self, entries: Sequence[ClassificationEntry]) -> None:
        for e in entries:
            await self.add_classification(
                complaint_id=e.complaint_id,
                category=e.category,
                severity=e.severity,
                actor=e.actor,
                reason=e.reason,
                reasons=e.reasons,
                at=e.at,
                model_version=e.model_version,
            )

    async def insert_work_orders(self, orders: Sequence[WorkOrder]) -> None:
        for order in orders:
            await self.insert_work_order(order)

    async def add_histories(self, entries: Sequence[HistoryEntry]) -> None:
        for e in entries:
            await self.add_history(
                work_order_id=e.work_order_id,
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                actor=e.actor,
                details=e.details,
                at=e.at,
                actor_name=e.actor_name,
            )

    async def insert_case(self, case: Case) -> None:
        if case.complaint_id in self.state.cases:
            raise ValueError(f"duplicate case {case.complaint_id}")
        self.state.cases[case.complaint_id] = case

    async def get_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> Case | None:
        return self.state.cases.get(complaint_id)

    async def update_case(self, complaint_id: uuid.UUID, **changes: Any) -> None:
        self.state.cases[complaint_id] = replace(self.state.cases[complaint_id], **changes)

    async def add_classification(
        self,
        *,
        complaint_id: uuid.UUID,
        category: str,
        severity: str,
        actor: str,
        reason: str | None,
        reasons: list[str],
        at: datetime,
        model_version: str | None = None,
    ) -> None:
        self.state.classifications.append(
            {
                "complaint_id": complaint_id,
                "category": category,
                "severity": severity,
                "actor": actor,
                "reason": reason,
                "reasons": list(reasons),
                "at": at,
                "model_version": model_version,
            }
        )

    async def insert_work_order(self, order: WorkOrder) -> None:
        if order.status in _OPEN and order.role == "lead" and await self.open_work_order_of_case(order.complaint_id):
            raise ValueError(f"a second open lead work order for {order.complaint_id}")  # the unique index's rule
        self.state.work_orders[order.work_order_id] = order

    async def get_work_order(self, work_order_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        return self.state.work_orders.get(work_order_id)

    async def open_work_order_of_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        return next((o for o in self.state.orders_of(complaint_id) if o.status in _OPEN and o.role == "lead"), None)

    async def latest_work_order_of_case(self, complaint_id: uuid.UUID) -> WorkOrder | None:
        leads = [o for o in self.state.orders_of(complaint_id) if o.role == "lead"]
        orders = sorted(leads, key=lambda o: o.created_at)  # stable: ties by insertion
        return orders[-1] if orders else None

    async def work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        return sorted(self.state.orders_of(complaint_id), key=lambda o: o.created_at)  # stable: ties by insertion

    async def update_work_order(self, work_order_id: uuid.UUID, **changes: Any) -> None:
        self.state.work_orders[work_order_id] = replace(self.state.work_orders[work_order_id], **changes)

    async def add_history(
        self,
        *,
        work_order_id: uuid.UUID,
        action: str,
        from_status: str | None,
        to_status: str,
        actor: str,
        details: dict[str, Any],
        at: datetime,
        actor_name: str | None = None,
    ) -> None:
        entry = {
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "actor": actor,
            "actor_name": actor_name or actor,
            "details": dict(details),
            "at": at,
        }
        self.state.history.setdefault(work_order_id, []).append(entry)

    async def history(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        return [dict(e) for e in self.state.history.get(work_order_id, [])]

    async def queue(self, department: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        open_orders = [o for o in self.state.work_orders.values() if o.department == department and o.status in _OPEN]
        open_orders.sort(key=lambda o: (o.priority, o.resolve_by, o.work_order_id))
        return open_orders[offset : offset + limit], len(open_orders)

    # --- incidents and outage notices ---------------------------------------------------------------------

    async def lock_faults(self, scopes: Iterable[str]) -> None:
        return None

    async def unsettled_fault_cases(self, scope: str, family: str, since: datetime) -> list[Case]:
        resolved = {o.complaint_id for o in self.state.work_orders.values() if o.status == "resolved"}
        return sorted(
            (
                c
                for c in self.state.cases.values()
                if c.scope == scope
                and c.family == family
                and c.accepted_at >= since
                and c.incident_id is None
                and c.outage_id is None
                and c.fixed_at is None
                and c.complaint_id not in resolved
            ),
            key=lambda c: (c.accepted_at, c.complaint_id),
        )

    async def open_incident(self, scope: str, family: str, *, lock: bool = False) -> Incident | None:
        return next(
            (
                i
                for i in self.state.incidents.values()
                if i.scope == scope and i.family == family and i.status == "open"
            ),
            None,
        )

    async def insert_incident(self, incident: Incident) -> None:
        if await self.open_incident(incident.scope, incident.family) is not None:
            raise ValueError("a second open incident for one fault")  # the unique index's rule
        self.state.incidents[incident.incident_id] = incident

    async def get_incident(self, incident_id: uuid.UUID, *, lock: bool = False) -> Incident | None:
        return self.state.incidents.get(incident_id)

    async def update_incident(self, incident_id: uuid.UUID, **changes: Any) -> None:
        self.state.incidents[incident_id] = replace(self.state.incidents[incident_id], **changes)

    async def incident_households(self, incident_id: uuid.UUID) -> int:
        return len(
            {c.household or str(c.complaint_id) for c in self.state.cases.values() if c.incident_id == incident_id}
        )

    async def incidents(self, status: str | None, *, limit: int) -> list[Incident]:
        found = [i for i in self.state.incidents.values() if status is None or i.status == status]
        return sorted(found, key=lambda i: i.opened_at, reverse=True)[:limit]

    async def cases_joined(
        self, *, incident_id: uuid.UUID | None = None, outage_id: uuid.UUID | None = None, unfixed: bool = False
    ) -> list[Case]:
        return [
            c
            for c in self.state.cases.values()
            if (c.incident_id == incident_id if incident_id is not None else c.outage_id == outage_id)
            and not (unfixed and c.fixed_at is not None)
        ]

    async def unfixed_duplicates_of(self, complaint_id: uuid.UUID) -> list[Case]:
        return [
            c
            for c in self.state.cases.values()
            if c.linked_to == complaint_id and c.fixed_at is None and c.incident_id is None and c.outage_id is None
        ]

    async def insert_outage(self, outage: Outage) -> None:
        self.state.outages[outage.outage_id] = outage

    async def get_outage(self, outage_id: uuid.UUID, *, lock: bool = False) -> Outage | None:
        return self.state.outages.get(outage_id)

    async def outage_by_source_ref(self, source_ref: str, *, lock: bool = False) -> Outage | None:
        return next((o for o in self.state.outages.values() if o.source_ref == source_ref), None)

    async def update_outage(self, outage_id: uuid.UUID, **changes: Any) -> None:
        self.state.outages[outage_id] = replace(self.state.outages[outage_id], **changes)

    async def outages(self, *, active: bool | None, at: datetime, limit: int) -> list[Outage]:
        def in_force(o: Outage) -> bool:
            return o.status == "active" and o.starts_at <= at

        found = [o for o in self.state.outages.values() if active is None or in_force(o) == active]
        return sorted(found, key=lambda o: o.starts_at, reverse=True)[:limit]

    async def active_outages(self, family: str, at: datetime) -> list[Outage]:
        return [
            o for o in self.state.outages.values() if o.status == "active" and o.family == family and o.starts_at <= at
        ]

    async def triage_queue(self, *, limit: int, offset: int) -> tuple[list[Case], int]:
        waiting = sorted(
            (c for c in self.state.cases.values() if c.awaiting_triage),
            key=lambda c: (c.triage_since, c.complaint_id),
        )
        return waiting[offset : offset + limit], len(waiting)

    async def add_labelled_example(self, example: LabelledExample) -> None:
        self.state.examples.append(example)

    async def labelled_examples(self) -> list[LabelledExample]:
        return list(self.state.examples)

    async def recent_corrections(self, *, limit: int, source: str | None = None) -> list[LabelledExample]:
        return [e for e in reversed(self.state.examples) if source is None or e.source == source][:limit]

    async def add_candidate(self, candidate: ModelCandidate) -> bool:
        if any(c.status == "training" for c in self.state.candidates.values()):
            return False
        self.state.candidates[candidate.candidate_id] = replace(candidate, status="training")
        return True

    async def abandon_trainings(self, before: datetime, reason: str) -> int:
        stale = [c for c in self.state.candidates.values() if c.status == "training" and c.requested_at < before]
        for c in stale:
            self.state.candidates[c.candidate_id] = replace(c, status="failed", error=reason)
        return len(stale)

    async def finish_candidate(self, candidate_id: uuid.UUID, model: bytes | None, **changes: Any) -> None:
        self.state.candidates[candidate_id] = replace(self.state.candidates[candidate_id], **changes)
        if model is not None:
            self.state.model_bytes[candidate_id] = model

    async def candidates(self, *, limit: int) -> list[ModelCandidate]:
        return sorted(self.state.candidates.values(), key=lambda c: c.requested_at, reverse=True)[:limit]

    async def candidate(self, candidate_id: uuid.UUID, *, lock: bool = False) -> ModelCandidate | None:
        return self.state.candidates.get(candidate_id)

    async def promote_candidate(self, candidate_id: uuid.UUID, actor: str, at: datetime) -> None:
        for c in list(self.state.candidates.values()):
            if c.status == "current":
                self.state.candidates[c.candidate_id] = replace(c, status="retired")
        chosen = self.state.candidates[candidate_id]
        self.state.candidates[candidate_id] = replace(chosen, status="current", promoted_by=actor, promoted_at=at)

    async def served_model(self, *, known_version: str | None = None) -> ServedModelRow | None:
        current = next((c for c in self.state.candidates.values() if c.status == "current"), None)
        if current is None or current.version is None:
            return None
        raw = b"" if current.version == known_version else self.state.model_bytes[current.candidate_id]
        return ServedModelRow(current.version, raw)

    async def open_work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        return [o for o in self.state.orders_of(complaint_id) if o.status in _OPEN]

    async def move_assisting(self, lead_work_order_id: uuid.UUID, new_lead_work_order_id: uuid.UUID) -> None:
        for order in list(self.state.work_orders.values()):
            if order.lead_work_order_id == lead_work_order_id and order.status in _OPEN:
                await self.update_work_order(order.work_order_id, lead_work_order_id=new_lead_work_order_id)

    async def insert_corrective_action(self, action: CorrectiveAction) -> None:
        self.state.corrective_actions[action.action_id] = action

    async def get_corrective_action(self, action_id: uuid.UUID, *, lock: bool = False) -> CorrectiveAction | None:
        return self.state.corrective_actions.get(action_id)

    async def update_corrective_action(self, action_id: uuid.UUID, **changes: Any) -> None:
        self.state.corrective_actions[action_id] = replace(self.state.corrective_actions[action_id], **changes)

    async def corrective_actions(
        self,
        *,
        complaint_id: uuid.UUID | None = None,
        status: str | None = None,
        overdue_at: datetime | None = None,
        department: str | None = None,
        limit: int = 500,
    ) -> list[CorrectiveAction]:
        found = [
            a
            for a in self.state.corrective_actions.values()
            if (complaint_id is None or a.complaint_id == complaint_id)
            and (status is None or a.status == status)
            and (overdue_at is None or a.overdue(overdue_at))
            and (department is None or a.department == department)
        ]
        return sorted(found, key=lambda a: (a.deadline, a.action_id))[:limit]

    async def get_serious_proposal(self, work_order_id: uuid.UUID, *, lock: bool = False) -> SeriousProposal | None:
        return self.state.serious_proposals.get(work_order_id)

    async def save_serious_proposal(self, proposal: SeriousProposal) -> None:
        self.state.serious_proposals[proposal.work_order_id] = proposal

    async def serious_work_orders(self, *, limit: int) -> list[WorkOrder]:
        found = [
            o
            for o in self.state.work_orders.values()
            if o.role == "lead" and o.severity in ("serious", "emergency") and o.status in _OPEN
        ]
        return sorted(found, key=lambda o: (o.priority, o.resolve_by, o.work_order_id))[:limit]

    async def serious_proposals(self, work_order_ids: list[uuid.UUID]) -> dict[uuid.UUID, SeriousProposal]:
        return {i: self.state.serious_proposals[i] for i in work_order_ids if i in self.state.serious_proposals}

    async def crew_jobs(self, crew: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        jobs = [o for o in self.state.work_orders.values() if o.crew == crew and o.status in _OPEN]
        jobs.sort(key=lambda o: (o.priority, o.resolve_by, o.work_order_id))
        return jobs[offset : offset + limit], len(jobs)

    async def insert_finding(self, finding: Finding) -> None:
        self.state.findings.append(finding)

    async def findings(self, work_order_id: uuid.UUID) -> list[Finding]:
        return [f for f in self.state.findings if f.work_order_id == work_order_id]

    async def insert_photo(self, photo: Photo) -> None:
        self.state.photos[photo.photo_id] = photo

    async def photos(self, work_order_id: uuid.UUID) -> list[Photo]:
        return [p for p in self.state.photos.values() if p.work_order_id == work_order_id]

    async def get_photo(self, photo_id: uuid.UUID) -> Photo | None:
        return self.state.photos.get(photo_id)

    async def get_case_by_reference(self, reference_no: str) -> Case | None:
        return next((c for c in self.state.cases.values() if c.reference_no == reference_no), None)

    async def cases(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Case]:
        return {i: self.state.cases[i] for i in complaint_ids if i in self.state.cases}

    async def add_contacts(self, contacts: Sequence[Contact]) -> None:
        assert len({c.complaint_id for c in contacts}) == len(contacts), "one statement cannot update a row twice"
        for contact in contacts:
            kept = self.state.contacts.get(contact.complaint_id)
            if kept is None or kept.received_at < contact.received_at:
                self.state.contacts[contact.complaint_id] = contact

    async def contacts(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        return {i: self.state.contacts[i] for i in complaint_ids if i in self.state.contacts}

    async def purge_contacts(self, complaint_ids: Sequence[uuid.UUID]) -> int:
        for i in complaint_ids:
            if (case := self.state.cases.get(i)) is not None:
                place = {**case.location, "address": None, "coordinates": None, "sealed": None}
                self.state.cases[i] = replace(case, location=place)
        return sum(self.state.contacts.pop(i, None) is not None for i in complaint_ids)

    async def log_contact_reads(self, reads: Sequence[ContactRead]) -> None:
        self.state.contact_reads.extend(reads)

    async def contact_reads(
        self,
        *,
        complaint_id: uuid.UUID | None = None,
        reference_no: str | None = None,
        staff_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[ContactRead]:
        found = [
            r
            for r in reversed(self.state.contact_reads)
            if (complaint_id is None or r.complaint_id == complaint_id)
            and (reference_no is None or r.reference_no == reference_no)
            and (staff_id is None or r.staff_id == staff_id)
            and (since is None or r.at >= since)
            and (until is None or r.at < until)
        ]
        return found[:limit]

    async def asset_registry_version(self) -> int:
        return self.state.asset_version

    async def assets(self) -> list[dict[str, Any]]:
        return [dict(a) for _, a in sorted(self.state.assets.items())]

    async def save_assets(self, assets: Sequence[dict[str, Any]], at: datetime) -> None:
        for asset in assets:
            self.state.assets[asset["asset_id"]] = {**asset, "loaded_at": at}
        self.state.asset_version += 1

    async def insert_coordinated_case(self, coordinated: CoordinatedCase) -> None:
        self.state.coordinated_cases[coordinated.complaint_id] = coordinated

    async def coordinated_case(self, complaint_id: uuid.UUID) -> CoordinatedCase | None:
        return self.state.coordinated_cases.get(complaint_id)

    async def coordinated_cases(self, *, limit: int) -> list[CoordinatedCase]:
        found = sorted(self.state.coordinated_cases.values(), key=lambda c: c.opened_at, reverse=True)
        return found[:limit]


class FakeTransactions(CopyOnCommit[DispatchState, FakeDispatchRepository]):
    """`Transactions[DispatchRepository]` in memory: `state` is what has been committed so far."""

    def __init__(self, state: DispatchState | None = None) -> None:
        super().__init__(state or DispatchState(), FakeDispatchRepository)
