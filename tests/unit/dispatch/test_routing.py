"""routing.py: where a complaint goes and why, decision by decision (pure: no database, no broker)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.dispatch.classification import ComplaintFacts, Rules, classify, load_rules
from services.dispatch.model import Case, WorkOrder
from services.dispatch.routing import (
    department_for,
    duplicate_reason,
    next_choice,
    priority_of,
    reopen_needed,
    route_new,
    route_reclassified,
    route_reopened,
    route_returned,
)
from shared.contracts import Category as C
from shared.contracts import Department as D
from shared.contracts import Severity as S

AT = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


def _case(**overrides: object) -> Case:
    case = Case(
        complaint_id=uuid.uuid4(),
        reference_no="TS-20260110-000001",
        account_no=None,
        channel="web",
        district="heping",
        text="…",
        location={},
        customer={},
        category_hint=None,
        accepted_at=AT,
        category="billing",
        severity="normal",
        valid=True,
        invalid_reason=None,
        reasons=[],
        scores={c.value: 0.0 for c in C},
        linked_to=None,
        cycle=1,
        correlation_id="test",
    )
    return replace(case, **overrides)  # type: ignore[arg-type]


def _order(case: Case, *, department: str, category: str, severity: str = "normal") -> WorkOrder:
    return WorkOrder(
        work_order_id=uuid.uuid4(),
        complaint_id=case.complaint_id,
        cycle=case.cycle,
        department=department,
        status="returned",
        category=category,
        severity=severity,
        priority=priority_of(S(severity)),
        starts_at=AT,
        acknowledge_by=AT,
        on_site_by=None,
        resolve_by=AT,
        interim_reply_by=None,
        callback_limit="1d",
        policy_id="p",
        previous_work_order_id=None,
        resolution=None,
        root_cause=None,
        closing_reason=None,
        created_at=AT,
        updated_at=AT,
        acknowledged_at=None,
        started_at=None,
        resolved_at=None,
    )


# --- the department for a category ---------------------------------------------------------------

DESIGN_TABLE = {  # DESIGN.md, "Categories and departments"
    C.HEATING_TEMPERATURE: D.REPAIR,
    C.EQUIPMENT_FAULT: D.REPAIR,
    C.OUTAGE: D.REPAIR,
    C.SAFETY_HAZARD: D.REPAIR,
    C.BILLING: D.BILLING,
    C.SERVICE_ATTITUDE: D.CUSTOMER_SERVICE,
    C.CONSULTATION: D.CUSTOMER_SERVICE,
    C.OTHER: D.CUSTOMER_SERVICE,
}


@pytest.mark.parametrize(("category", "department"), DESIGN_TABLE.items())
def test_every_category_has_the_department_of_the_design(rules: Rules, category: C, department: D) -> None:
    assert department_for(category, rules) is department


def test_a_new_complaint_goes_to_its_categorys_department_with_the_classifiers_reasons(rules: Rules) -> None:
    gas = "楼道里有很重的煤气味，邻居家老人一个人在家，请马上派人来！"
    decision = classify(ComplaintFacts(text=gas, channel="phone"), rules)
    route = route_new(decision, rules)
    assert (route.category, route.department, route.severity) == (C.SAFETY_HAZARD, D.REPAIR, S.EMERGENCY)
    assert route.priority == 1
    assert route.reasons == decision.reasons
    assert "department repair: follows category safety_hazard" in route.reasons


def test_a_duplicate_says_which_open_work_order_it_joins() -> None:
    case = _case()
    order = _order(case, department="billing", category="billing")
    assert duplicate_reason(order) == (
        f"duplicate: work order {order.work_order_id} for this account and category is open"
    )


# --- a returned work order: the next choice --------------------------------------------------------


def test_returned_goes_to_the_department_it_suggested(rules: Rules) -> None:
    case = _case(scores={**_case().scores, "billing": 4.0, "equipment_fault": 1.0})
    returned = _order(case, department="billing", category="billing")
    route = route_returned(case, returned, reason="电表故障", suggested=D.REPAIR, rules=rules)
    assert (route.category, route.department, route.severity) == (C.EQUIPMENT_FAULT, D.REPAIR, S.NORMAL)
    assert route.reasons == ("returned by billing: 电表故障", "re-routed to repair")


def test_without_a_suggestion_the_next_best_scored_category_wins(rules: Rules) -> None:
    scores = {**_case().scores, "billing": 5.0, "outage": 0.5, "service_attitude": 2.0}
    # billing returned it: of the rest, service_attitude scored best.
    assert next_choice(scores, D.BILLING, None, rules) == (C.SERVICE_ATTITUDE, D.CUSTOMER_SERVICE)
    # repair returned it: billing scored best.
    assert next_choice(scores, D.REPAIR, None, rules) == (C.BILLING, D.BILLING)


def test_a_suggested_department_no_scored_category_maps_to_gets_its_usual_category(rules: Rules) -> None:
    scores = {**_case().scores, "heating_temperature": 3.0}
    assert next_choice(scores, D.REPAIR, D.BILLING, rules) == (C.BILLING, D.BILLING)
    assert next_choice(scores, D.CUSTOMER_SERVICE, D.REPAIR, rules) == (C.HEATING_TEMPERATURE, D.REPAIR)


def test_when_no_other_department_fits_customer_service_keeps_it(rules: Rules) -> None:
    """Customer service takes whatever nobody else does: returned by it with nothing else scored, it comes back."""
    scores = {**_case().scores, "consultation": 2.0}
    assert next_choice(scores, D.CUSTOMER_SERVICE, None, rules) == (C.OTHER, D.CUSTOMER_SERVICE)
    # Suggesting itself is no suggestion a department can make: the case goes to the last resort.
    assert next_choice(scores, D.REPAIR, D.REPAIR, rules) == (C.OTHER, D.CUSTOMER_SERVICE)


def test_with_nothing_scored_other_decides(rules: Rules) -> None:
    assert next_choice(_case().scores, D.REPAIR, None, rules) == (C.OTHER, D.CUSTOMER_SERVICE)


def test_a_return_keeps_the_severity(rules: Rules) -> None:
    case = _case()
    returned = _order(case, department="repair", category="equipment_fault", severity="emergency")
    route = route_returned(case, returned, reason="x", suggested=D.BILLING, rules=rules)
    assert (route.severity, route.priority) == (S.EMERGENCY, 1)


# --- severity, reopening and reclassification ---------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "expected"), [(S.NORMAL, S.SERIOUS), (S.SERIOUS, S.EMERGENCY), (S.EMERGENCY, S.EMERGENCY)]
)
def test_raising_severity_is_one_step_graver(current: S, expected: S) -> None:
    assert current.raised() is expected


def test_gravest_and_priority() -> None:
    assert S.gravest(S.NORMAL, S.EMERGENCY, S.SERIOUS) is S.EMERGENCY
    assert [priority_of(s) for s in (S.EMERGENCY, S.SERIOUS, S.NORMAL)] == [1, 2, 3]


def test_reopening_raises_the_last_work_orders_severity_in_its_categorys_department(rules: Rules) -> None:
    case = _case(category="billing", severity="normal")
    last = _order(case, department="customer_service", category="service_attitude", severity="serious")
    route = route_reopened(case, last, requested=S.SERIOUS, reason="dissatisfied", rules=rules)
    assert (route.category, route.department, route.severity) == (C.SERVICE_ATTITUDE, D.CUSTOMER_SERVICE, S.EMERGENCY)
    assert route.reasons == ("reopened (dissatisfied): severity raised to emergency",)


def test_reopening_takes_the_graver_severity_followup_asked_for(rules: Rules) -> None:
    case = _case(category="billing", severity="normal")
    route = route_reopened(case, None, requested=S.EMERGENCY, reason="r", rules=rules)
    assert (route.category, route.department, route.severity) == (C.BILLING, D.BILLING, S.EMERGENCY)


def test_reopening_is_needed_only_when_no_work_order_is_open() -> None:
    case = _case()
    assert reopen_needed(None)
    assert not reopen_needed(_order(case, department="billing", category="billing"))


def test_reclassification_keeps_the_severity_unless_the_supervisor_changes_it(rules: Rules) -> None:
    case = _case()
    current = _order(case, department="billing", category="billing", severity="serious")
    kept = route_reclassified(current, category=C.OUTAGE, severity=None, by="duty", reason="停电", rules=rules)
    assert (kept.department, kept.severity, kept.reasons) == (D.REPAIR, S.SERIOUS, ("reclassified by duty: 停电",))
    changed = route_reclassified(current, category=C.OTHER, severity=S.NORMAL, by="duty", reason="r", rules=rules)
    assert (changed.department, changed.severity, changed.priority) == (D.CUSTOMER_SERVICE, S.NORMAL, 3)
