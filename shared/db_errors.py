"""Which failures mean "try later", not "this request or message is bad" (issue 26): one rule for the consumers
(redeliver, never dead-letter) and for HTTP (503 with Retry-After, never 500).

Why by SQLSTATE: a database that is failing over, full or shutting down answers with an error *from Postgres* —
read-only after a failover (25006), disk full and out of memory (class 53), admin shutdown and crash (57P01, 57P02),
a cancelled statement (57014), a lock not available now (55P03) — which asyncpg raises as an ordinary
`PostgresError`, the same base as a constraint violation. Listing exception classes missed them, so a consumer
dead-lettered its in-flight messages after its retries and committed past them. The SQLSTATE classes say what kind
of failure it is, whatever asyncpg names it:

- 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, crash, cancel, cannot
  connect now), 58 system error (I/O): the server cannot do the work now;
- 40 transaction rollback (serialization failure, deadlock): the same work succeeds when run again;
- 25006 read-only transaction (a standby, or a primary demoted by a failover), 55P03 lock not available.

Everything else (22 data exception, 23 integrity constraint, 42 syntax or access, P0 raised by our own SQL) is about
the work itself and does not change by waiting.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError

#: SQLSTATE classes (the first two characters) that mean the database cannot take the work now.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: Single SQLSTATEs outside those classes that mean the same.
TRANSIENT_SQLSTATES = frozenset({"25006", "55P03"})

#: Failures of the connection itself (the server or the network gone), whatever their SQLSTATE.
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError,  # TimeoutError and ConnectionError included
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot do this now (down, failing over, full, shutting down, busy): the same work will succeed
    later; nothing is wrong with it."""
    if isinstance(exc, _CONNECTION_LOST):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
    return False


def dependency_unavailable(exc: BaseException) -> bool:
    """The database or the broker cannot do this now: what a consumer redelivers rather than dead-letters."""
    return database_unavailable(exc) or isinstance(exc, KafkaError)
