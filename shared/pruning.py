"""Pruning: the consumers' processed-event marks and the HTTP idempotency keys deleted once past their horizon, in
small batches, by one background worker per service (issue 26: both tables grew without bound).

What goes, per service schema:
- `processed_events` rows older than `PRUNE_PROCESSED_AFTER_DAYS` (90). A mark only matters while its event can be
  delivered again to the same consumer group. That happens (1) when a batch's offsets were not committed before a
  crash or rebalance: seconds to minutes after the mark; (2) when an operator moves a group back in time
  (`operations.consumer_groups`, e.g. to a backup's time after a restore): as far back as the oldest backup kept;
  (3) through a record's retention, for the topics that have one (`shared.topics`): the ingress topics and their
  dead letters 30 days, `notification.requested` 7. Every other topic is kept forever, so no horizon is past *its*
  retention: 90 days is three times the longest finite retention, and longer than a restore should ever reach back.
- `idempotency_keys` rows (dispatch and followup; `shared.http.idempotency_keys`) older than their documented reuse
  window of 24 hours (`IDEMPOTENCY_KEYS_KEPT`), and no longer leased by a request still running. Past the window
  the middleware already lets the key be used afresh (it overwrites the row), so deleting it changes no answer;
  the middleware's own clean-up (100 rows after each keyed request) only runs while keyed requests come.

Why an event redelivered after its mark is gone is still applied once: the handlers that have effects are
idempotent by their natural keys as well, the mark being the fast path. Checked:
- dispatch's opening of a case (`handlers/route.received`): a complaint already in `dispatch.cases` is skipped
  (`_not_yet_routed`, by complaint id) — no second case, work order or event (tests/service/test_pruning.py
  redelivers one after pruning);
- followup's clocks (`handlers/clocks.track_all`): the work order's copy is inserted `ON CONFLICT (work_order_id)
  DO NOTHING` and only new ones get clocks; timers are keyed (subject, kind, stage, level) and a stopped one is
  marked cancelled, not deleted, so it is never scheduled again; a resolution's callback is keyed (complaint,
  work order) and its message goes only when the callback is new (`callbacks.on_resolved`); the receipt is keyed by
  complaint and remembers it was told; and a customer message for an event past
  `FOLLOWUP_CUSTOMER_MESSAGE_HORIZON_HOURS` is not sent at all;
- notify's requests (by `notification_id`), intake's partner tickets and channel messages (channel ticket id,
  provider message id), channels' cases and pushes (complaint id, push id);
- reporting's projection writes no marks at all (its `first_deliveries` hands every delivery on): the timeline is
  keyed by event id; the console keeps none either (its live feed commits nothing). Neither has anything to prune,
  so neither runs this worker.
Handlers not read for this change (the rarer ones: escalation answers, corrective actions, outage notices) rely on
the same pattern per their modules; should one be found that is not safe by its keys, raise the horizon for its
service (`PRUNE_PROCESSED_AFTER_DAYS`) rather than add an exception here.

Bounded: each batch is one `DELETE` of at most `PRUNE_BATCH_SIZE` rows (1,000) found through an index on the age
column, in its own short transaction, skipping rows another replica is deleting (`SKIP LOCKED`); a pause between
batches leaves the table to the consumers. `pruned_rows_total{service,table}` counts what went.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from prometheus_client import Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db_errors import database_unavailable
from shared.logging import get_logger
from shared.runtime import Worker

log = get_logger(__name__)

#: The reuse window `shared.http.idempotency_keys.IdempotencyKeys` documents and applies (`keep_hours`, 24).
IDEMPOTENCY_KEYS_KEPT = timedelta(hours=24)

PRUNED = Counter(
    "pruned_rows_total",
    "Rows deleted past their horizon by the pruning worker (processed-event marks, idempotency keys).",
    ["service", "table"],
)


class PruningSettings(BaseSettings):
    """The horizons and pace, from the environment (the same variables for every service)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    #: Days a processed-event mark is kept (see the module's docstring for why 90).
    prune_processed_after_days: float = Field(default=90, gt=0)
    #: Rows one DELETE takes at most.
    prune_batch_size: int = Field(default=1000, ge=1, le=50_000)
    #: Seconds between two rounds; and the pause between two batches of one round.
    prune_every_seconds: float = Field(default=3600, gt=0)
    prune_pause_seconds: float = Field(default=0.05, ge=0)


@dataclass(frozen=True)
class Horizon:
    """One table's rule: rows whose `column` is older than `keep` (and that match `also`) may go."""

    table: str
    column: str
    keep: timedelta
    also: str = ""


def horizons(settings: PruningSettings) -> tuple[Horizon, ...]:
    """Every table this worker prunes; one absent from a schema is skipped there."""
    return (
        Horizon("processed_events", "processed_at", timedelta(days=settings.prune_processed_after_days)),
        # A row still leased (a request running) is never taken, whatever its age.
        Horizon("idempotency_keys", "created_at", IDEMPOTENCY_KEYS_KEPT, also="AND locked_until < now()"),
    )


async def prune_batch(pool: asyncpg.Pool, schema: str, horizon: Horizon, limit: int) -> int:
    """Delete at most `limit` rows of `horizon.table` past its horizon, in one statement; how many went."""
    table = f'"{schema}".{horizon.table}'
    status = await pool.execute(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} "
        f"WHERE {horizon.column} < now() - $1::interval {horizon.also} LIMIT $2 FOR UPDATE SKIP LOCKED))",
        horizon.keep,
        limit,
    )
    deleted = int(status.split()[-1])
    PRUNED.labels(schema, horizon.table).inc(deleted)
    return deleted


async def prune(
    pool: asyncpg.Pool, schema: str, settings: PruningSettings, stop: asyncio.Event | None = None
) -> dict[str, int]:
    """One round: each table of `schema` pruned batch after batch until none is full (or `stop`); rows per table."""
    present = await _tables(pool, schema)
    pruned: dict[str, int] = {}
    for horizon in horizons(settings):
        if horizon.table not in present:
            continue
        pruned[horizon.table] = 0
        while stop is None or not stop.is_set():
            deleted = await prune_batch(pool, schema, horizon, settings.prune_batch_size)
            pruned[horizon.table] += deleted
            if deleted < settings.prune_batch_size:
                break
            await asyncio.sleep(settings.prune_pause_seconds)
    return pruned


async def _tables(pool: asyncpg.Pool, schema: str) -> set[str]:
    rows = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    return {r["tablename"] for r in rows}


def pruning_worker(pool: asyncpg.Pool, schema: str, settings: PruningSettings | None = None) -> Worker:
    """The background worker of a service (`shared.runtime.background_work`): a round now, then every
    `PRUNE_EVERY_SECONDS`. A database that cannot take the work now is waited out until the next round."""
    chosen = settings or PruningSettings()

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                pruned = await prune(pool, schema, chosen, stop)
                if any(pruned.values()):
                    log.info("pruned rows past their horizon", schema=schema, **pruned)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                log.warning("pruning postponed: database unavailable", schema=schema, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=chosen.prune_every_seconds)

    run.__qualname__ = "pruning"
    return run
