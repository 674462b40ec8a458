"""Rate limits shared by a service's replicas, counted in Postgres (`<schema>.rate_limit_counts`, shared/sql/002) —
off the request path.

Why shared: an in-memory window (`shared.http.rate_limit.SlidingWindow`) is per process, so with two replicas
behind a balancer a limit lets twice its number through, and a restart forgets it. Why off the request path: a
database round trip per request (one upsert per limit) tripled the pool connections and commits a submission
costs (intake's README measures it). So each process counts locally, and a background task (`RateCounts.run`,
every `RATE_LIMIT_SYNC_SECONDS`, 1 s by default) does one statement per sync that adds the process's deltas per
key and reads back the cluster-wide counts of the keys it knows. A request is refused when the cluster count at the
last sync plus what this process let through since reaches the limit — or when the process's own window alone
does (the gate that still works while Postgres is away: the task logs and retries, the app never fails for it).

How it is counted: a *sliding window counter*, one row per (limit, key, fixed window of the limit's length). The
count judged is the current window's plus the previous window's weighted by the share of it still inside the
sliding window, so a burst across a window boundary cannot pass twice the limit as a plain fixed window lets it.
The weight is taken at the request's moment from the counts read at the last sync. A limit may instead judge its
current fixed window alone (`sliding=False`): what was counted frees at the window's end on every replica, while the
process's own window still slides. For a lock "for the rest of the hour" (the status page's wrong guesses per
reference): the weighted estimate assumes the previous window's count spread evenly over it, so it would hold such
a lock up to `window / limit` past the hour it promises; a fixed window lets `limit` more through at a boundary at
most, and then locks a whole window.

The price, said plainly: the limit is exact per process but **may be overshot across replicas by at most what the
other replicas let through for that key within one sync interval** (what they admitted since their last sync, which
this process has not read yet), plus, for a key a process has never seen, what it lets through before its next sync
tells it the key's count. With 600 writes a minute per credential and a 1 s sync that is a few requests; for a
phone's 10 an hour it is at most one per replica that had not yet seen the phone. Wall clock for the fixed windows
(replicas agree to NTP's accuracy, far below a window); both clocks are injected, so tests need no sleep. A sync
carries every key the process saw in the limit's last two windows (for phones per hour: the phones of two hours),
read back through the table's primary key; rows older than that are pruned every `PRUNE_EVERY` syncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared.http.rate_limit import SlidingWindow, Verdict
from shared.logging import get_logger

log = get_logger(__name__)

#: Rows older than the previous window are deleted every this many syncs (per process).
PRUNE_EVERY = 60

# Adds the deltas (scope, key, window_no, hits) and reads back the current and previous window of every known
# (scope, key, current window_no). The read of the table sees the statement's snapshot (before the upsert), so the
# rows the upsert returned replace the ones it read.
_SYNC = """
WITH added AS (
    INSERT INTO {table} AS c (scope, key, window_no, hits)
    SELECT d.scope, d.key, d.window_no, d.hits
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[]) AS d(scope, key, window_no, hits)
    ON CONFLICT (scope, key, window_no) DO UPDATE SET hits = c.hits + EXCLUDED.hits
    RETURNING c.scope, c.key, c.window_no, c.hits
), known AS (
    SELECT * FROM unnest($5::text[], $6::text[], $7::bigint[]) AS k(scope, key, window_no)
)
SELECT a.scope, a.key, a.window_no, a.hits FROM added a
UNION ALL
SELECT t.scope, t.key, t.window_no, t.hits
FROM {table} t JOIN known k ON t.scope = k.scope AND t.key = k.key AND t.window_no >= k.window_no - 1
WHERE NOT EXISTS (SELECT 1 FROM added a WHERE (a.scope, a.key, a.window_no) = (t.scope, t.key, t.window_no))
"""


@dataclass
class _Counts:
    """One key's counts per fixed window: read back at the last sync, let through since, and being synced now."""

    synced: dict[int, int] = field(default_factory=dict)
    pending: Counter[int] = field(default_factory=Counter)
    in_flight: Counter[int] = field(default_factory=Counter)

    def hits(self, window_no: int) -> int:
        return self.synced.get(window_no, 0) + self.pending[window_no] + self.in_flight[window_no]


