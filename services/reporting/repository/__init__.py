"""All of reporting's SQL, over its own schema: the projection's writes and the reports' reads.

`ReadModels` is every part on one connection (or the pool): `projection` (what the door's transaction writes:
`ProjectionStore`), `cases`, `figures` and `handling` (what the reports read: `queries.ReportQueries`), on what
`sql` shares. It never commits: the door does (`shared.handling`).
"""

from __future__ import annotations

from services.reporting.repository.cases import CaseReads
from services.reporting.repository.figures import FigureReads
from services.reporting.repository.handling import HandlingReads
from services.reporting.repository.projection import ProjectionStore, ProjectionWrites
from services.reporting.repository.queries import ReportQueries
from services.reporting.repository.sql import CASE_FIELDS, SCHEMA, CaseRow


class ReadModels(ProjectionWrites, CaseReads, FigureReads, HandlingReads):
    """The read models of one schema (`reporting`, or a side-by-side rebuild's), over a connection or the pool."""


__all__ = ["CASE_FIELDS", "SCHEMA", "CaseRow", "ProjectionStore", "ReadModels", "ReportQueries"]
