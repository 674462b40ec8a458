"""Work orders, cases, incidents' work orders, callers and contacts: what followup knows of each case."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.followup.model import (
    Callback,
    Caller,
    Contact,
    Subject,
    TrackedWorkOrder,
)
from services.followup.repository.rows import (
    ORDER_COLUMNS,
    Rows,
    subject_of,
)
from shared.db import recordset_json

_CONTACT_COLUMNS = ", ".join(Contact.__dataclass_fields__)
#: A later contact (intake's correction) replaces every field of the one kept.
_CONTACT_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in Contact.__dataclass_fields__ if c != "complaint_id")

#: `TrackedWorkOrder`'s fields (the `work_orders` columns, `ORDER_COLUMNS`) with their Postgres types.
_ORDER_TYPES = (
    ("work_order_id", "uuid"),
    ("complaint_id", "uuid"),
    ("reference_no", "text"),
    ("department", "text"),
    ("cycle", "integer"),
    ("category", "text"),
    ("severity", "text"),
    ("channel", "text"),
    ("starts_at", "timestamptz"),
    ("acknowledge_by", "timestamptz"),
    ("on_site_by", "timestamptz"),
    ("resolve_by", "timestamptz"),
    ("interim_reply_by", "timestamptz"),
    ("callback_limit", "text"),
    ("correlation_id", "text"),
    ("status", "text"),
    ("owner", "text"),
    ("role", "text"),
    ("district", "text"),
    ("ladder", "text"),
    ("lead_work_order_id", "uuid"),
)
assert ", ".join(name for name, _ in _ORDER_TYPES) == ORDER_COLUMNS, "one type per TrackedWorkOrder field, in order"


class CaseTables(Rows):
    """Work orders, cases, incidents' work orders, callers and contacts: what followup knows of each case."""

    async def track(self, order: TrackedWorkOrder) -> bool:
        return bool(await self.track_all([order]))

    async def track_all(self, orders: Sequence[TrackedWorkOrder]) -> set[uuid.UUID]:
        """Their cases and the work orders, two multi-row statements for any number; the ids newly tracked (a work
        order already tracked, or named twice, is tracked once: its first copy)."""
        if not orders:
            return set()
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no) "
            "SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING",
            [o.complaint_id for o in orders],
            [o.reference_no for o in orders],
        )
        # WITH ORDINALITY keeps the first copy of a work order named twice (ON CONFLICT skips the later rows).
        columns = [[getattr(o, name) for o in orders] for name, _ in _ORDER_TYPES]
        arrays = ", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(_ORDER_TYPES, 1))
        rows = await self.conn.fetch(
            f"INSERT INTO followup.work_orders ({ORDER_COLUMNS}) SELECT {ORDER_COLUMNS} FROM ("
            f"SELECT DISTINCT ON (work_order_id) * FROM unnest({arrays}) WITH ORDINALITY "
            f"AS o ({ORDER_COLUMNS}, n) ORDER BY work_order_id, n) first_copies "
            "ON CONFLICT (work_order_id) DO NOTHING RETURNING work_order_id",
            *columns,
        )
        return {r["work_order_id"] for r in rows}

    async def work_order(self, work_order_id: uuid.UUID) -> TrackedWorkOrder | None:
        return await self._get(TrackedWorkOrder, "work_orders", "work_order_id", work_order_id)

    async def adopt_owner(self, complaint_id: uuid.UUID, owner: str) -> int:
        status = await self.conn.execute(
            "UPDATE followup.work_orders SET owner = $2 WHERE complaint_id = $1 AND owner IS NULL",
            complaint_id,
            owner,
        )
        return int(status.split()[-1])

    async def record_step(self, work_order_id: uuid.UUID, status: str, step: str | None, at: datetime) -> None:
        if step is None:
            await self.conn.execute(
                "UPDATE followup.work_orders SET status = $2 WHERE work_order_id = $1", work_order_id, status
            )
            return
        column = {"acknowledged": "acknowledged_at", "started": "started_at", "resolved": "resolved_at"}[step]
        await self.conn.execute(
            f"UPDATE followup.work_orders SET status = $2, {column} = COALESCE({column}, $3) WHERE work_order_id = $1",
            work_order_id,
            status,
            at,
        )

    async def record_resolution(self, work_order_id: uuid.UUID, resolution: str | None) -> TrackedWorkOrder | None:
        row = await self.conn.fetchrow(
            f"UPDATE followup.work_orders SET resolution = $2 WHERE work_order_id = $1 RETURNING {ORDER_COLUMNS}",
            work_order_id,
            resolution,
        )
        return TrackedWorkOrder(**dict(row)) if row is not None else None

    async def open_case(self, complaint_id: uuid.UUID, reference_no: str) -> None:
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            complaint_id,
            reference_no,
        )

    async def set_partner_deadline(self, complaint_id: uuid.UUID, reference_no: str, deadline: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no, partner_deadline_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (complaint_id) DO UPDATE SET partner_deadline_at = "
            "LEAST(followup.cases.partner_deadline_at, EXCLUDED.partner_deadline_at)",
            complaint_id,
            reference_no,
            deadline,
        )

    async def partner_deadlines(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        rows = await self.conn.fetch(
            "SELECT complaint_id, partner_deadline_at FROM followup.cases "
            "WHERE complaint_id = ANY($1::uuid[]) AND partner_deadline_at IS NOT NULL",
            list(complaint_ids),
        )
        return {r["complaint_id"]: r["partner_deadline_at"] for r in rows}

    async def hold_to_deadline(self, complaint_id: uuid.UUID, deadline: datetime) -> list[TrackedWorkOrder]:
        rows = await self.conn.fetch(
            "UPDATE followup.work_orders SET resolve_by = LEAST(resolve_by, $2), "
            "acknowledge_by = LEAST(acknowledge_by, $2), on_site_by = LEAST(on_site_by, $2) "
            f"WHERE complaint_id = $1 AND resolve_by > $2 RETURNING {ORDER_COLUMNS}",
            complaint_id,
            deadline,
        )
        return [TrackedWorkOrder(**dict(r)) for r in rows]

    async def set_resolve_by(self, work_order_id: uuid.UUID, resolve_by: datetime) -> TrackedWorkOrder | None:
        row = await self.conn.fetchrow(
            f"UPDATE followup.work_orders SET resolve_by = $2 WHERE work_order_id = $1 RETURNING {ORDER_COLUMNS}",
            work_order_id,
            resolve_by,
        )
        return TrackedWorkOrder(**dict(row)) if row else None

    async def knows_complaint(self, complaint_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM followup.cases WHERE complaint_id = $1) "
                "OR EXISTS (SELECT 1 FROM followup.duty_calls WHERE complaint_id = $1) "
                "OR EXISTS (SELECT 1 FROM followup.invalid_complaints WHERE complaint_id = $1)",
                complaint_id,
            )
        )

    async def work_order_subject(self, work_order_id: uuid.UUID) -> Subject | None:
        return subject_of(
            await self.conn.fetchrow(
                "SELECT w.complaint_id, w.reference_no, w.department, w.correlation_id, w.status, c.phone, "
                "w.work_order_id, w.owner, w.severity "
                "FROM followup.work_orders w LEFT JOIN followup.contacts c ON c.complaint_id = w.complaint_id "
                "WHERE w.work_order_id = $1",
                work_order_id,
            )
        )

    async def severity_and_correlation(self, callback: Callback) -> tuple[str, str]:
        if callback.severity is not None and callback.correlation_id is not None:
            return callback.severity, callback.correlation_id
        row = await self.conn.fetchrow(
            "SELECT severity, correlation_id FROM followup.work_orders WHERE work_order_id = $1",
            callback.work_order_id,
        )
        if row is None:
            raise LookupError(f"work order {callback.work_order_id} is not tracked")
        return row["severity"], row["correlation_id"]

    async def add_incident_work_order(self, work_order_id: uuid.UUID, incident_id: uuid.UUID) -> None:
        await self.conn.execute(
            "INSERT INTO followup.incident_work_orders (work_order_id, incident_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            work_order_id,
            incident_id,
        )

    async def is_incident_work_order(self, work_order_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM followup.incident_work_orders WHERE work_order_id = $1", work_order_id
            )
        )

    async def add_caller(self, caller: Caller) -> bool:
        await self.conn.execute(
            "INSERT INTO followup.cases (complaint_id, reference_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            caller.complaint_id,
            caller.reference_no,
        )
        return await self._insert_new("callers", caller, conflict="complaint_id")

    async def caller(self, complaint_id: uuid.UUID) -> Caller | None:
        return await self._get(Caller, "callers", "complaint_id", complaint_id)

    async def update_caller(self, complaint_id: uuid.UUID, **changes: object) -> None:
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await self.conn.execute(
            f"UPDATE followup.callers SET {sets} WHERE complaint_id = $1", complaint_id, *changes.values()
        )

    async def dissatisfied_count(self, complaint_id: uuid.UUID) -> int:
        count = await self.conn.fetchval(
            "SELECT dissatisfied_count FROM followup.cases WHERE complaint_id = $1 FOR UPDATE", complaint_id
        )
        if count is None:
            raise LookupError(f"complaint {complaint_id} is not tracked")
        return int(count)

    async def set_dissatisfied_count(self, complaint_id: uuid.UUID, count: int) -> None:
        await self.conn.execute(
            "UPDATE followup.cases SET dissatisfied_count = $2 WHERE complaint_id = $1", complaint_id, count
        )

    async def close_case(self, complaint_id: uuid.UUID, at: datetime, outcome: str) -> None:
        await self.conn.execute(
            "UPDATE followup.cases SET closed_at = $2, close_outcome = $3 WHERE complaint_id = $1",
            complaint_id,
            at,
            outcome,
        )

    async def dissatisfied_subject(self, callback_id: uuid.UUID) -> Subject | None:
        return subject_of(
            await self.conn.fetchrow(
                "SELECT b.complaint_id, b.reference_no, b.department, "
                "COALESCE(b.correlation_id, w.correlation_id, '') AS correlation_id, "
                "COALESCE(k.close_outcome, 'open') AS status, c.phone, b.work_order_id, b.owner "
                "FROM followup.callbacks b JOIN followup.cases k ON k.complaint_id = b.complaint_id "
                "LEFT JOIN followup.work_orders w ON w.work_order_id = b.work_order_id "
                "LEFT JOIN followup.contacts c ON c.complaint_id = b.complaint_id WHERE b.callback_id = $1",
                callback_id,
            )
        )

    async def add_contacts(self, contacts: Sequence[Contact]) -> list[Contact]:
        if not contacts:
            return []
        rows = await self.conn.fetch(
            f"INSERT INTO followup.contacts ({_CONTACT_COLUMNS}) SELECT {_CONTACT_COLUMNS} "
            "FROM jsonb_populate_recordset(NULL::followup.contacts, $1::text::jsonb) "
            f"ON CONFLICT (complaint_id) DO UPDATE SET {_CONTACT_UPDATES} "
            "WHERE contacts.contact_at IS NULL OR contacts.contact_at < EXCLUDED.contact_at "
            f"RETURNING {_CONTACT_COLUMNS}",
            recordset_json(contacts),
        )
        return [Contact(**dict(row)) for row in rows]

    async def contacts(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        rows = await self.conn.fetch(
            f"SELECT {_CONTACT_COLUMNS} FROM followup.contacts WHERE complaint_id = ANY($1::uuid[])",
            list(complaint_ids),
        )
        return {row["complaint_id"]: Contact(**dict(row)) for row in rows}

    async def contact(self, complaint_id: uuid.UUID) -> Contact | None:
        return (await self.contacts([complaint_id])).get(complaint_id)

    async def purge_contacts(self, complaint_ids: Sequence[uuid.UUID]) -> int:
        deleted = await self.conn.fetchval(
            "WITH gone AS (DELETE FROM followup.contacts WHERE complaint_id = ANY($1::uuid[]) RETURNING 1) "
            "SELECT count(*) FROM gone",
            list(complaint_ids),
        )
        return int(deleted)

    async def case_owner(self, complaint_id: uuid.UUID) -> str | None:
        owner: str | None = await self.conn.fetchval(
            "SELECT owner FROM followup.work_orders WHERE complaint_id = $1 AND owner IS NOT NULL "
            "ORDER BY starts_at LIMIT 1",
            complaint_id,
        )
        return owner