class SharedLimit:
    """At most `limit` requests per key in any `window_s` seconds, summed over the replicas that sync into the same
    `scope` (the limit's name: two limits of one service never share counts). `hit` never waits for the database.
    `shared` False: the process's window alone (a service without the table); `sliding` False: the cluster's count
    of the current fixed window alone (module docstring).

    `hit` checks and counts in one; `check` and `record` apart are for a limit on what happens *after* the request
    is let through (the status page's wrong guesses: checked before the lookup, counted only when it misses)."""

    def __init__(
        self,
        scope: str,
        limit: int,
        window_s: int,
        *,
        wall: Callable[[], float],
        monotonic: Callable[[], float],
        shared: bool = True,
        sliding: bool = True,
    ) -> None:
        if limit < 1 or window_s < 1:
            raise ValueError("a limit needs at least one request in a window of at least a second")
        self.scope, self.limit, self.window_s, self.wall, self.shared = scope, limit, window_s, wall, shared
        self.sliding = sliding
        self.local = SlidingWindow(limit, float(window_s), monotonic)
        self._keys: dict[str, _Counts] = {}

    def hit(self, key: str) -> Verdict:
        """Let one request for `key` through if both the process's window and the cluster's count allow it now;
        else the seconds until they would."""
        verdict = self.check(key)
        if verdict.allowed:
            self.record(key)
        return verdict

    def check(self, key: str) -> Verdict:
        """Would one more for `key` be let through now, by the process's window and the cluster's count? Counts
        nothing, but a key new to the process is read back at the next sync: what other replicas counted for it
        (a reference's wrong guesses) then holds here even if this process never counts one."""
        verdict = self.local.check(key)
        if not verdict.allowed:  # the process's own timestamps: the exact wait
            return verdict
        if not self.shared:
            return verdict
        if key not in self._keys:  # nothing known yet: allowed; known from the next sync (dropped there if unused)
            self._keys[key] = _Counts(synced={self.window_no(): 0})
        return self._check(key)

    def record(self, key: str) -> None:
        """Count one for `key` whatever the limit says (it has happened): in the process's window and, pending, for
        the next sync."""
        self.local.record(key)
        if self.shared:
            self._keys.setdefault(key, _Counts()).pending[self.window_no()] += 1

    def window_no(self) -> int:
        return int(self.wall() // self.window_s)

    def _check(self, key: str) -> Verdict:
        counts = self._keys[key]
        now = self.wall()
        window_no = int(now // self.window_s)
        elapsed = now - window_no * self.window_s
        current, previous = counts.hits(window_no), counts.hits(window_no - 1) if self.sliding else 0
        if current + 1 + previous * (self.window_s - elapsed) / self.window_s <= self.limit:
            return Verdict(True)
        return Verdict(False, self._retry_after(elapsed, current, previous))

    def _retry_after(self, elapsed: float, current: int, previous: int) -> int:
        """Seconds until one more request fits: until the previous window's share has decayed enough, or, when the
        current window is full, into the next one (where the current count becomes the decaying share, unless the
        limit is not `sliding`)."""
        if not self.sliding:
            wait = self.window_s - elapsed
        elif current + 1 <= self.limit:
            needed = self.window_s * (1 - (self.limit - current - 1) / previous) if previous else 0.0
            wait = needed - elapsed
        else:
            wait = self.window_s - elapsed + max(0.0, self.window_s * (1 - (self.limit - 1) / current))
        return max(1, math.ceil(round(wait, 6)))

    def take_deltas(self) -> list[tuple[str, int, int]]:
        """(key, window_no, hits) let through since the last sync, now in flight; known keys' old windows dropped."""
        oldest = self.window_no() - 1
        deltas = []
        for key, counts in list(self._keys.items()):
            counts.in_flight, counts.pending = counts.pending, Counter()
            deltas += [(key, w, n) for w, n in counts.in_flight.items() if w >= oldest and n]
            counts.synced = {w: n for w, n in counts.synced.items() if w >= oldest}
            if not counts.synced and not counts.in_flight:
                del self._keys[key]
        return deltas

    def known(self) -> list[str]:
        return list(self._keys)

    def settle(self, counts: dict[str, dict[int, int]]) -> None:
        """The sync succeeded: the in-flight deltas are in `counts`, the cluster's counts read back."""
        for key, state in self._keys.items():
            state.in_flight = Counter()
            state.synced = counts.get(key, {})

    def unsettle(self) -> None:
        """The sync failed: what was in flight is pending again, for the next one."""
        for state in self._keys.values():
            state.pending += state.in_flight
            state.in_flight = Counter()


class RateCounts:
    """A process's shared limits in the service's `"<schema>".rate_limit_counts`, synced together in one statement
    (`sync`); `schema` None: the limits are the process's own (nothing to sync)."""

    def __init__(self, schema: str | None) -> None:
        self.schema = schema
        self.limits: list[SharedLimit] = []
        self._syncs = 0
        self._syncing = asyncio.Lock()  # one sync at a time: each owns the deltas it took until it settles

    def limit(
        self,
        scope: str,
        limit: int,
        window_s: int,
        *,
        wall: Callable[[], float],
        monotonic: Callable[[], float],
        sliding: bool = True,
    ) -> SharedLimit:
        """A new limit, synced with the others (`sliding`: `SharedLimit`'s)."""
        shared = self.schema is not None
        made = SharedLimit(scope, limit, window_s, wall=wall, monotonic=monotonic, shared=shared, sliding=sliding)
        self.limits.append(made)
        return made

    async def sync(self, pool: asyncpg.Pool) -> None:
        """Add this process's deltas and read back the cluster's counts of the keys it knows: one statement."""
        if self.schema is None or not self.limits:
            return
        async with self._syncing:
            await self._sync(pool, f'"{self.schema}".rate_limit_counts')

    async def _sync(self, pool: asyncpg.Pool, table: str) -> None:
        deltas = [(limit.scope, *delta) for limit in self.limits for delta in limit.take_deltas()]
        known = [(limit.scope, key, limit.window_no()) for limit in self.limits for key in limit.known()]
        if not deltas and not known:  # an idle process costs the database nothing
            return
        try:
            rows = await pool.fetch(_SYNC.format(table=table), *_columns(deltas, 4), *_columns(known, 3))
        except BaseException:
            for limit in self.limits:
                limit.unsettle()
            raise
        counts: dict[str, dict[str, dict[int, int]]] = {}
        for row in rows:
            counts.setdefault(row["scope"], {}).setdefault(row["key"], {})[row["window_no"]] = row["hits"]
        for limit in self.limits:
            limit.settle(counts.get(limit.scope, {}))
        self._syncs += 1
        if self._syncs % PRUNE_EVERY == 0:
            for limit in self.limits:
                await pool.execute(
                    f"DELETE FROM {table} WHERE scope = $1 AND window_no < $2 - 1", limit.scope, limit.window_no()
                )

    async def run(self, pool: Callable[[], asyncpg.Pool | None], interval_s: float, stop: asyncio.Event) -> None:
        """Sync every `interval_s` until `stop`, then once more (what this process let through is not forgotten); a
        failed sync (Postgres away) is logged and retried at the next tick — the process's own window keeps limiting
        meanwhile, and the deltas wait for the next sync."""
        while not stop.is_set():
            await self._try_sync(pool())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
        await self._try_sync(pool())

    async def _try_sync(self, pool: asyncpg.Pool | None) -> None:
        if pool is None:
            return
        try:
            await self.sync(pool)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("rate limit counts not synced; retrying", schema=self.schema, error=type(error).__name__)


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as `width` column arrays, for `unnest`."""
    return [[row[i] for row in rows] for i in range(width)]


def syncing_rate_counts(lifespan: Callable[[Any], AbstractAsyncContextManager[Any]] | None) -> Any:
    """The service's lifespan with the app's `RateCounts` synced in the background while it runs: started once the
    service's lifespan is in (its pool set as `app.state.pool`), stopped — with a last sync — before it closes the
    pool. Every `RATE_LIMIT_SYNC_SECONDS` (`app.state.settings.rate_limit_sync_seconds`, 1 s by default)."""

    @asynccontextmanager
    async def combined(app: Any) -> AsyncIterator[Any]:
        async with AsyncExitStack() as stack:
            state = await stack.enter_async_context(lifespan(app)) if lifespan is not None else None
            counts: RateCounts | None = getattr(app.state, "rate_counts", None)
            interval = float(getattr(getattr(app.state, "settings", None), "rate_limit_sync_seconds", 1.0))
            if counts is None or counts.schema is None:
                yield state
                return
            stop = asyncio.Event()
            task = asyncio.create_task(
                counts.run(lambda: getattr(app.state, "pool", None), interval, stop), name="rate-limit-sync"
            )
            try:
                yield state
            finally:
                stop.set()
                await asyncio.gather(task, return_exceptions=True)

    return combined
