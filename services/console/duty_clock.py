"""The duty page's clock (pure): seconds since the duty manager was called and seconds left to be there (negative:
overdue), from followup's `called_at` and `go_by`; a time followup did not give (or gave unreadable) is None."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def clock_of(call: dict[str, Any], now: datetime) -> dict[str, int | None]:
    called, go_by = _time(call.get("called_at")), _time(call.get("go_by"))
    return {
        "since_s": int((now - called).total_seconds()) if called else None,
        "left_s": int((go_by - now).total_seconds()) if go_by else None,
    }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
