"""When the dispatch unit tests' clock starts."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # a Monday in the heating season
