"""All SQL of the console's own tables (schema `console`): the staff directory, the rota, pending sign-ins and
sessions, behind `ConsoleRepository`. It works on one unit of work's connection and never commits: the door
(`shared.handling`) does. The console holds no other service's data: everything about cases it reads over their APIs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.console.model import PendingSignIn, RotaEntry, Session, StaffMember
from shared import outbox
from shared.contracts import Event
from shared.http.person import Person
from shared.idempotency import first_deliveries

SCHEMA = "console"
_STAFF = "staff_id, display_name, display_name_en, roles, department, crew, contact, active, phone"
_SESSION = (
    "session_hash, person, access_token, access_expires_at, refresh_token, refresh_expires_at, id_token, "
    "csrf_token, created_at, expires_at"
)


class ConsoleRepository(Protocol):
    """What the console's handlers read and write inside one transaction."""

    # -- what the door needs (the console publishes no event and consumes none today)
    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    # -- the directory
    async def upsert_staff(self, members: Sequence[StaffMember]) -> int:
        """Insert or replace each member as imported; returns how many."""
        ...

    async def record_sign_in(self, member: StaffMember, at: datetime) -> None:
        """The provider's word on a person at sign-in: name, roles, department, crew. What only the import knows
        (English name, contact, phone) is kept."""
        ...

    async def staff_member(self, staff_id: str) -> StaffMember | None: ...

    async def staff(
        self, *, department: str | None = None, role: str | None = None, include_inactive: bool = False
    ) -> list[StaffMember]: ...

    async def staff_ids(self) -> set[str]: ...

    async def replace_rota(self, entries: Sequence[RotaEntry]) -> int:
        """The rota as a whole: a published rota replaces the last one."""
        ...

    async def on_duty(self, duty: str, department: str | None, at: datetime) -> list[tuple[RotaEntry, StaffMember]]:
        """Who holds `duty` at `at` (in `department` when given), latest start first."""
        ...

    # -- signing in
    async def add_sign_in(self, pending: PendingSignIn) -> None: ...

    async def take_sign_in(self, state_hash: str, now: datetime) -> PendingSignIn | None:
        """The pending sign-in of this state, removed (a state answers once); None when unknown or expired."""
        ...

    async def add_session(self, session: Session) -> None: ...

    async def session(self, session_hash: str, *, lock: bool = False) -> Session | None:
        """A session by the hash of its id; `lock` holds its row until the transaction ends (one refresh)."""
        ...

    async def update_tokens(self, refreshed: Session) -> None:
        """Store a refreshed session's person, tokens and end (its csrf token and start stay as they were)."""
        ...

    async def delete_session(self, session_hash: str) -> Session | None: ...

    async def forget_expired(self, now: datetime) -> int:
        """Drop sessions and pending sign-ins past their expiry; returns how many."""
        ...


def _member(record: asyncpg.Record) -> StaffMember:
    values = dict(record)
    values["roles"] = tuple(values["roles"] or ())
    return StaffMember(**values)


def person_json(person: Person) -> dict[str, Any]:
    return {
        "staff_id": person.staff_id,
        "name": person.name,
        "roles": sorted(person.roles),
        "department": person.department,
        "crew": person.crew,
    }


def _person(data: dict[str, Any]) -> Person:
    return Person(
        staff_id=data["staff_id"],
        name=data["name"],
        roles=frozenset(data.get("roles") or ()),
        department=data.get("department"),
        crew=data.get("crew"),
    )


def _session(record: asyncpg.Record | None) -> Session | None:
    if record is None:
        return None
    values = dict(record)
    values["person"] = _person(values["person"])
    return Session(**values)


