"""What a resolution must say before a work order can close (pure, no I/O).

- The root cause is a code from the catalogue of the work order's department (`root_causes.toml`), with an
  optional note in the department's own words. A department system that sends free text (the department-update
  ingress, v1 and v2) has it filed under `<department>.other`, its text kept as the note; a person resolving over
  HTTP picks a code, and an unknown one is refused with the department's valid codes.
- A serious or emergency case's lead work order closes only with a cause analysis and at least one corrective
  action (what, who carries it out, a deadline in the future): the handling rules send such cases to leadership,
  who have the cause analysed and corrective action set — the case is not done until that is done. The cause is
  the case's, analysed once: an assisting work order (coordination.py), which inherits the lead's severity, closes
  with its catalogue root cause alone (it may still bring an analysis or actions). An incident's work order is a
  lead, so the rule holds for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.model import CorrectiveActionPlan, Invalid, Step
from services.dispatch.root_causes import RootCauseCatalogue, RootCauseEntry
from shared.contracts import Severity

#: Severities whose cases need a cause analysis and corrective action before they close.
NEEDS_CORRECTIVE_ACTION = frozenset({Severity.SERIOUS, Severity.EMERGENCY})
#: The role whose resolution carries the case's cause analysis and corrective actions (the other is `assisting`).
LEAD = "lead"


class ResolutionRefused(Invalid):
    """A resolution the rules do not accept (HTTP 422 naming the field; a dead letter on the ingress topic)."""

    def __init__(self, message: str, *, field: str, valid_codes: list[str] | None = None) -> None:
        extra: dict[str, Any] = {"valid_root_causes": valid_codes} if valid_codes is not None else {}
        super().__init__(message, field=field, **extra)
        self.valid_codes = valid_codes


@dataclass(frozen=True)
class AcceptedResolution:
    """A resolution the rules accept: what was done, the catalogue entry and note, and for serious cases the
    cause analysis and the corrective actions to set."""

    resolution: str
    cause: RootCauseEntry
    note: str | None
    cause_analysis: str | None
    corrective_actions: tuple[CorrectiveActionPlan, ...]

    def effects(self, actor: str, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """What the resolution writes on the work order, and what its history entry records."""
        written = {
            "resolved_at": now,
            "resolution": self.resolution,
            "root_cause": self.cause.code,
            "root_cause_note": self.note,
            "cause_analysis": self.cause_analysis,
            "cause_analysed_by": actor if self.cause_analysis else None,
        }
        details: dict[str, Any] = {"resolution": self.resolution, "root_cause": self.cause.code}
        if self.note:
            details["root_cause_note"] = self.note
        if self.cause_analysis:
            details["cause_analysis"] = self.cause_analysis
        if self.corrective_actions:
            details["corrective_actions"] = len(self.corrective_actions)
        return written, details


def accept_resolution(
    step: Step, *, department: str, severity: str, role: str, catalogue: RootCauseCatalogue, now: datetime
) -> AcceptedResolution:
    """The resolution `step` carries, checked for a work order of `department`, `severity` and `role` (lead or
    assisting); raises ResolutionRefused saying what is wrong or missing."""
    given = (step.root_cause or "").strip()
    note = (step.root_cause_note or "").strip() or None
    cause = catalogue.find(department, given)
    if cause is None:
        if not step.free_text_root_cause:
            codes = catalogue.codes(department)
            raise ResolutionRefused(
                f"root_cause {given!r} is not in the {department} root-cause catalogue; one of: {', '.join(codes)}",
                field="root_cause",
                valid_codes=codes,
            )
        cause = catalogue.other(department)
        note = f"{given} — {note}" if given and note else given or note
    analysis = (step.cause_analysis or "").strip() or None
    if role == LEAD and Severity(severity) in NEEDS_CORRECTIVE_ACTION:
        missing = [
            name
            for name, absent in (
                ("cause_analysis", analysis is None),
                ("corrective_actions", not step.corrective_actions),
            )
            if absent
        ]
        if missing:
            article = "an" if severity == Severity.EMERGENCY else "a"
            raise ResolutionRefused(
                f"{article} {severity} case cannot close without a cause analysis and at least one corrective "
                f"action (owner, deadline); missing: {', '.join(missing)}",
                field=missing[0],
            )
    for n, action in enumerate(step.corrective_actions, start=1):
        if action.deadline <= now:
            raise ResolutionRefused(
                f"corrective action {n}: its deadline {action.deadline.isoformat()} is not in the future",
                field=f"corrective_actions.{n - 1}.deadline",
            )
    return AcceptedResolution(
        resolution=step.resolution or "",
        cause=cause,
        note=note,
        cause_analysis=analysis,
        corrective_actions=step.corrective_actions,
    )
