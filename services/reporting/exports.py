"""CSV renderings of the reports: the KPI table, the incident and outage lists, and the case list streamed
chunk by chunk.

Cells are Python's own `str()` of each value (timestamps as `2026-11-23 09:15:00+00:00`) and empty for
None, which spreadsheets read as is.

Every cell goes through `spreadsheet_safe` on its way out: text written by customers and staff (a complaint, a cause
analysis, an address) must open in a manager's spreadsheet as text, never as a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from services.reporting.model import GroupBy, Period
from services.reporting.schemas import KpiReport


def kpis_filename(group_by: GroupBy, period: Period) -> str:
    return f"kpis-{group_by}-{period.first}-{period.last}.csv"


def cases_filename(period: Period) -> str:
    return f"cases-{period.first}-{period.last}.csv"


def period_filename(name: str, period: Period) -> str:
    return f"{name}-{period.first}-{period.last}.csv"


#: What a spreadsheet reads as the start of a formula (or, tab and carriage return, as a cell it may re-parse).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would take for a formula gets a leading apostrophe, the spreadsheets' own mark
    of "this is text" (OWASP's advice for CSV injection); numbers, dates and every other text are left as they are,
    so a negative figure stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: spreadsheet_safe(value) for key, value in row.items()}


def kpi_csv(report: KpiReport) -> str:
    """One line per group, then the totals."""
    return models_csv(type(report.totals), [*report.rows, report.totals])


def models_csv(model: type[BaseModel], rows: Sequence[BaseModel]) -> str:
    """One line per answer row, a column per field of `model` (a header even when there is no row)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(model.model_fields))
    writer.writeheader()
    writer.writerows(safe_row(row.model_dump()) for row in rows)
    return buffer.getvalue()


async def csv_chunks(fields: list[str], batches: AsyncIterator[Iterable[Mapping[str, Any]]]) -> AsyncIterator[str]:
    """The header, then one chunk per batch: columns `fields`, in that order (other keys are left out)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    yield _drain(buffer)
    async for batch in batches:
        writer.writerows(safe_row(row) for row in batch)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
