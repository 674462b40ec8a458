"""asyncpg pool and the unit of work every handler writes through.

The unit of work owns the transaction: it rolls back unless the handler commits explicitly, and the
outbox rows and processed-event marks written through it commit atomically with the effect.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, NoReturn, Protocol, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import asyncpg
import orjson

from shared.observability import committed

#: orjson made to accept what `json.dumps` accepted: keys that are not strings (written as strings, as json did), and
#: no datetime or dataclass (json refused them: they reach the default below); a UUID or an Enum it writes as
#: their string value where json refused them, which nothing here relies on (today's callers could not pass them).
_AS_JSON_DID = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


#: A batch's rows: dataclasses written natively (their fields), times through `_recordset_value` (in UTC).
_AS_RECORDSET = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _not_json(value: object) -> NoReturn:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_text(value: Any) -> str:
    """A value as the json/jsonb codecs write it (orjson: about ten times `json.dumps`'s speed on an outbox row's
    headers, and every outbox row has them); also for a column of many rows sent as one `text[]` (cast to jsonb in
    SQL), which the per-value codec does not reach. Compact (`{"a":1}`), which jsonb stores as it did `{"a": 1}`."""
    return orjson.dumps(value, default=_not_json, option=_AS_JSON_DID).decode()


def recordset_json(rows: Iterable[Any]) -> str:
    """Rows (mappings or dataclasses, whose fields are the columns) as one JSON array for
    `jsonb_populate_recordset(NULL::table, $1::text::jsonb)`: a batch's rows of one table in one statement, each
    column read back by its own type. Times go in UTC: Postgres accepts a UTC offset of at most 15:59 in a
    timestamp's text, Python's datetimes carry up to 23:59 (as a contract allows), and asyncpg's binary encoding,
    which this replaces, never sent one; a naive time is read as UTC.

    orjson writes a dataclass field by field as `dataclasses.asdict` did, without asdict's deep copy of every value:
    asdict + `json.dumps` were 8 % of dispatch's CPU in a drain (py-spy, 2026-12-06)."""
    return orjson.dumps(list(rows), default=_recordset_value, option=_AS_RECORDSET).decode()


def _recordset_value(value: object) -> str:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value")


async def _init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python objects, so repositories never json.dumps by hand (orjson both ways: the relay
    decodes every outbox row's headers)."""
    await conn.set_type_codec("jsonb", encoder=json_text, decoder=orjson.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json_text, decoder=orjson.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing sent, where asyncpg's default sends `pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;` — one more round trip on every release, each unit of work's.

    Safe because no code leaves session state on a pooled connection: advisory locks are transaction-scoped
    (`pg_advisory_xact_lock`; the migrations' session lock is taken on a connection of their own, not the pool's);
    cursors are opened inside a transaction, which closes them; the only `SET` is a `SET LOCAL`, and asyncpg's own
    `set_config('jit', ...)` around a type lookup restores itself; the two LISTENers (the outbox relay, followup's
    timer worker) hold their connection and `remove_listener` (which sends UNLISTEN) before giving it back — and a
    LISTEN left behind by a failed UNLISTEN only brings notifications asyncpg drops, as it drops the connection's
    listeners on release. Prepared statements are asyncpg's per-connection cache, meant to outlive a release (the
    default reset keeps them too). asyncpg still rolls back a transaction left open before calling this."""


#: The one `sslmode` accepted outside dev and test: encrypted, the server's certificate checked against the CA
#: (`sslrootcert=`) and its name against the host dialled. libpq's default `prefer` falls back to plaintext and checks
#: nothing, so anyone on the path could read the database's traffic or answer in its place.
VERIFIED_SSLMODE = "verify-full"


def refuse_unverified_database(app_env: str, dsn: str) -> None:
    """Refuse to connect outside dev and test unless the URL says `sslmode=verify-full` (the URL itself is never
    repeated: it holds the password). Dev and test keep their local, plaintext embedded Postgres."""
    if app_env in ("dev", "test"):
        return
    modes = parse_qs(urlsplit(dsn).query).get("sslmode", [])
    if modes != [VERIFIED_SSLMODE]:
        found = ",".join(modes) or "none"
        raise ValueError(
            f"refusing to connect in {app_env!r}: DATABASE_URL must carry ?sslmode={VERIFIED_SSLMODE}&sslrootcert="
            f"<the database CA's certificate> (it has sslmode={found}; see deploy/README.md, Postgres over TLS)"
        )


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    """The service's pool: jsonb codecs on every connection, and no session reset on release (`_keep_session`)."""
    kwargs.setdefault("reset", _keep_session)
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs)
    assert pool is not None
    return pool


