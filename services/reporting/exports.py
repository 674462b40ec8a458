"""CSV renderings of the reports: the KPI table, the incident and outage lists, and the case list streamed
chunk by chunk.

Cells are Python's own `str()` of each value (timestamps as `2026-11-23 09:15:00+00:00`) and empty for
None, which spreadsheets read as is.
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


def kpi_csv(report: KpiReport) -> str:
    """One line per group, then the totals."""
    return models_csv(type(report.totals), [*report.rows, report.totals])


def models_csv(model: type[BaseModel], rows: Sequence[BaseModel]) -> str:
    """One line per answer row, a column per field of `model` (a header even when there is no row)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(model.model_fields))
    writer.writeheader()
    writer.writerows(row.model_dump() for row in rows)
    return buffer.getvalue()


async def csv_chunks(fields: list[str], batches: AsyncIterator[Iterable[Mapping[str, Any]]]) -> AsyncIterator[str]:
    """The header, then one chunk per batch: columns `fields`, in that order (other keys are left out)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    yield _drain(buffer)
    async for batch in batches:
        writer.writerows(batch)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
