"""Reference numbers a caller can read out: TS-YYYYMMDD-NNNNNN, unique and sortable.

The counter restarts every local day. It is taken in its own short statement (not inside the
submission's transaction), so concurrent submissions never queue behind one counter row; a number
is only skipped when two submissions of the same complaint race, which callers never see.
"""

from __future__ import annotations

from datetime import date

import asyncpg

PREFIX = "TS"
DIGITS = 6


def format_reference(day: date, sequence: int) -> str:
    return f"{PREFIX}-{day:%Y%m%d}-{sequence:0{DIGITS}d}"


def looks_like_reference(value: str) -> bool:
    parts = value.split("-")
    return len(parts) == 3 and parts[0] == PREFIX and parts[1].isdigit() and len(parts[1]) == 8 and parts[2].isdigit()


async def next_reference(pool: asyncpg.Pool, day: date) -> str:
    sequence = await pool.fetchval(
        "INSERT INTO intake.reference_counters AS c (day, last_value) VALUES ($1, 1) "
        "ON CONFLICT (day) DO UPDATE SET last_value = c.last_value + 1 RETURNING last_value",
        day,
    )
    # Past a million complaints a day the number grows a digit; it still sorts within the day's width.
    return format_reference(day, sequence)
