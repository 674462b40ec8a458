"""Reporting's use cases: each event batch projected into the read models, through the one door
(`shared.handling.Door`), which opens the transaction and commits it; no handler commits.

- `projection`: the use case the consumers and `rebuild` run — a batch into the timeline, then every key it touched
  re-derived (`project`; `project_delivered` counts the consumers' batches for readiness and metrics);
- `timelines`: the batch into the timeline and the contacts table, and which read model each key feeds;
- `cases`, `incidents`, `outages`: one read model each, re-derived from whole timelines;
- `context`: `ReportingContext`, what every use case may read besides the repository (the utility's time zone).

Reporting publishes nothing: no handler emits.
"""

from services.reporting.handlers.context import ReportingContext, ReportingWork
from services.reporting.handlers.projection import project, project_delivered

__all__ = ["ReportingContext", "ReportingWork", "project", "project_delivered"]
