"""`DispatchRepository`: everything dispatch's use cases read and write inside one unit of work.

`PostgresDispatchRepository` (postgres.py) implements it over the unit of work's connection, tests/fakes/dispatch.py
in memory; tests/fakes/protocols.py has mypy check that both agree with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

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
from shared.contracts import Event


class DispatchRepository(Protocol):
    """Everything dispatch's handlers read and write inside one transaction."""

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        """Serialise work on these households until the transaction ends (repeat and duplicate checks)."""

    async def households(self, proposed: Sequence[tuple[uuid.UUID, str]]) -> dict[uuid.UUID, str]:
        """Each (customer, proposed household)'s household: the one given before, else the proposal, kept
        (migrations/011). A customer being given one concurrently may be missing (keep the proposal)."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Mark the events processed by `consumer` (one statement for the batch); those not marked before (the
        others' effects are skipped)."""

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        """Queue events for publishing (the transactional outbox)."""

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        """The household's own (not linked) complaints per category accepted since `since` (`Case.household`:
        a customer's household, or the account of a case from before customers were matched)."""

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None:
        """The household's open lead work order in this category (a duplicate joins that case)."""

    async def insert_case(self, case: Case) -> None: ...

    # --- a batch of received complaints: one statement per table for the batch -----------------------------

    async def category_counts_since(self, accounts: Sequence[tuple[str, datetime]]) -> list[dict[str, int]]:
        """`category_counts` for each (household, since), in their order."""

    async def open_work_orders_for_accounts(self, accounts: Iterable[str]) -> dict[str, list[WorkOrder]]:
        """Each household's open lead work orders, oldest first (every household asked is a key)."""

    async def insert_cases(self, cases: Sequence[Case]) -> None: ...

    async def add_classifications(self, entries: Sequence[ClassificationEntry]) -> None: ...

    async def insert_work_orders(self, orders: Sequence[WorkOrder]) -> None: ...

    async def add_histories(self, entries: Sequence[HistoryEntry]) -> None:
        """Append to work orders' audit trails, in the entries' order."""

    async def get_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> Case | None: ...

    async def update_case(self, complaint_id: uuid.UUID, **changes: Any) -> None: ...

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
        """Append to the case's classification history (automatic, returns, supervisor corrections)."""

    async def insert_work_order(self, order: WorkOrder) -> None: ...

    async def get_work_order(self, work_order_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None: ...

    async def open_work_order_of_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        """The case's open lead work order (assisting ones are `open_work_orders_of_case`)."""

    async def latest_work_order_of_case(self, complaint_id: uuid.UUID) -> WorkOrder | None:
        """The case's latest lead work order, open or closed."""

    async def work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        """Every work order the case had, oldest first."""

    async def update_work_order(self, work_order_id: uuid.UUID, **changes: Any) -> None: ...

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
        """Append to the work order's audit trail (`actor_name`: a person's display name beside their staff id)."""

    async def history(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        """The work order's audit trail, oldest first."""

    async def queue(self, department: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        """A page of the department's open work orders, most urgent first (priority, then resolve deadline),
        and how many there are."""

    # --- incidents and outage notices ---------------------------------------------------------------------

    async def lock_faults(self, scopes: Iterable[str]) -> None:
        """Serialise work on these faults (scope + family) until the transaction ends: one incident per fault."""

    async def unsettled_fault_cases(self, scope: str, family: str, since: datetime) -> list[Case]:
        """Cases about this fault accepted since `since` that joined nothing and were not fixed, oldest first."""

    async def open_incident(self, scope: str, family: str, *, lock: bool = False) -> Incident | None: ...

    async def insert_incident(self, incident: Incident) -> None: ...

    async def get_incident(self, incident_id: uuid.UUID, *, lock: bool = False) -> Incident | None: ...

    async def update_incident(self, incident_id: uuid.UUID, **changes: Any) -> None: ...

    async def incident_households(self, incident_id: uuid.UUID) -> int:
        """Distinct households among the incident's callers (an account, or a caller without one)."""

    async def incidents(self, status: str | None, *, limit: int) -> list[Incident]: ...

    async def cases_joined(
        self, *, incident_id: uuid.UUID | None = None, outage_id: uuid.UUID | None = None, unfixed: bool = False
    ) -> list[Case]:
        """The callers of an incident or outage, in the order they joined."""

    async def unfixed_duplicates_of(self, complaint_id: uuid.UUID) -> list[Case]:
        """Same-account duplicates linked to this case, not yet told it was fixed."""

    async def insert_outage(self, outage: Outage) -> None: ...

    async def get_outage(self, outage_id: uuid.UUID, *, lock: bool = False) -> Outage | None: ...

    async def outage_by_source_ref(self, source_ref: str, *, lock: bool = False) -> Outage | None: ...

    async def update_outage(self, outage_id: uuid.UUID, **changes: Any) -> None: ...

    async def outages(self, *, active: bool | None, at: datetime, limit: int) -> list[Outage]: ...

    async def active_outages(self, family: str, at: datetime) -> list[Outage]:
        """Notices of this family in force at `at` (started, not ended), for matching a complaint's fault."""

    # --- triage and corrections -----------------------------------------------------------------------

    async def triage_queue(self, *, limit: int, offset: int) -> tuple[list[Case], int]:
        """A page of the cases waiting for a supervisor, oldest first, and how many wait."""

    async def add_labelled_example(self, example: LabelledExample) -> None: ...

    async def labelled_examples(self) -> list[LabelledExample]:
        """Every correction, oldest first (retraining reads them)."""

    # --- the category model retrained (issue 24: candidates, the gate, the served model) ---------------------

    async def recent_corrections(self, *, limit: int, source: str | None = None) -> list[LabelledExample]:
        """People's corrections, newest first (one source's when named)."""

    async def add_candidate(self, candidate: ModelCandidate) -> bool:
        """A training asked for; False when one is already running."""

    async def abandon_trainings(self, before: datetime, reason: str) -> int:
        """Unfinished trainings asked for before `before` marked failed; how many."""

    async def finish_candidate(self, candidate_id: uuid.UUID, model: bytes | None, **changes: Any) -> None: ...

    async def candidates(self, *, limit: int) -> list[ModelCandidate]:
        """The latest candidates, newest first."""

    async def candidate(self, candidate_id: uuid.UUID, *, lock: bool = False) -> ModelCandidate | None: ...

    async def promote_candidate(self, candidate_id: uuid.UUID, actor: str, at: datetime) -> None:
        """The candidate serves; the one before it is retired."""

    async def served_model(self, *, known_version: str | None = None) -> ServedModelRow | None:
        """The promoted model (bytes only when not `known_version`); None: the shipped one serves."""

    # --- coordinated cases and corrective actions -------------------------------------------------------

    async def open_work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        """Every open work order of the case, lead and assisting, oldest first."""

    async def move_assisting(self, lead_work_order_id: uuid.UUID, new_lead_work_order_id: uuid.UUID) -> None:
        """Open assisting work orders of a lead that closed in favour of a new one now assist the new one."""

    async def insert_corrective_action(self, action: CorrectiveAction) -> None: ...

    async def get_corrective_action(self, action_id: uuid.UUID, *, lock: bool = False) -> CorrectiveAction | None: ...

    async def update_corrective_action(self, action_id: uuid.UUID, **changes: Any) -> None: ...

    async def corrective_actions(
        self,
        *,
        complaint_id: uuid.UUID | None = None,
        status: str | None = None,
        overdue_at: datetime | None = None,
        department: str | None = None,
        limit: int = 500,
    ) -> list[CorrectiveAction]:
        """Corrective actions, nearest deadline first; `overdue_at`: open ones whose deadline passed by then."""

    # --- serious cases: the department's proposal, leadership's decision --------------------------------------

    async def get_serious_proposal(self, work_order_id: uuid.UUID, *, lock: bool = False) -> SeriousProposal | None:
        """The lead work order's latest proposal (cause analysis and corrective actions), if any."""

    async def save_serious_proposal(self, proposal: SeriousProposal) -> None:
        """Write the work order's proposal (a new round replaces the one sent back)."""

    async def serious_work_orders(self, *, limit: int) -> list[WorkOrder]:
        """Open lead work orders of serious and emergency cases, most urgent first."""

    async def serious_proposals(self, work_order_ids: list[uuid.UUID]) -> dict[uuid.UUID, SeriousProposal]:
        """The proposals of these work orders, by work order id (those without one are left out)."""

    # --- field work: crews' jobs, findings, photos ------------------------------------------------------------

    async def crew_jobs(self, crew: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        """A page of the crew's open work orders, most urgent first, and how many there are."""

    async def insert_finding(self, finding: Finding) -> None: ...

    async def findings(self, work_order_id: uuid.UUID) -> list[Finding]:
        """The work order's findings, oldest first."""

    async def insert_photo(self, photo: Photo) -> None: ...

    async def photos(self, work_order_id: uuid.UUID) -> list[Photo]:
        """The work order's photos, oldest first."""

    async def get_photo(self, photo_id: uuid.UUID) -> Photo | None: ...

    # --- contacts and who read them ------------------------------------------------------------------------

    async def get_case_by_reference(self, reference_no: str) -> Case | None: ...

    async def cases(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Case]:
        """The cases of these complaints (a queue page's), by complaint id; unknown ids are left out."""

    async def add_contacts(self, contacts: Sequence[Contact]) -> None:
        """Keep complaints' contact data, at most one per complaint; a later one for the same complaint (intake's
        correction) replaces the one kept, an earlier or the same one (redelivered, replayed) changes nothing."""

    async def contacts(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]: ...

    async def purge_contacts(self, complaint_ids: Sequence[uuid.UUID]) -> int:
        """Delete the contacts of these complaints (an erased customer's), and their cases' exact address and
        coordinates: how many contacts there were."""
        ...

    async def log_contact_reads(self, reads: Sequence[ContactRead]) -> None:
        """Append to the contact-access log."""

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
        """The contact-access log, newest first, filtered."""

    # --- the asset registry -----------------------------------------------------------------------------

    async def asset_registry_version(self) -> int: ...

    async def assets(self) -> list[dict[str, Any]]: ...

    async def save_assets(self, assets: Sequence[dict[str, Any]], at: datetime) -> None:
        """Insert or replace these assets (by id) and bump the registry version."""

    # --- coordination by the customer-service centre (seed 002) ------------------------------------------------

    async def insert_coordinated_case(self, coordinated: CoordinatedCase) -> None: ...

    async def coordinated_case(self, complaint_id: uuid.UUID) -> CoordinatedCase | None: ...

    async def coordinated_cases(self, *, limit: int) -> list[CoordinatedCase]:
        """The cases the centre coordinates, newest first."""
