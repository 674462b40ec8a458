"""How the managers' dashboard shows reporting's figures: which tiles, in what order, each rate's display target
(reporting has no targets: a rate on the wrong side of one is drawn as a breach), and the one rule that matters
most — a rate reporting answers null (nothing was due) is "—", neutral, never a red "0.0%". Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Display thresholds: a share below `min` (or above `max`) is a breach.
TARGETS: dict[str, dict[str, float]] = {
    "timeliness_rate": {"min": 0.9},
    "ack_in_time_rate": {"min": 0.95},
    "callback_coverage": {"min": 0.9},
    "satisfaction_rate": {"min": 0.85},
    "reopen_rate": {"max": 0.05},
    "on_site_rate": {"min": 0.9},
}
#: The KPI tiles, in order: (the field of `/v1/kpis` totals, how it reads: count, rate, hours or score).
TILES: tuple[tuple[str, str], ...] = (
    ("received", "count"),
    ("first_contact_rate", "rate"),
    ("timeliness_rate", "rate"),
    ("on_site_rate", "rate"),
    ("ack_in_time_rate", "rate"),
    ("callback_coverage", "rate"),
    ("satisfaction_rate", "rate"),
    ("reopen_rate", "rate"),
    ("message_reach_rate", "rate"),
    ("handling_median_hours", "hours"),
)
#: The survey's marks (1-5), each with its count of answers.
SCORES = ("score_supply", "score_attitude", "score_speed", "score_billing")
DASH = "—"


@dataclass(frozen=True)
class Tile:
    name: str
    kind: str
    value: Any
    shown: str
    breach: bool


def percent(value: object) -> str:
    """A share as a percentage with one decimal; "—" when there is none (null: nothing due)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return DASH
    return f"{value * 100:.1f}%"


def decimal(value: object, places: int = 1) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return DASH
    return f"{value:.{places}f}"


def count(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return DASH
    return f"{value:,}"


def breach(metric: str, value: object) -> bool:
    """On the wrong side of the metric's target; never for a null rate (nothing due is no breach)."""
    target = TARGETS.get(metric)
    if target is None or not isinstance(value, int | float) or isinstance(value, bool):
        return False
    if "min" in target:
        return value < target["min"]
    return value > target["max"]


def tiles(totals: dict[str, Any]) -> list[Tile]:
    """The tiles of a KPI report's totals; a figure reporting does not give (an older reporting) shows "—"."""
    shown = {"count": count, "rate": percent, "hours": decimal}
    return [
        Tile(name, kind, totals.get(name), shown[kind](totals.get(name)), breach(name, totals.get(name)))
        for name, kind in TILES
    ]
