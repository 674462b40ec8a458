"""The reads of cases: one case, its timeline and parts, a household's archive and lookup, the streamed export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from services.reporting.model import CLOSED_STATUSES, Contact
from services.reporting.repository.sql import CASE_SELECT, CaseRow, Tables, of_department
from shared.addresses import address_key


class CaseReads(Tables):
    """What the reports read of single cases and households."""

    async def case_by_reference(self, reference_no: str) -> CaseRow | None:
        return await self._fetchrow(
            f"SELECT {CASE_SELECT} FROM {self.schema}.cases c WHERE c.reference_no = $1", reference_no
        )

    async def case_by_id(self, complaint_id: uuid.UUID) -> CaseRow | None:
        return await self._fetchrow(
            f"SELECT {CASE_SELECT} FROM {self.schema}.cases c WHERE c.complaint_id = $1", complaint_id
        )

    async def timeline(self, complaint_id: uuid.UUID) -> list[Mapping[str, Any]]:
        return await self._fetch(
            f"SELECT event_id, event_type, occurred_at, topic, payload FROM {self.schema}.timeline "
            "WHERE complaint_id = $1 ORDER BY occurred_at, event_id",
            complaint_id,
        )

    async def contacts(self, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        if not complaint_ids:
            return {}
        rows = await self._fetch(
            f"SELECT complaint_id, name, phone FROM {self.schema}.contacts WHERE complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )
        return {r["complaint_id"]: Contact(r["complaint_id"], r["name"], r["phone"]) for r in rows}

    async def household(
        self, account_no: str, *, department: str | None, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]:
        """A household's cases (only a department's, when given), newest first, and how many it has: the account's,
        and every case of the customers its cases were matched to (a 12345 ticket with no account, from the
        customer's phone, is in its archive)."""
        s = self.schema
        where = (
            f"(c.account_no = $1 OR c.customer_id IN (SELECT customer_id FROM {s}.cases "
            f"WHERE account_no = $1 AND customer_id IS NOT NULL)) AND {of_department('$2', s)}"
        )
        # Counted first: two statements see two moments, and a case projected between them must not make the
        # total promise more than the page holds (CI48: total 3, no items). Cases are only ever added here.
        total = await self.conn.fetchval(
            f"SELECT count(*) FROM {self.schema}.cases c WHERE {where}", account_no, department
        )
        rows = await self._fetch(
            f"SELECT {CASE_SELECT} FROM {self.schema}.cases c WHERE {where} "
            "ORDER BY c.accepted_at DESC, c.complaint_id LIMIT $3 OFFSET $4",
            account_no,
            department,
            limit,
            offset,
        )
        return rows, total

    async def household_lookup(
        self,
        *,
        phone: str | None,
        account_no: str | None,
        address: str | None,
        department: str | None = None,
        limit: int,
    ) -> tuple[list[CaseRow], int]:
        """The cases of the households matching any of the given keys: cases whose caller had this phone number,
        of this account, or at an address containing this text or written another way with the same key
        (shared/addresses.py: "长青小区3-2-301" finds "长青小区3号楼2单元301室") — and every other case of an
        account or a customer found so (a household is its customer, or its account before customers were
        matched); only a department's, when given. Open ones first, then newest; and how many there are. The
        address is also a substring match (a scan of the cases: agents type part of it)."""
        s = self.schema
        matched = (
            f"SELECT complaint_id FROM {s}.contacts WHERE $1::text IS NOT NULL AND phone = $1 "
            f"UNION SELECT complaint_id FROM {s}.cases WHERE $2::text IS NOT NULL AND account_no = $2 "
            f"UNION SELECT complaint_id FROM {s}.cases WHERE $3::text IS NOT NULL AND strpos(address, $3) > 0 "
            f"UNION SELECT complaint_id FROM {s}.cases WHERE address_key = $5"
        )
        found = (
            f"WITH matched AS ({matched}), households AS (SELECT DISTINCT account_no FROM {s}.cases "
            "WHERE complaint_id IN (SELECT complaint_id FROM matched) AND account_no IS NOT NULL), "
            f"customers AS (SELECT DISTINCT customer_id FROM {s}.cases WHERE customer_id IS NOT NULL AND "
            "(complaint_id IN (SELECT complaint_id FROM matched) "
            "OR account_no IN (SELECT account_no FROM households))) "
            f"SELECT {{columns}} FROM {s}.cases c WHERE (c.complaint_id IN (SELECT complaint_id FROM matched) "
            "OR c.account_no IN (SELECT account_no FROM households) "
            f"OR c.customer_id IN (SELECT customer_id FROM customers)) AND {of_department('$4', s)}"
        )
        key = (address_key(address) or None) if address is not None else None
        closed = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)
        rows = await self._fetch(
            found.format(columns=f"{CASE_SELECT}, c.status NOT IN ({closed}) AS open")
            + " ORDER BY open DESC, c.accepted_at DESC NULLS LAST, c.complaint_id LIMIT $6",
            phone,
            account_no,
            address,
            department,
            key,
            limit,
        )
        total = await self.conn.fetchval(
            f"SELECT count(*) FROM ({found.format(columns='1')}) f", phone, account_no, address, department, key
        )
        return rows, total

    async def cases_accepted_between(
        self, since: datetime, until: datetime, *, department: str | None = None, batch_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The cases accepted in [since, until) (only a department's, when given), oldest first, in batches, through
        a server-side cursor (an export never holds them all). Needs a connection inside a transaction."""
        batch: list[dict[str, Any]] = []
        async for record in self.conn.cursor(  # type: ignore[union-attr]  # a connection, not the pool
            f"SELECT {CASE_SELECT} FROM {self.schema}.cases c WHERE c.accepted_at >= $1 AND c.accepted_at < $2 "
            f"AND {of_department('$3', self.schema)} ORDER BY c.accepted_at, c.complaint_id",
            since,
            until,
            department,
        ):
            batch.append(dict(record))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count_cases(self) -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {self.schema}.cases"))

    async def case_handling(self, complaint_id: uuid.UUID) -> Mapping[str, Any] | None:
        """A case's cause analysis and escalations (not in `CASE_FIELDS`: no CSV column holds a list)."""
        return await self._fetchrow(
            f"SELECT cause_analysis, escalations FROM {self.schema}.cases WHERE complaint_id = $1", complaint_id
        )

    async def work_orders(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("work_orders", "assigned_at NULLS LAST, work_order_id", complaint_ids)

    async def callbacks(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("callbacks", "due_at, callback_id", complaint_ids)

    async def corrective_actions(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("corrective_actions", "deadline, action_id", complaint_ids)

    async def messages(self, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._parts("messages", "requested_at, notification_id", complaint_ids)

    async def _parts(self, table: str, order: str, complaint_ids: list[uuid.UUID]) -> list[Mapping[str, Any]]:
        return await self._fetch(
            f"SELECT * FROM {self.schema}.{table} WHERE complaint_id = ANY($1::uuid[]) ORDER BY complaint_id, {order}",
            complaint_ids,
        )
