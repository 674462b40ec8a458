"""Rate limits shared by a service's replicas, counted in Postgres (`<schema>.rate_limit_counts`, shared/sql/002).

Why: an in-memory window (`shared.http.rate_limit.SlidingWindow`) is per process, so with two replicas behind a
balancer a limit lets twice its number through, and a restart forgets it. Here each request that passes adds one
to a row of the service's own table in one atomic upsert, so every replica judges the same count.

How: a *sliding window counter*, one row per (limit, key, fixed window). A request is let through when the current
window's count plus the previous window's count weighted by the share of it still inside the sliding window stays
within the limit — so a burst across a window boundary cannot pass twice the limit, as a plain fixed window lets
it. The check and the increment are one statement (`ON CONFLICT ... DO UPDATE ... WHERE`): two replicas racing for
the last place cannot both win. A refused request adds nothing. The clock is the process's wall clock (injected;
replicas' clocks agree to NTP's accuracy, which is far below a window).

`SharedLimit` puts the process's own sliding window in front as a fast first gate (a flood stopped there costs no
database round trip) and counts in Postgres only what that gate let through.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import asyncpg

from shared.http.rate_limit import SlidingWindow, Verdict

#: Rows older than the previous window are deleted every this many counted requests (per process).
PRUNE_EVERY = 500


class CountedWindow:
    """At most `limit` requests per key in any `window_s` seconds, counted in `"<schema>".rate_limit_counts`
    under `scope` (the limit's name: two limits of one service never share counts)."""

    def __init__(
        self, schema: str, scope: str, limit: int, window_s: int, clock: Callable[[], float], *, prune_every: int = 0
    ) -> None:
        if limit < 1 or window_s < 1:
            raise ValueError("a limit needs at least one request in a window of at least a second")
        self.table, self.scope, self.limit, self.window_s, self.clock = (
            f'"{schema}".rate_limit_counts',
            scope,
            limit,
            window_s,
            clock,
        )
        self._prune_every, self._counted = prune_every or PRUNE_EVERY, 0

    async def hit(self, pool: asyncpg.Pool, key: str) -> Verdict:
        """Count one request for `key` if the limit allows it now; else the seconds until it would."""
        now = self.clock()
        window_no = int(now // self.window_s)
        elapsed = now - window_no * self.window_s
        weight = (self.window_s - elapsed) / self.window_s
        counted = await pool.fetchval(
            f"WITH previous AS (SELECT coalesce(max(hits), 0) AS hits FROM {self.table} "
            "WHERE scope = $1 AND key = $2 AND window_no = $3 - 1) "
            f"INSERT INTO {self.table} AS c (scope, key, window_no, hits) "
            "SELECT $1, $2, $3, 1 FROM previous WHERE previous.hits * $4::float8 + 1 <= $5::integer "
            "ON CONFLICT (scope, key, window_no) DO UPDATE SET hits = c.hits + 1 "
            "WHERE c.hits + 1 + (SELECT hits FROM previous) * $4::float8 <= $5::integer RETURNING hits",
            self.scope,
            key,
            window_no,
            weight,
            self.limit,
        )
        if counted is not None:
            await self._prune(pool, window_no)
            return Verdict(True)
        rows = await pool.fetch(
            f"SELECT window_no, hits FROM {self.table} WHERE scope = $1 AND key = $2 AND window_no >= $3 - 1",
            self.scope,
            key,
            window_no,
        )
        hits = {row["window_no"]: row["hits"] for row in rows}
        return Verdict(False, self._retry_after(elapsed, hits.get(window_no, 0), hits.get(window_no - 1, 0)))

    def _retry_after(self, elapsed: float, current: int, previous: int) -> int:
        """Seconds until one more request fits: until the previous window's share has decayed enough, or, when the
        current window is full, into the next one (where the current count becomes the decaying share)."""
        if current + 1 <= self.limit:
            needed = self.window_s * (1 - (self.limit - current - 1) / previous) if previous else 0.0
            wait = needed - elapsed
        else:
            wait = self.window_s - elapsed + max(0.0, self.window_s * (1 - (self.limit - 1) / current))
        return max(1, math.ceil(round(wait, 6)))

    async def _prune(self, pool: asyncpg.Pool, window_no: int) -> None:
        self._counted += 1
        if self._counted % self._prune_every == 0:
            await pool.execute(
                f"DELETE FROM {self.table} WHERE scope = $1 AND window_no < $2 - 1", self.scope, window_no
            )


class SharedLimit:
    """The process's window first (no round trip for what it already refuses), then the count every replica
    shares; the process's window records only what both let through."""

    def __init__(self, local: SlidingWindow, shared: CountedWindow | None) -> None:
        self.local, self.shared = local, shared

    async def hit(self, pool: asyncpg.Pool | None, key: str) -> Verdict:
        verdict = self.local.check(key)
        if not verdict.allowed:
            return verdict
        if self.shared is not None and pool is not None:
            verdict = await self.shared.hit(pool, key)
            if not verdict.allowed:
                return verdict
        self.local.record(key)
        return verdict
