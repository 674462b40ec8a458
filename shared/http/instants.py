"""A moment in a query string (`?since=`, `?from=`): ISO 8601 with its offset, nothing else.

A query parameter typed `datetime` would also take a bare number as a Unix time (`?since=0.5`), which its schema
(`date-time`) refuses: so the parameter is a string with this pattern, parsed here. The pattern admits a date no
calendar has (month 00): that is a 422 naming the parameter too.
"""

from __future__ import annotations

from datetime import datetime

from shared.errors import Invalid

INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


def instant(name: str, value: str | None) -> datetime | None:
    """The query's moment with its offset, or None when not given."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name}: not a date and time", errors=[{"field": name, "message": "not a date"}]) from None
