"""All of dispatch's SQL: cases, work orders, their histories, the outbox and processed-event marks.

`DispatchRepository` is what handlers need; `PostgresDispatchRepository` implements it over the connection of
one unit of work (`shared.db.transactions`), and tests/fakes/dispatch.py implements it in memory. A repository
never commits: the handler's unit of work does, so a state change, its events (outbox rows) and the mark that
an incoming event was processed are written atomically.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, Protocol, TypeVar

import asyncpg

from services.dispatch.model import (
    Case,
    Contact,
    ContactRead,
    CorrectiveAction,
    Finding,
    Incident,
    LabelledExample,
    Outage,
    Photo,
    WorkOrder,
)
from services.dispatch.workorders.lifecycle import OPEN
from shared import idempotency, outbox
from shared.contracts import Event

#: Dispatch's Postgres schema: its tables, its outbox and its processed-event marks.
SCHEMA = "dispatch"


class DispatchRepository(Protocol):
    """Everything dispatch's handlers read and write inside one transaction."""

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        """Serialise work on these accounts until the transaction ends (repeat and duplicate checks)."""

    async def first_delivery(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Mark the event processed by `consumer`; False when it already was (skip the effect)."""

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        """Queue events for publishing (the transactional outbox)."""

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        """The account's own (not linked) complaints per category accepted since `since`."""

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None:
        """The account's open lead work order in this category (a duplicate joins that case)."""

    async def insert_case(self, case: Case) -> None: ...

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

    async def add_contact(self, contact: Contact) -> None:
        """Keep a complaint's contact data; a second one for the same complaint changes nothing."""

    async def contacts(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]: ...

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


_CASE_COLUMNS = ", ".join(f.name for f in fields(Case))
_WO_COLUMNS = ", ".join(f.name for f in fields(WorkOrder))
_INCIDENT_COLUMNS = ", ".join(f.name for f in fields(Incident))
_OUTAGE_COLUMNS = ", ".join(f.name for f in fields(Outage))
_ACTION_COLUMNS = ", ".join(f.name for f in fields(CorrectiveAction))
_CONTACT_COLUMNS = ", ".join(f.name for f in fields(Contact))
_READ_COLUMNS = ", ".join(f.name for f in fields(ContactRead))
_OPEN = [s.value for s in OPEN]
_Row = TypeVar("_Row")


def _placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


def _work_order(row: asyncpg.Record | None) -> WorkOrder | None:
    return WorkOrder(**dict(row)) if row else None


class PostgresDispatchRepository:
    """`DispatchRepository` on the connection of the caller's unit of work."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock_accounts(self, accounts: Iterable[str]) -> None:
        """Advisory locks, because dispatch replicas read what the other may be writing. Sorted, so two
        batches never wait on each other in a cycle."""
        for account in sorted(set(accounts)):
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('dispatch-account:' || $1))", account)

    async def first_delivery(self, consumer: str, event_id: uuid.UUID) -> bool:
        return await idempotency.first_delivery(self.conn, SCHEMA, consumer, event_id)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def category_counts(self, account_no: str, since: datetime) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT category, count(*) AS n FROM dispatch.cases "
            "WHERE account_no = $1 AND accepted_at >= $2 AND linked_to IS NULL GROUP BY category",
            account_no,
            since,
        )
        return {r["category"]: r["n"] for r in rows}

    async def open_work_order_for_account(self, account_no: str, category: str) -> WorkOrder | None:
        row = await self.conn.fetchrow(
            # The account's few cases first (materialized: the planner must not start from all open work orders).
            "WITH account_cases AS MATERIALIZED (SELECT complaint_id FROM dispatch.cases WHERE account_no = $1) "
            f"SELECT {', '.join('w.' + f.name for f in fields(WorkOrder))} FROM account_cases c "
            "JOIN dispatch.work_orders w ON w.complaint_id = c.complaint_id "
            "WHERE w.category = $2 AND w.status = ANY($3::text[]) AND w.role = 'lead' "
            "ORDER BY w.created_at LIMIT 1",
            account_no,
            category,
            _OPEN,
        )
        return _work_order(row)

    async def insert_case(self, case: Case) -> None:
        await self._insert("cases", case)

    async def get_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> Case | None:
        return await self._get(Case, "cases", "complaint_id", complaint_id, lock=lock)

    async def update_case(self, complaint_id: uuid.UUID, **changes: Any) -> None:
        await self._update("cases", "complaint_id", complaint_id, changes)

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
        await self.conn.execute(
            "INSERT INTO dispatch.classification_history "
            "(complaint_id, category, severity, actor, reason, reasons, at, model_version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            complaint_id,
            category,
            severity,
            actor,
            reason,
            reasons,
            at,
            model_version,
        )

    async def insert_work_order(self, order: WorkOrder) -> None:
        await self._insert("work_orders", order)

    async def get_work_order(self, work_order_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE work_order_id = $1{suffix}", work_order_id
        )
        return _work_order(row)

    async def open_work_order_of_case(self, complaint_id: uuid.UUID, *, lock: bool = False) -> WorkOrder | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders "
            f"WHERE complaint_id = $1 AND role = 'lead' AND status = ANY($2::text[]){suffix}",
            complaint_id,
            _OPEN,
        )
        return _work_order(row)

    async def latest_work_order_of_case(self, complaint_id: uuid.UUID) -> WorkOrder | None:
        row = await self.conn.fetchrow(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 AND role = 'lead' "
            "ORDER BY created_at DESC LIMIT 1",
            complaint_id,
        )
        return _work_order(row)

    async def work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        rows = await self.conn.fetch(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 "
            "ORDER BY created_at, work_order_id",
            complaint_id,
        )
        return [WorkOrder(**dict(r)) for r in rows]

    async def update_work_order(self, work_order_id: uuid.UUID, **changes: Any) -> None:
        await self._update("work_orders", "work_order_id", work_order_id, changes)

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
        await self.conn.execute(
            "INSERT INTO dispatch.work_order_history "
            "(work_order_id, action, from_status, to_status, actor, actor_name, details, at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            work_order_id,
            action,
            from_status,
            to_status,
            actor,
            actor_name or actor,
            details,
            at,
        )

    async def history(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT action, from_status, to_status, actor, coalesce(actor_name, actor) AS actor_name, details, at "
            "FROM dispatch.work_order_history WHERE work_order_id = $1 ORDER BY id",
            work_order_id,
        )
        return [dict(r) for r in rows]

    async def queue(self, department: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        rows = await self.conn.fetch(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[]) "
            "ORDER BY priority, resolve_by, work_order_id LIMIT $3 OFFSET $4",
            department,
            _OPEN,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM dispatch.work_orders WHERE department = $1 AND status = ANY($2::text[])",
            department,
            _OPEN,
        )
        return [WorkOrder(**dict(r)) for r in rows], total

    # --- incidents and outage notices ---------------------------------------------------------------------

    async def lock_faults(self, scopes: Iterable[str]) -> None:
        for scope in sorted(set(scopes)):
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('dispatch-fault:' || $1))", scope)

    async def unsettled_fault_cases(self, scope: str, family: str, since: datetime) -> list[Case]:
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE scope = $1 AND family = $2 AND accepted_at >= $3 "
            "AND incident_id IS NULL AND outage_id IS NULL AND fixed_at IS NULL ORDER BY accepted_at, complaint_id",
            scope,
            family,
            since,
        )
        return [Case(**dict(r)) for r in rows]

    async def open_incident(self, scope: str, family: str, *, lock: bool = False) -> Incident | None:
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {_INCIDENT_COLUMNS} FROM dispatch.incidents WHERE scope = $1 AND family = $2 "
            f"AND status = 'open'{suffix}",
            scope,
            family,
        )
        return Incident(**dict(row)) if row else None

    async def insert_incident(self, incident: Incident) -> None:
        await self._insert("incidents", incident)

    async def get_incident(self, incident_id: uuid.UUID, *, lock: bool = False) -> Incident | None:
        return await self._get(Incident, "incidents", "incident_id", incident_id, lock=lock)

    async def update_incident(self, incident_id: uuid.UUID, **changes: Any) -> None:
        await self._update("incidents", "incident_id", incident_id, changes)

    async def incident_households(self, incident_id: uuid.UUID) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(DISTINCT coalesce(account_no, complaint_id::text)) FROM dispatch.cases "
                "WHERE incident_id = $1",
                incident_id,
            )
        )

    async def incidents(self, status: str | None, *, limit: int) -> list[Incident]:
        rows = await self.conn.fetch(
            f"SELECT {_INCIDENT_COLUMNS} FROM dispatch.incidents WHERE ($1::text IS NULL OR status = $1) "
            "ORDER BY opened_at DESC LIMIT $2",
            status,
            limit,
        )
        return [Incident(**dict(r)) for r in rows]

    async def cases_joined(
        self, *, incident_id: uuid.UUID | None = None, outage_id: uuid.UUID | None = None, unfixed: bool = False
    ) -> list[Case]:
        column, value = ("incident_id", incident_id) if incident_id is not None else ("outage_id", outage_id)
        fixed = " AND fixed_at IS NULL" if unfixed else ""
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE {column} = $1{fixed} ORDER BY created_at, complaint_id",
            value,
        )
        return [Case(**dict(r)) for r in rows]

    async def unfixed_duplicates_of(self, complaint_id: uuid.UUID) -> list[Case]:
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE linked_to = $1 AND fixed_at IS NULL "
            "AND incident_id IS NULL AND outage_id IS NULL ORDER BY created_at, complaint_id",
            complaint_id,
        )
        return [Case(**dict(r)) for r in rows]

    async def insert_outage(self, outage: Outage) -> None:
        await self._insert("outages", outage)

    async def get_outage(self, outage_id: uuid.UUID, *, lock: bool = False) -> Outage | None:
        return await self._get(Outage, "outages", "outage_id", outage_id, lock=lock)

    async def outage_by_source_ref(self, source_ref: str, *, lock: bool = False) -> Outage | None:
        return await self._get(Outage, "outages", "source_ref", source_ref, lock=lock)

    async def update_outage(self, outage_id: uuid.UUID, **changes: Any) -> None:
        await self._update("outages", "outage_id", outage_id, changes)

    async def outages(self, *, active: bool | None, at: datetime, limit: int) -> list[Outage]:
        rows = await self.conn.fetch(
            f"SELECT {_OUTAGE_COLUMNS} FROM dispatch.outages WHERE $1::boolean IS NULL "
            "OR ($1 AND status = 'active' AND starts_at <= $2) OR (NOT $1 AND (status <> 'active' OR starts_at > $2)) "
            "ORDER BY starts_at DESC LIMIT $3",
            active,
            at,
            limit,
        )
        return [Outage(**dict(r)) for r in rows]

    async def active_outages(self, family: str, at: datetime) -> list[Outage]:
        rows = await self.conn.fetch(
            f"SELECT {_OUTAGE_COLUMNS} FROM dispatch.outages WHERE status = 'active' AND family = $1 "
            "AND starts_at <= $2 ORDER BY starts_at, outage_id",
            family,
            at,
        )
        return [Outage(**dict(r)) for r in rows]

    # --- triage and corrections -----------------------------------------------------------------------

    async def triage_queue(self, *, limit: int, offset: int) -> tuple[list[Case], int]:
        waiting = "triage_since IS NOT NULL AND triaged_at IS NULL"
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE {waiting} "
            "ORDER BY triage_since, complaint_id LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM dispatch.cases WHERE {waiting}")
        return [Case(**dict(r)) for r in rows], total

    async def add_labelled_example(self, example: LabelledExample) -> None:
        await self._insert("labelled_examples", example)

    async def labelled_examples(self) -> list[LabelledExample]:
        columns = ", ".join(f.name for f in fields(LabelledExample))
        rows = await self.conn.fetch(f"SELECT {columns} FROM dispatch.labelled_examples ORDER BY id")
        return [LabelledExample(**dict(r)) for r in rows]

    # --- coordinated cases and corrective actions -------------------------------------------------------

    async def open_work_orders_of_case(self, complaint_id: uuid.UUID) -> list[WorkOrder]:
        rows = await self.conn.fetch(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE complaint_id = $1 AND status = ANY($2::text[]) "
            "ORDER BY created_at, work_order_id",
            complaint_id,
            _OPEN,
        )
        return [WorkOrder(**dict(r)) for r in rows]

    async def move_assisting(self, lead_work_order_id: uuid.UUID, new_lead_work_order_id: uuid.UUID) -> None:
        await self.conn.execute(
            "UPDATE dispatch.work_orders SET lead_work_order_id = $2 "
            "WHERE lead_work_order_id = $1 AND status = ANY($3::text[])",
            lead_work_order_id,
            new_lead_work_order_id,
            _OPEN,
        )

    async def insert_corrective_action(self, action: CorrectiveAction) -> None:
        await self._insert("corrective_actions", action)

    async def get_corrective_action(self, action_id: uuid.UUID, *, lock: bool = False) -> CorrectiveAction | None:
        return await self._get(CorrectiveAction, "corrective_actions", "action_id", action_id, lock=lock)

    async def update_corrective_action(self, action_id: uuid.UUID, **changes: Any) -> None:
        await self._update("corrective_actions", "action_id", action_id, changes)

    async def corrective_actions(
        self,
        *,
        complaint_id: uuid.UUID | None = None,
        status: str | None = None,
        overdue_at: datetime | None = None,
        department: str | None = None,
        limit: int = 500,
    ) -> list[CorrectiveAction]:
        rows = await self.conn.fetch(
            f"SELECT {_ACTION_COLUMNS} FROM dispatch.corrective_actions "
            "WHERE ($1::uuid IS NULL OR complaint_id = $1) AND ($2::text IS NULL OR status = $2) "
            "AND ($3::timestamptz IS NULL OR (status = 'open' AND deadline < $3)) "
            "AND ($4::text IS NULL OR department = $4) "
            "ORDER BY deadline, action_id LIMIT $5",
            complaint_id,
            status,
            overdue_at,
            department,
            limit,
        )
        return [CorrectiveAction(**dict(r)) for r in rows]

    # --- field work: crews' jobs, findings, photos ------------------------------------------------------------

    async def crew_jobs(self, crew: str, *, limit: int, offset: int) -> tuple[list[WorkOrder], int]:
        rows = await self.conn.fetch(
            f"SELECT {_WO_COLUMNS} FROM dispatch.work_orders WHERE crew = $1 AND status = ANY($2::text[]) "
            "ORDER BY priority, resolve_by, work_order_id LIMIT $3 OFFSET $4",
            crew,
            _OPEN,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM dispatch.work_orders WHERE crew = $1 AND status = ANY($2::text[])", crew, _OPEN
        )
        return [WorkOrder(**dict(r)) for r in rows], total

    async def insert_finding(self, finding: Finding) -> None:
        await self._insert("findings", finding)

    async def findings(self, work_order_id: uuid.UUID) -> list[Finding]:
        return await self._of_work_order(Finding, "findings", "finding_id", work_order_id)

    async def insert_photo(self, photo: Photo) -> None:
        await self._insert("photos", photo)

    async def photos(self, work_order_id: uuid.UUID) -> list[Photo]:
        return await self._of_work_order(Photo, "photos", "photo_id", work_order_id)

    async def get_photo(self, photo_id: uuid.UUID) -> Photo | None:
        return await self._get(Photo, "photos", "photo_id", photo_id, lock=False)

    # --- contacts and who read them ------------------------------------------------------------------------

    async def get_case_by_reference(self, reference_no: str) -> Case | None:
        row = await self.conn.fetchrow(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE reference_no = $1 ORDER BY created_at LIMIT 1",
            reference_no,
        )
        return Case(**dict(row)) if row else None

    async def cases(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Case]:
        rows = await self.conn.fetch(
            f"SELECT {_CASE_COLUMNS} FROM dispatch.cases WHERE complaint_id = ANY($1::uuid[])", list(set(complaint_ids))
        )
        return {r["complaint_id"]: Case(**dict(r)) for r in rows}

    async def add_contact(self, contact: Contact) -> None:
        values = asdict(contact)
        await self.conn.execute(
            f"INSERT INTO dispatch.contacts ({', '.join(values)}) VALUES ({_placeholders(len(values))}) "
            "ON CONFLICT (complaint_id) DO NOTHING",
            *values.values(),
        )

    async def contacts(self, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        rows = await self.conn.fetch(
            f"SELECT {_CONTACT_COLUMNS} FROM dispatch.contacts WHERE complaint_id = ANY($1::uuid[])",
            list(set(complaint_ids)),
        )
        return {r["complaint_id"]: Contact(**dict(r)) for r in rows}

    async def log_contact_reads(self, reads: Sequence[ContactRead]) -> None:
        if not reads:
            return
        await self.conn.executemany(
            f"INSERT INTO dispatch.contact_access_log ({_READ_COLUMNS}) VALUES ({_placeholders(7)})",
            [tuple(asdict(r).values()) for r in reads],
        )

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
        rows = await self.conn.fetch(
            f"SELECT {_READ_COLUMNS} FROM dispatch.contact_access_log "
            "WHERE ($1::uuid IS NULL OR complaint_id = $1) AND ($2::text IS NULL OR reference_no = $2) "
            "AND ($3::text IS NULL OR staff_id = $3) AND ($4::timestamptz IS NULL OR at >= $4) "
            "AND ($5::timestamptz IS NULL OR at < $5) ORDER BY at DESC, id DESC LIMIT $6",
            complaint_id,
            reference_no,
            staff_id,
            since,
            until,
            limit,
        )
        return [ContactRead(**dict(r)) for r in rows]

    # --- the asset registry -----------------------------------------------------------------------------

    async def asset_registry_version(self) -> int:
        return int(await self.conn.fetchval("SELECT version FROM dispatch.asset_registry_version"))

    async def assets(self) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT asset_id, type, name_zh, name_en, district, serves, loaded_at FROM dispatch.assets "
            "ORDER BY asset_id"
        )
        return [dict(r) for r in rows]

    async def save_assets(self, assets: Sequence[dict[str, Any]], at: datetime) -> None:
        await self.conn.executemany(
            "INSERT INTO dispatch.assets (asset_id, type, name_zh, name_en, district, serves, loaded_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (asset_id) DO UPDATE SET type = EXCLUDED.type, "
            "name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, district = EXCLUDED.district, "
            "serves = EXCLUDED.serves, loaded_at = EXCLUDED.loaded_at",
            [(a["asset_id"], a["type"], a["name_zh"], a["name_en"], a["district"], a["serves"], at) for a in assets],
        )
        await self.conn.execute("UPDATE dispatch.asset_registry_version SET version = version + 1")

    async def _insert(self, table: str, row: Any) -> None:
        """One dataclass as one row: its fields are the table's columns."""
        values = asdict(row)
        await self.conn.execute(
            f"INSERT INTO dispatch.{table} ({', '.join(values)}) VALUES ({_placeholders(len(values))})",
            *values.values(),
        )

    async def _get(self, model: type[_Row], table: str, key: str, value: Any, *, lock: bool) -> _Row | None:
        """One row by a unique key as its dataclass; locked for the transaction when asked."""
        columns = ", ".join(f.name for f in fields(model))  # type: ignore[arg-type]
        suffix = " FOR UPDATE" if lock else ""
        row = await self.conn.fetchrow(f"SELECT {columns} FROM dispatch.{table} WHERE {key} = $1{suffix}", value)
        return model(**dict(row)) if row else None

    async def _of_work_order(self, model: type[_Row], table: str, key: str, work_order_id: uuid.UUID) -> list[_Row]:
        """A work order's rows as dataclasses, oldest first (`at`, then the row's own key)."""
        columns = ", ".join(f.name for f in fields(model))  # type: ignore[arg-type]
        rows = await self.conn.fetch(
            f"SELECT {columns} FROM dispatch.{table} WHERE work_order_id = $1 ORDER BY at, {key}", work_order_id
        )
        return [model(**dict(r)) for r in rows]

    async def _update(self, table: str, key: str, value: uuid.UUID, changes: dict[str, Any]) -> None:
        """One row's columns by its key; the column names come from our own code, never from input."""
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await self.conn.execute(f"UPDATE dispatch.{table} SET {sets} WHERE {key} = $1", value, *changes.values())


async def outbox_pending(pool: asyncpg.Pool) -> int:
    """Events written but not yet published: the readiness probe reports it."""
    return int(await pool.fetchval("SELECT count(*) FROM dispatch.outbox"))


async def open_incidents(pool: asyncpg.Pool) -> int:
    """Incidents not yet resolved: the `incidents_open` gauge reads it when scraped."""
    return int(await pool.fetchval("SELECT count(*) FROM dispatch.incidents WHERE status = 'open'"))
