"""Where a complaint goes, and why: every routing decision of dispatch, pure and with its reasons.

Classification (`classification/`, rules in `rules.toml`) decides a complaint's category, severity and
validity; this module decides what follows from them:

- a new complaint goes to the department its category belongs to (`rules.toml`, `[categories.*].department`);
- a complaint of an account that already has an open work order in that category is linked to it, not routed;
- a work order a department returns ("not ours") goes to the department it suggested, else to the department
  of the next-best category the classifier scored; when no other department fits, customer service, which
  takes whatever nobody else does, keeps it;
- a reopened complaint (dissatisfied customer) gets a new cycle with severity raised one step (at least to what
  followup asked for), in the department of its last category (a complaint settled at first contact: its first
  work order);
- a supervisor's reclassification goes to the new category's department, keeping the severity unless changed;
- severity sets the work order's priority in the department queue.

Which statuses count as open is the work-order state machine's (`workorders/lifecycle.py`, `OPEN`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from services.dispatch.classification import Classification, Rules
from services.dispatch.incidents.faults import Fault
from services.dispatch.model import Case, WorkOrder
from shared.contracts import Category, Department, Severity

#: Queue order: 1 is handled first.
PRIORITY = {Severity.EMERGENCY: 1, Severity.SERIOUS: 2, Severity.NORMAL: 3}

#: A department suggested by the one returning the work order, when no category the classifier scored maps to it:
#: the category its work order gets.
_CATEGORY_FOR_SUGGESTED = {
    Department.REPAIR: Category.EQUIPMENT_FAULT,
    Department.BILLING: Category.BILLING,
    Department.CUSTOMER_SERVICE: Category.OTHER,
}

#: Where a returned case goes when no other department fits.
_LAST_RESORT = (Category.OTHER, Department.CUSTOMER_SERVICE)


@dataclass(frozen=True)
class Route:
    """A routing decision: the work order's category, department and severity, and why."""

    category: Category
    department: Department
    severity: Severity
    reasons: tuple[str, ...]

    @property
    def priority(self) -> int:
        return priority_of(self.severity)


def department_for(category: Category, rules: Rules) -> Department:
    """The department a category belongs to, as the operators configured it in rules.toml."""
    return rules.department_of(category)


def priority_of(severity: Severity) -> int:
    return PRIORITY[severity]


def route_new(decision: Classification, rules: Rules) -> Route:
    """A new complaint: its category's department, at the severity the classifier found."""
    return Route(
        category=decision.category,
        department=department_for(decision.category, rules),
        severity=decision.severity,
        reasons=decision.reasons,
    )


def duplicate_reason(open_order: WorkOrder) -> str:
    """Why a complaint is linked instead of routed: its account has this category's work order open."""
    return f"duplicate: work order {open_order.work_order_id} for this account and category is open"


def next_choice(
    scores: Mapping[str, float], returned_by: Department, suggested: Department | None, rules: Rules
) -> tuple[Category, Department]:
    """Category and department for a returned work order.

    Categories the classifier scored, best first, then `other`: the first whose department is not the one
    that returned it wins — limited to the suggested department when one was named. A suggested department no
    scored category maps to still gets the case (under its usual category); otherwise customer service does.
    """
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    candidates = [Category(c) for c, score in ranked if score > 0] + [Category.OTHER]
    for category in candidates:
        department = department_for(category, rules)
        if suggested is not None and department is not suggested:
            continue
        if department is not returned_by:
            return category, department
    if suggested is not None and suggested is not returned_by:
        return _CATEGORY_FOR_SUGGESTED[suggested], suggested
    return _LAST_RESORT


def route_returned(
    case: Case, returned: WorkOrder, *, reason: str | None, suggested: Department | None, rules: Rules
) -> Route:
    """A department returned its work order as not theirs: the next choice, at the same severity."""
    category, department = next_choice(case.scores, Department(returned.department), suggested, rules)
    return Route(
        category=category,
        department=department,
        severity=Severity(returned.severity),
        reasons=(f"returned by {returned.department}: {reason}", f"re-routed to {department.value}"),
    )


def route_reopened(case: Case, previous: WorkOrder | None, *, requested: Severity, reason: str, rules: Rules) -> Route:
    """A dissatisfied customer: the last work order's category again, severity raised one step (or to the
    severity followup asked for, if graver). A complaint settled at first contact has no last work order: its
    own category's department gets its first one."""
    current = Severity(previous.severity if previous else case.severity)
    severity = Severity.gravest(current.raised(), requested)
    category = Category(previous.category if previous else case.category)
    after = " after resolution on first contact" if previous is None and case.resolution_id else ""
    return Route(
        category=category,
        department=department_for(category, rules),
        severity=severity,
        reasons=(f"reopened ({reason}){after}: severity raised to {severity.value}",),
    )


def route_reclassified(
    current: WorkOrder, *, category: Category, severity: Severity | None, by: str, reason: str, rules: Rules
) -> Route:
    """A supervisor's correction: the new category's department; the severity stays unless they changed it."""
    return Route(
        category=category,
        department=department_for(category, rules),
        severity=severity or Severity(current.severity),
        reasons=(f"reclassified by {by}: {reason}",),
    )


def reopen_needed(open_order: WorkOrder | None) -> bool:
    """A reopening while the case still has an open work order changes nothing: that order is still working."""
    return open_order is None


def route_assisting(case: Case, lead: WorkOrder, department: Department, *, by: str, note: str, rules: Rules) -> Route:
    """An assisting work order of a coordinated case: the category of `department` the classifier scored best
    for this complaint (its SLA rule follows from it), else the department's usual one; the lead's severity."""
    ranked = sorted(case.scores.items(), key=lambda kv: kv[1], reverse=True)
    scored = [Category(c) for c, score in ranked if score > 0 and department_for(Category(c), rules) is department]
    category = scored[0] if scored else _CATEGORY_FOR_SUGGESTED[department]
    return Route(
        category=category,
        department=department,
        severity=Severity(lead.severity),
        reasons=(f"assisting {lead.department} (lead work order {lead.work_order_id}), asked by {by}: {note}",),
    )


def doubt_within_one_fault(
    decision: Classification, fault: Fault | None, runner_up_fault: Fault | None, rules: Rules
) -> Classification | None:
    """A doubt a supervisor need not settle: the model hesitates between two categories that both mean one fault at
    one place (no heat or too cold, at one station's compound) and one department. The complaint then goes where that
    fault goes (its incident, its outage notice, or a work order) as the top category, without triage: a storm's
    callers must not wait in triage while their incident is handled. None: any other doubt stays in triage.

    `runner_up_fault` is the fault the runner-up category would be about (`incidents.faults.identify`)."""
    if fault is None or runner_up_fault is None or len(decision.suggestions) < 2:
        return None
    runner_up = decision.suggestions[1][0]
    same_department = department_for(runner_up, rules) is department_for(decision.category, rules)
    if (runner_up_fault.family, runner_up_fault.scope) != (fault.family, fault.scope) or not same_department:
        return None
    why = (
        f"doubt between {decision.category.value} and {runner_up.value} is one fault ({fault.family.value} at "
        f"{fault.scope}) for one department: no triage"
    )
    return replace(decision, triage=False, reasons=(*decision.reasons, why))
