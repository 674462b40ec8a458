"""The KPIs of what fell due in a period: timeliness and callback coverage (pure rules).

Why by due date and at report time: counting only resolved cases let an open case past its limit vanish from
timeliness (it lowered nothing until someone resolved it). So a case counts in the period its resolve deadline
falls in: resolved by the deadline (in time), after it (late), or still open with the deadline passed at report
time (open overdue: against it, like a late one). A case still open whose deadline has not come yet is not due:
not counted either way. Callers resolved with their incident or outage notice, invalid complaints and complaints
settled at first contact have no resolve deadline of their own and are not in timeliness.

Callback coverage likewise: of the callbacks due in the period, the share that reached the customer (satisfied
or dissatisfied). A callback closed as unreachable, or still not made past its due time, counts against it; one
not due yet is not counted. Attempts and unreachable callbacks are reported beside it. The survey averages are
over the same callbacks.

The repository counts these in SQL with the same rules (`due_outcome`, `callback_outcome`); the scripted-period
service test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.reporting.case_parts import REACHED, SCORES

DueOutcome = Literal["in_time", "late", "open_overdue", "not_due"]
CallbackOutcome = Literal["completed", "unreachable", "missed", "not_due"]


def due_outcome(due_at: datetime, resolved_in_time: bool | None, now: datetime) -> DueOutcome:
    """How a case with a resolve deadline counts in timeliness at `now` (`resolved_in_time` None: still open)."""
    if resolved_in_time is None:
        return "open_overdue" if due_at <= now else "not_due"
    return "in_time" if resolved_in_time else "late"


def callback_outcome(due_at: datetime, outcome: str | None, final: bool, now: datetime) -> CallbackOutcome:
    """How a callback counts in coverage at `now`: reached, closed unreachable, missed (due, not done), not due."""
    if outcome in REACHED:
        return "completed"
    if outcome == "unreachable" and final:
        return "unreachable"
    return "missed" if due_at <= now else "not_due"


@dataclass(frozen=True)
class DueSums:
    """The cases and callbacks of a group that fell due in the period, by how they count."""

    in_time: int = 0
    late: int = 0
    open_overdue: int = 0
    callbacks_completed: int = 0
    callbacks_unreachable: int = 0
    callbacks_missed: int = 0
    callback_attempts: int = 0
    #: score name -> (sum of marks, marks given)
    scores: tuple[tuple[str, int, int], ...] = ()

    @property
    def due(self) -> int:
        return self.in_time + self.late + self.open_overdue

    @property
    def callbacks_due(self) -> int:
        return self.callbacks_completed + self.callbacks_unreachable + self.callbacks_missed


def score_averages(sums: DueSums) -> dict[str, float | int | None]:
    """`score_<name>` (mean mark, 2 places; null when nobody gave one) and `score_<name>_n` for every score."""
    given = {name: (total, n) for name, total, n in sums.scores}
    figures: dict[str, float | int | None] = {}
    for name in SCORES:
        total, n = given.get(name, (0, 0))
        figures[f"score_{name}"] = round(total / n, 2) if n else None
        figures[f"score_{name}_n"] = n
    return figures