class UnitOfWork:
    """One transaction on one pooled connection; rolled back unless `commit()` was called."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._committed = False

    def commit(self) -> None:
        """Mark the work as done; the transaction commits when the `unit_of_work` block exits."""
        self._committed = True

    @property
    def committed(self) -> bool:
        return self._committed


class _Rollback(Exception):
    """Raised inside the transaction block to roll back without an error."""


def unit_of_work(pool: asyncpg.Pool) -> AbstractAsyncContextManager[UnitOfWork]:
    """One transaction on a pooled connection, for code that works on the connection itself."""
    return _opener(pool, lambda conn: conn)()


R = TypeVar("R", covariant=True)


class Work(Protocol[R]):
    """What a handler holds inside one transaction: the service's repository, and `commit()`."""

    @property
    def repo(self) -> R: ...

    def commit(self) -> None: ...


#: Opens one transaction: `async with transactions() as work: ...; work.commit()`. Handlers take this, so
#: tests hand them an in-memory fake (tests/fakes/) built on the same repository protocol.
Transactions = Callable[[], AbstractAsyncContextManager[Work[R]]]


class RepositoryUnitOfWork(UnitOfWork, Generic[R]):
    """A unit of work that also carries the service's repository bound to its connection."""

    def __init__(self, conn: asyncpg.Connection, repo: R) -> None:
        super().__init__(conn)
        self._repo = repo

    @property
    def repo(self) -> R:
        return self._repo


def transactions(pool: asyncpg.Pool, repository: Callable[[asyncpg.Connection], R]) -> Transactions[R]:
    """The real `Transactions`: each call opens a pooled connection, a transaction and a repository on it.

    What the work wrote to its outbox (and other facts it noted) reaches the process metrics only once the
    transaction committed (`shared.observability.committed`)."""
    return _opener(pool, repository)


def snapshots(pool: asyncpg.Pool, repository: Callable[[asyncpg.Connection], R]) -> Transactions[R]:
    """Read-only `Transactions` in one snapshot (REPEATABLE READ): a report made of several statements sees
    one state of the read models, so its rows add up to its totals even while a projection commits between them."""
    return _opener(pool, repository, snapshot=True)


def _opener(
    pool: asyncpg.Pool, repository: Callable[[asyncpg.Connection], R], *, snapshot: bool = False
) -> Callable[[], AbstractAsyncContextManager[RepositoryUnitOfWork[R]]]:
    """`transactions` typed with what it opens, so `unit_of_work` can hand out the unit of work itself."""
    isolation: Literal["repeatable_read"] | None = "repeatable_read" if snapshot else None

    @asynccontextmanager
    async def open_work() -> AsyncIterator[RepositoryUnitOfWork[R]]:
        async with pool.acquire() as proxy:
            # The pool lends a proxy that is a Connection at run time (asyncpg's isinstance says so), which
            # asyncpg's stubs do not say: repositories are written against `asyncpg.Connection`.
            conn = cast(asyncpg.Connection, proxy)
            work = RepositoryUnitOfWork(conn, repository(conn))
            with committed.collecting() as written:
                try:
                    async with conn.transaction(isolation=isolation, readonly=snapshot):
                        yield work
                        if not work.committed:
                            raise _Rollback
                except _Rollback:
                    return
            committed.deliver(written)

    return open_work
