"""The handling rules' reports, assembled from what the repository counted (pure): per-staff figures, the
leadership report of serious cases and incidents (and its CSV lines: one per corrective action), and the parts
of a case as the case view shows them.

Per staff (managers only): the cases they own (took first) and settled at first contact, by the day the case was
accepted; the work orders they resolved, by the day of the resolution; the callbacks they made that reached the
customer, by the day of that attempt; the satisfaction of their owned cases' final callbacks (unreachable customers
count neither way, as in the KPIs) and their survey marks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from services.reporting.case_parts import SCORES, corrective_action_overdue
from services.reporting.incident_handling import IncidentHandling
from services.reporting.kpis import rate
from services.reporting.schemas import (
    CorrectiveActionRead,
    EscalationRead,
    SeriousCaseRead,
    SeriousCsvRow,
    StaffRow,
)

Row = Mapping[str, Any]


def staff_rows(
    owned: Iterable[Row], callbacks: Iterable[Row], satisfaction: Iterable[Row], resolutions: Iterable[Row] = ()
) -> list[StaffRow]:
    """One row per staff id found in any of the counts, in staff id order; what they lack counts zero.

    Every figure is keyed on the same id: a signed-in person's staff id is who took the case, who made the callback
    and who resolved the work order. Resolutions count for a person — an actor the event named as one, or an id
    that owns cases or made callbacks — not for a department system's credential."""
    found: dict[str, dict[str, Any]] = {}

    def row(staff_id: str, name: str | None = None) -> dict[str, Any]:
        figures = found.setdefault(
            staff_id,
            {
                "staff_id": staff_id,
                "staff_name": None,
                "cases_owned": 0,
                "first_contact_resolutions": 0,
                "work_orders_resolved": 0,
                "callbacks_done": 0,
                "satisfied": 0,
                "dissatisfied": 0,
                "unreachable": 0,
            },
        )
        figures["staff_name"] = figures["staff_name"] or name
        return figures

    for r in owned:
        row(r["staff_id"], r.get("staff_name")).update(
            cases_owned=r["cases_owned"], first_contact_resolutions=r["first_contact_resolutions"]
        )
    for r in callbacks:
        row(r["staff_id"], r.get("staff_name"))["callbacks_done"] = r["callbacks_done"]
    for r in resolutions:
        if r["person"] or r["staff_id"] in found:
            row(r["staff_id"], r.get("staff_name"))["work_orders_resolved"] = r["work_orders_resolved"]
    marks: dict[str, Row] = {}
    for r in satisfaction:
        row(r["staff_id"]).update(
            satisfied=r["satisfied"], dissatisfied=r["dissatisfied"], unreachable=r["unreachable"]
        )
        marks[r["staff_id"]] = r
    rows = []
    for staff_id in sorted(found):
        figures = found[staff_id]
        figures["satisfaction_rate"] = rate(figures["satisfied"], figures["satisfied"] + figures["dissatisfied"])
        given = marks.get(staff_id, {})
        for name in SCORES:
            total, n = given.get(f"score_{name}_sum") or 0, given.get(f"score_{name}_n") or 0
            figures[f"score_{name}"] = round(total / n, 2) if n else None
            figures[f"score_{name}_n"] = n
        rows.append(StaffRow.model_validate(figures))
    return rows


def corrective_action_read(row: Row, now: datetime) -> CorrectiveActionRead:
    return CorrectiveActionRead.model_validate(
        dict(row) | {"overdue": corrective_action_overdue(row["deadline"], row["completed_at"], now)}
    )


def escalation_reads(escalations: list[dict[str, Any]] | None) -> list[EscalationRead]:
    """A case's escalations in the order they happened."""
    ordered = sorted(escalations or [], key=lambda e: (e["escalated_at"], e["level"]))
    return [EscalationRead.model_validate(e) for e in ordered]


def serious_case(case: Row, actions: list[Row], now: datetime) -> SeriousCaseRead:
    return SeriousCaseRead.model_validate(
        dict(case)
        | {
            "corrective_actions": [corrective_action_read(a, now) for a in actions],
            "escalations": escalation_reads(case["escalations"]),
        }
    )


def serious_incident(incident: Row, handling: IncidentHandling, now: datetime) -> SeriousCaseRead:
    """A serious or emergency incident as a line of the leadership report (`incident_handling`)."""
    return SeriousCaseRead.model_validate(
        {
            "kind": "incident",
            "complaint_id": incident["incident_id"],
            "reference_no": incident["reference_no"],
            "category": incident["category"],
            "department": incident["department"],
            "severity": incident["severity"],
            "district": incident["district"],
            "status": incident["status"],
            "accepted_at": incident["opened_at"],
            "first_resolved_at": incident["resolved_at"],
            "closed_at": None,
            "owner": handling.owner,
            "households": incident["households"],
            "cause_analysis": handling.cause_analysis,
            # the catalogue code of its work order's resolution, else the one the incident's resolution names
            "root_cause": handling.root_cause or incident["root_cause"],
            "root_cause_zh": handling.root_cause_zh,
            "root_cause_en": handling.root_cause_en,
            "root_cause_note": handling.root_cause_note,
            "corrective_actions": [corrective_action_read(asdict(a), now) for a in handling.corrective_actions],
            "escalations": escalation_reads(handling.escalations),
        }
    )


def serious_csv_rows(cases: Iterable[SeriousCaseRead]) -> list[SeriousCsvRow]:
    """One line per corrective action; a case without any still gets one line, its action columns empty."""
    lines = []
    for case in cases:
        common = {
            "kind": case.kind,
            "reference_no": case.reference_no,
            "category": case.category,
            "department": case.department,
            "severity": case.severity,
            "district": case.district,
            "status": case.status,
            "accepted_at": case.accepted_at,
            "cause_analysis": case.cause_analysis.summary if case.cause_analysis else None,
            "analysed_by": case.cause_analysis.analysed_by if case.cause_analysis else None,
            "root_cause": case.root_cause,
            "root_cause_zh": case.root_cause_zh,
            "root_cause_en": case.root_cause_en,
            "root_cause_note": case.root_cause_note,
            "escalations": len(case.escalations),
            "escalated_to": case.escalations[-1].escalated_to if case.escalations else None,
        }
        actions: list[CorrectiveActionRead | None] = [*case.corrective_actions] or [None]
        for action in actions:
            lines.append(
                SeriousCsvRow.model_validate(
                    common
                    | {
                        "action_description": action.description if action else None,
                        "action_owner": action.owner if action else None,
                        "action_deadline": action.deadline if action else None,
                        "action_status": action.status if action else None,
                        "action_completed_at": action.completed_at if action else None,
                        "action_overdue": action.overdue if action else None,
                    }
                )
            )
    return lines