class PostgresConsoleRepository:
    """`ConsoleRepository` on one connection of a unit of work."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def upsert_staff(self, members: Sequence[StaffMember]) -> int:
        await self.conn.executemany(
            f"INSERT INTO {SCHEMA}.staff ({_STAFF}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now()) "
            "ON CONFLICT (staff_id) DO UPDATE SET display_name = EXCLUDED.display_name, "
            "display_name_en = EXCLUDED.display_name_en, roles = EXCLUDED.roles, department = EXCLUDED.department, "
            "crew = EXCLUDED.crew, contact = EXCLUDED.contact, active = EXCLUDED.active, phone = EXCLUDED.phone, "
            "updated_at = now()",
            [
                (
                    m.staff_id,
                    m.display_name,
                    m.display_name_en,
                    list(m.roles),
                    m.department,
                    m.crew,
                    m.contact,
                    m.active,
                    m.phone,
                )
                for m in members
            ],
        )
        return len(members)

    async def record_sign_in(self, member: StaffMember, at: datetime) -> None:
        await self.conn.execute(
            f"INSERT INTO {SCHEMA}.staff ({_STAFF}, updated_at, last_sign_in_at) "
            "VALUES ($1, $2, NULL, $3, $4, $5, NULL, true, NULL, $6, $6) "
            "ON CONFLICT (staff_id) DO UPDATE SET display_name = EXCLUDED.display_name, roles = EXCLUDED.roles, "
            "department = EXCLUDED.department, crew = EXCLUDED.crew, active = true, updated_at = $6, "
            "last_sign_in_at = $6",
            member.staff_id,
            member.display_name,
            list(member.roles),
            member.department,
            member.crew,
            at,
        )

    async def staff_member(self, staff_id: str) -> StaffMember | None:
        found = await self.conn.fetchrow(f"SELECT {_STAFF} FROM {SCHEMA}.staff WHERE staff_id = $1", staff_id)
        return _member(found) if found is not None else None

    async def staff(
        self, *, department: str | None = None, role: str | None = None, include_inactive: bool = False
    ) -> list[StaffMember]:
        rows = await self.conn.fetch(
            f"SELECT {_STAFF} FROM {SCHEMA}.staff "
            "WHERE ($1::text IS NULL OR department = $1) AND ($2::text IS NULL OR $2 = ANY(roles)) "
            "AND (active OR $3) ORDER BY staff_id",
            department,
            role,
            include_inactive,
        )
        return [_member(r) for r in rows]

    async def staff_ids(self) -> set[str]:
        return {r["staff_id"] for r in await self.conn.fetch(f"SELECT staff_id FROM {SCHEMA}.staff")}

    async def replace_rota(self, entries: Sequence[RotaEntry]) -> int:
        await self.conn.execute(f"DELETE FROM {SCHEMA}.rota")
        await self.conn.executemany(
            f"INSERT INTO {SCHEMA}.rota (duty, staff_id, department, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)",
            [(e.duty, e.staff_id, e.department, e.starts_at, e.ends_at) for e in entries],
        )
        return len(entries)

    async def on_duty(self, duty: str, department: str | None, at: datetime) -> list[tuple[RotaEntry, StaffMember]]:
        rows = await self.conn.fetch(
            f"SELECT r.duty, r.staff_id AS rota_staff_id, r.department AS rota_department, r.starts_at, r.ends_at, "
            f"{', '.join('s.' + c for c in _STAFF.split(', '))} "
            f"FROM {SCHEMA}.rota r JOIN {SCHEMA}.staff s ON s.staff_id = r.staff_id "
            "WHERE r.duty = $1 AND ($2::text IS NULL OR r.department = $2) AND r.starts_at <= $3 "
            "AND (r.ends_at IS NULL OR r.ends_at > $3) AND s.active ORDER BY r.starts_at DESC, r.staff_id",
            duty,
            department,
            at,
        )
        found = []
        for r in rows:
            entry = RotaEntry(r["duty"], r["rota_staff_id"], r["rota_department"], r["starts_at"], r["ends_at"])
            member = StaffMember(
                staff_id=r["staff_id"],
                display_name=r["display_name"],
                display_name_en=r["display_name_en"],
                roles=tuple(r["roles"] or ()),
                department=r["department"],
                crew=r["crew"],
                contact=r["contact"],
                active=r["active"],
                phone=r["phone"],
            )
            found.append((entry, member))
        return found

    async def add_sign_in(self, pending: PendingSignIn) -> None:
        await self.conn.execute(
            f"INSERT INTO {SCHEMA}.sign_ins (state_hash, nonce, code_verifier, next_path, expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            pending.state_hash,
            pending.nonce,
            pending.code_verifier,
            pending.next_path,
            pending.expires_at,
        )

    async def take_sign_in(self, state_hash: str, now: datetime) -> PendingSignIn | None:
        found = await self.conn.fetchrow(
            f"DELETE FROM {SCHEMA}.sign_ins WHERE state_hash = $1 "
            "RETURNING state_hash, nonce, code_verifier, next_path, expires_at",
            state_hash,
        )
        if found is None or found["expires_at"] <= now:
            return None
        return PendingSignIn(**dict(found))

    async def add_session(self, session: Session) -> None:
        await self.conn.execute(
            f"INSERT INTO {SCHEMA}.sessions ({_SESSION}, staff_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            session.session_hash,
            person_json(session.person),
            session.access_token,
            session.access_expires_at,
            session.refresh_token,
            session.refresh_expires_at,
            session.id_token,
            session.csrf_token,
            session.created_at,
            session.expires_at,
            session.person.staff_id,
        )

    async def session(self, session_hash: str, *, lock: bool = False) -> Session | None:
        return _session(
            await self.conn.fetchrow(
                f"SELECT {_SESSION} FROM {SCHEMA}.sessions WHERE session_hash = $1{' FOR UPDATE' if lock else ''}",
                session_hash,
            )
        )

    async def update_tokens(self, refreshed: Session) -> None:
        await self.conn.execute(
            f"UPDATE {SCHEMA}.sessions SET person = $2, access_token = $3, access_expires_at = $4, "
            "refresh_token = $5, refresh_expires_at = $6, id_token = $7, expires_at = $8 WHERE session_hash = $1",
            refreshed.session_hash,
            person_json(refreshed.person),
            refreshed.access_token,
            refreshed.access_expires_at,
            refreshed.refresh_token,
            refreshed.refresh_expires_at,
            refreshed.id_token,
            refreshed.expires_at,
        )

    async def delete_session(self, session_hash: str) -> Session | None:
        return _session(
            await self.conn.fetchrow(
                f"DELETE FROM {SCHEMA}.sessions WHERE session_hash = $1 RETURNING {_SESSION}", session_hash
            )
        )

    async def forget_expired(self, now: datetime) -> int:
        gone = 0
        for table in ("sessions", "sign_ins"):
            gone += int(
                await self.conn.fetchval(
                    f"WITH gone AS (DELETE FROM {SCHEMA}.{table} WHERE expires_at <= $1 RETURNING 1) "
                    "SELECT count(*) FROM gone",
                    now,
                )
            )
        return gone


async def staff_count(pool: asyncpg.Pool) -> int:
    """Members in the directory: start-up seeds only an empty one."""
    return int(await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.staff"))
