"""Projects events into the read models, in batches, idempotently.

Per batch: new events go into the timeline (a redelivered `event_id` is skipped), then every case they
touch is re-derived from its whole timeline, and the difference between its new and its previous KPI
contribution is applied to the incremental tables. One transaction per batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.reporting.case_state import COUNTERS, CaseState, TimelineEvent, contribution, derive

_CASE_COLUMNS = [
    f.name for f in fields(CaseState) if f.name not in ("kpi_department", "kpi_category", "counters", "handling_hours")
]


@dataclass(frozen=True)
class Incoming:
    """One consumed message: its topic and decoded JSON envelope."""

    topic: str
    envelope: dict[str, Any]


class Projector:
    def __init__(self, schema: str, timezone: ZoneInfo) -> None:
        self.schema = schema
        self.tz = timezone

    async def apply(self, conn: asyncpg.Connection, batch: list[Incoming]) -> int:
        """Project a batch inside the caller's transaction; returns how many events were new."""
        s = self.schema
        rows = []
        contacts = []
        for item in batch:
            e = item.envelope
            if e["event_type"] == "complaint.contact":
                p = e["payload"]
                contacts.append((uuid.UUID(p["complaint_id"]), p.get("name"), p.get("phone")))
                continue
            rows.append(
                (
                    uuid.UUID(e["event_id"]),
                    uuid.UUID(e["complaint_id"]),
                    e["event_type"],
                    datetime.fromisoformat(e["occurred_at"]),
                    item.topic,
                    e["payload"],
                )
            )
        if contacts:
            await conn.executemany(
                f"INSERT INTO {s}.contacts (complaint_id, name, phone) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                contacts,
            )
        if not rows:
            return 0
        inserted = await conn.fetch(
            f"INSERT INTO {s}.timeline (event_id, complaint_id, event_type, occurred_at, topic, payload) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[]) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING complaint_id",
            *[list(col) for col in zip(*rows, strict=True)],
        )
        touched = sorted({r["complaint_id"] for r in inserted})
        if not touched:
            return 0
        # Lock the touched cases in a fixed order so concurrent batches cannot deadlock on them.
        for complaint_id in touched:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1 || $2))", s, str(complaint_id))
        timelines: dict[uuid.UUID, list[TimelineEvent]] = defaultdict(list)
        for r in await conn.fetch(
            f"SELECT complaint_id, event_id, event_type, occurred_at, payload FROM {s}.timeline "
            "WHERE complaint_id = ANY($1::uuid[])",
            touched,
        ):
            timelines[r["complaint_id"]].append(
                TimelineEvent(str(r["event_id"]), r["event_type"], r["occurred_at"], r["payload"])
            )
        previous = {
            r["complaint_id"]: r["contribution"]
            for r in await conn.fetch(
                f"SELECT complaint_id, contribution FROM {s}.cases WHERE complaint_id = ANY($1::uuid[])", touched
            )
        }
        deltas = _Deltas()
        for complaint_id in touched:
            state = derive(str(complaint_id), timelines[complaint_id])
            new = contribution(state, self.tz)
            deltas.add(previous.get(complaint_id), -1)
            deltas.add(new, +1)
            await self._save_case(conn, state, new)
        await deltas.write(conn, s)
        return len(inserted)

    async def _save_case(self, conn: asyncpg.Connection, state: CaseState, new: dict[str, Any] | None) -> None:
        values = asdict(state)
        row = [values[c] for c in _CASE_COLUMNS]
        row[0] = uuid.UUID(row[0])
        for i, name in enumerate(_CASE_COLUMNS):
            if name in ("work_order_id", "linked_to") and row[i] is not None:
                row[i] = uuid.UUID(row[i])
        columns = [*_CASE_COLUMNS, "contribution"]
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
        await conn.execute(
            f"INSERT INTO {self.schema}.cases ({', '.join(columns)}) VALUES ({placeholders}) "
            f"ON CONFLICT (complaint_id) DO UPDATE SET {updates}",
            *row,
            new,
        )


#: The dimensions KPIs are rolled up along; "all" carries totals and daily trends.
DIMENSIONS = (("department", 1), ("category", 2), ("channel", 3), ("district", 4), ("all", None))


class _Deltas:
    """Sums of contribution changes, written with one upsert per table."""

    def __init__(self) -> None:
        self.kpi: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * (len(COUNTERS) + 1))
        self.handling: dict[tuple[Any, ...], int] = defaultdict(int)
        self.hotspots: dict[tuple[Any, ...], int] = defaultdict(int)

    def add(self, c: dict[str, Any] | None, sign: int) -> None:
        if not c:
            return
        key = c["key"]
        for dimension, index in DIMENSIONS:
            rollup = (dimension, key[0], key[index] if index is not None else "*")
            row = self.kpi[rollup]
            for i, name in enumerate(COUNTERS):
                row[i] += sign * c["counters"][name]
            row[-1] += sign * c["handling_ms"]
            if c["bucket"] is not None:
                self.handling[(*rollup, c["bucket"])] += sign
        self.hotspots[(c["hour"], key[4], key[2])] += sign

    async def write(self, conn: asyncpg.Connection, s: str) -> None:
        kpi = [(*_key(k), *row) for k, row in self.kpi.items() if any(row)]
        if kpi:
            names = ", ".join(COUNTERS)
            adds = ", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n in (*COUNTERS, "handling_ms"))
            placeholders = ", ".join(f"${i}" for i in range(1, len(COUNTERS) + 5))
            await conn.executemany(
                f"INSERT INTO {s}.kpi_rollup AS r (dimension, day, key, {names}, handling_ms) "
                f"VALUES ({placeholders}) ON CONFLICT (dimension, day, key) DO UPDATE SET {adds}",
                kpi,
            )
            # A case that moved out of a row leaves zeros behind; drop them so the tables hold only what
            # the events imply (and a rebuild, whose interleaving differs, yields the same rows).
            zero = " AND ".join(f"{n} = 0" for n in (*COUNTERS, "handling_ms"))
            await conn.executemany(
                f"DELETE FROM {s}.kpi_rollup WHERE dimension = $1 AND day = $2 AND key = $3 AND {zero}",
                [r[:3] for r in kpi],
            )
        handling = [(*_key(k[:3]), k[3], n) for k, n in self.handling.items() if n]
        if handling:
            await conn.executemany(
                f"INSERT INTO {s}.kpi_rollup_handling AS h (dimension, day, key, bucket, n) "
                "VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (dimension, day, key, bucket) DO UPDATE SET n = h.n + EXCLUDED.n",
                handling,
            )
            await conn.executemany(
                f"DELETE FROM {s}.kpi_rollup_handling WHERE dimension = $1 AND day = $2 AND key = $3 "
                "AND bucket = $4 AND n = 0",
                [r[:4] for r in handling],
            )
        hotspots = [(datetime.fromisoformat(k[0]), k[1], k[2], n) for k, n in self.hotspots.items() if n]
        if hotspots:
            await conn.executemany(
                f"INSERT INTO {s}.hotspot_hourly AS h (hour, district, category, n) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (hour, district, category) DO UPDATE SET n = h.n + EXCLUDED.n",
                hotspots,
            )
            await conn.executemany(
                f"DELETE FROM {s}.hotspot_hourly WHERE hour = $1 AND district = $2 AND category = $3 AND n = 0",
                [r[:3] for r in hotspots],
            )


def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    dimension, day, value = key
    return (dimension, datetime.fromisoformat(day).date() if isinstance(day, str) else day, value)


__all__ = ["Incoming", "Projector"]
