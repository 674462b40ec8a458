"""The one way the operations tools read a point in time from their command line."""

from __future__ import annotations

import argparse
from datetime import datetime


def aware_datetime(text: str) -> datetime:
    """An argparse type: ISO 8601 with its UTC offset. A time without one is refused before anything is done: read
    in the machine's zone, a restore point or a group reset would land hours away from the moment meant."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text} needs its UTC offset (e.g. 2026-12-01T08:00:00+08:00)")
    return value
