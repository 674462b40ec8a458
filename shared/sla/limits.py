"""Time limits as operators write them: "45m", "2h", "3d" (calendar) or "7wd" (workdays)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.sla.calendar import WorkCalendar

_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|wd)\s*$")
Unit = Literal["m", "h", "d", "wd"]


@dataclass(frozen=True)
class Limit:
    amount: float
    unit: Unit

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit}"

    def deadline(self, start: datetime, calendar: WorkCalendar, scale: float = 1.0) -> datetime:
        """When the limit runs out. `scale` shrinks clock limits for tests and drills; workdays are
        counted on the calendar and are scaled as their length in hours."""
        if self.unit == "wd":
            if scale != 1.0:
                return start + timedelta(hours=24 * self.amount * scale)
            return calendar.add_workdays(start, int(self.amount))
        minutes = {"m": 1, "h": 60, "d": 24 * 60}[self.unit] * self.amount
        return start + timedelta(minutes=minutes * scale)


def parse_limit(text: str) -> Limit:
    match = _LIMIT.match(text)
    if not match:
        raise ValueError(f"not a time limit: {text!r} (use e.g. 45m, 2h, 3d or 7wd)")
    amount, unit = float(match.group(1)), match.group(2)
    if unit == "wd" and amount != int(amount):
        raise ValueError(f"workday limits are whole days: {text!r}")
    return Limit(amount, "m" if unit == "min" else unit)  # type: ignore[arg-type]
