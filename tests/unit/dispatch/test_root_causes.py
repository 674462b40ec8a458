"""The root-cause catalogue and what a resolution must say before a work order closes (pure rules)."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.dispatch.model import CorrectiveActionPlan, Step
from services.dispatch.resolution import ResolutionRefused, accept_resolution
from services.dispatch.root_causes import (
    DEFAULT_PATH,
    RootCauseCatalogueError,
    load_root_causes,
    parse_root_causes,
)
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department
from tests.unit.dispatch.clocks import START

CATALOGUE = load_root_causes()
ACTION = CorrectiveActionPlan("每季度巡检该小区阀门", "维修二班", START + timedelta(days=30))


def _resolve(**fields: Any) -> Step:
    return Step(Action.RESOLVE, resolution=fields.pop("resolution", "更换阀门"), **fields)


def test_the_shipped_catalogue_has_six_to_twelve_causes_and_an_other_per_department() -> None:
    for department in Department:
        entries = CATALOGUE.of(department)
        assert 6 <= len(entries) <= 12, department
        assert all(e.code.startswith(f"{department.value}.") and e.label_zh and e.label_en for e in entries)
        assert CATALOGUE.other(department).code == f"{department.value}.other"
    codes = [e.code for e in CATALOGUE.entries]
    assert len(codes) == len(set(codes))
    assert CATALOGUE.find("repair", "repair.valve_failure").label_en.startswith("Valve failure")  # type: ignore[union-attr]
    assert CATALOGUE.find("billing", "repair.valve_failure") is None, "another department's code is not billing's"


def _document() -> dict[str, Any]:
    with DEFAULT_PATH.open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("billing"), "[[billing]]: the department lists no root causes"),
        (lambda d: d.update(metering=[]), "unknown department(s): metering"),
        (lambda d: d.update(billing=[e for e in d["billing"] if e["code"] != "billing.other"]), "billing.other"),
        (lambda d: d["repair"].append(dict(d["repair"][0])), "listed twice"),
        (lambda d: d["repair"][0].update(code="billing.valve"), "must start with 'repair'."),
        (lambda d: d["repair"][0].update(en=" "), "needs both a zh and an en label"),
        (lambda d: d["repair"][0].update(weight=2), "exactly code, zh and en"),
    ],
)
def test_a_wrong_catalogue_is_refused_when_it_loads(change: Any, message: str) -> None:
    document = _document()
    change(document)
    with pytest.raises(RootCauseCatalogueError) as refused:
        parse_root_causes(document)
    assert message in str(refused.value)


def test_an_unknown_code_is_refused_with_the_departments_codes() -> None:
    with pytest.raises(ResolutionRefused) as refused:
        accept_resolution(
            _resolve(root_cause="阀门堵塞"),
            department="repair",
            severity="normal",
            role="lead",
            catalogue=CATALOGUE,
            now=START,
        )
    assert refused.value.field == "root_cause"
    assert refused.value.valid_codes == CATALOGUE.codes("repair")
    assert "repair.valve_failure" in str(refused.value) and "billing." not in str(refused.value)
    with pytest.raises(ResolutionRefused):  # another department's code
        accept_resolution(
            _resolve(root_cause="billing.meter_misread"),
            department="repair",
            severity="normal",
            role="lead",
            catalogue=CATALOGUE,
            now=START,
        )


def test_a_known_code_and_its_note_are_kept() -> None:
    accepted = accept_resolution(
        _resolve(root_cause="repair.valve_failure", root_cause_note=" 单元阀门堵塞 "),
        department="repair",
        severity="normal",
        role="lead",
        catalogue=CATALOGUE,
        now=START,
    )
    assert (accepted.cause.code, accepted.note, accepted.cause_analysis, accepted.corrective_actions) == (
        "repair.valve_failure",
        "单元阀门堵塞",
        None,
        (),
    )
    written, details = accepted.effects("repair-desk", START)
    assert (written["root_cause"], written["root_cause_note"], written["cause_analysed_by"]) == (
        "repair.valve_failure",
        "单元阀门堵塞",
        None,
    )
    assert details == {
        "resolution": "更换阀门",
        "root_cause": "repair.valve_failure",
        "root_cause_note": "单元阀门堵塞",
    }


def test_free_text_from_a_department_system_is_filed_under_other_with_the_text_as_note() -> None:
    accepted = accept_resolution(
        _resolve(root_cause="抄表员漏抄", root_cause_note="已补抄", free_text_root_cause=True),
        department="billing",
        severity="normal",
        role="lead",
        catalogue=CATALOGUE,
        now=START,
    )
    assert (accepted.cause.code, accepted.note) == ("billing.other", "抄表员漏抄 — 已补抄")
    coded = accept_resolution(
        _resolve(root_cause="billing.meter_misread", free_text_root_cause=True),
        department="billing",
        severity="normal",
        role="lead",
        catalogue=CATALOGUE,
        now=START,
    )
    assert (coded.cause.code, coded.note) == ("billing.meter_misread", None), "a code stays a code"


@pytest.mark.parametrize(
    ("severity", "fields", "missing"),
    [
        ("serious", {}, "missing: cause_analysis, corrective_actions"),
        ("serious", {"cause_analysis": "阀门超期未检"}, "missing: corrective_actions"),
        ("emergency", {"corrective_actions": (ACTION,)}, "missing: cause_analysis"),
        ("emergency", {"cause_analysis": "  ", "corrective_actions": (ACTION,)}, "missing: cause_analysis"),
    ],
)
def test_a_serious_or_emergency_case_cannot_close_without_analysis_and_action(
    severity: str, fields: dict[str, Any], missing: str
) -> None:
    with pytest.raises(ResolutionRefused) as refused:
        accept_resolution(
            _resolve(root_cause="repair.valve_failure", **fields),
            department="repair",
            severity=severity,
            role="lead",
            catalogue=CATALOGUE,
            now=START,
        )
    text = str(refused.value)
    article = "an" if severity == "emergency" else "a"
    assert text.startswith(
        f"{article} {severity} case cannot close without a cause analysis and at least one corrective action "
        "(owner, deadline)"
    )
    assert text.endswith(missing)


@pytest.mark.parametrize("severity", ["serious", "emergency"])
def test_an_assisting_part_of_a_serious_case_closes_with_its_catalogue_cause_alone(severity: str) -> None:
    """The case's cause is analysed once, on its lead: an assisting part inherits the severity, not the duty."""
    accepted = accept_resolution(
        _resolve(resolution="已核减热费", root_cause="billing.tariff_error"),
        department="billing",
        severity=severity,
        role="assisting",
        catalogue=CATALOGUE,
        now=START,
    )
    assert (accepted.cause.code, accepted.cause_analysis, accepted.corrective_actions) == (
        "billing.tariff_error",
        None,
        (),
    )
    with pytest.raises(ResolutionRefused) as refused:  # the catalogue still holds for it
        accept_resolution(
            _resolve(root_cause="热费算错"),
            department="billing",
            severity=severity,
            role="assisting",
            catalogue=CATALOGUE,
            now=START,
        )
    assert refused.value.field == "root_cause"


def test_a_serious_case_closes_with_analysis_and_an_action_in_the_future() -> None:
    step = _resolve(root_cause="repair.valve_failure", cause_analysis="阀门超期未检", corrective_actions=(ACTION,))
    accepted = accept_resolution(
        step, department="repair", severity="serious", role="lead", catalogue=CATALOGUE, now=START
    )
    assert (accepted.cause_analysis, accepted.corrective_actions) == ("阀门超期未检", (ACTION,))
    written, details = accepted.effects("leader-li", START)
    assert (written["cause_analysis"], written["cause_analysed_by"], details["corrective_actions"]) == (
        "阀门超期未检",
        "leader-li",
        1,
    )
    late = CorrectiveActionPlan("x", "y", START)
    with pytest.raises(ResolutionRefused) as refused:
        accept_resolution(
            _resolve(root_cause="repair.valve_failure", cause_analysis="a", corrective_actions=(ACTION, late)),
            department="repair",
            severity="serious",
            role="lead",
            catalogue=CATALOGUE,
            now=START,
        )
    assert refused.value.field == "corrective_actions.1.deadline" and "not in the future" in str(refused.value)


def test_the_catalogue_path_is_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "causes.toml"
    lines = []
    for department in Department:
        for cause in ("leak", "other"):
            lines += [f"[[{department.value}]]", f'code = "{department.value}.{cause}"', 'zh = "甲"', 'en = "A"', ""]
    own.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setenv("DISPATCH_ROOT_CAUSES_PATH", str(own))
    assert load_root_causes().codes("repair") == ["repair.leak", "repair.other"]
    assert load_root_causes(DEFAULT_PATH) == CATALOGUE, "an explicit path wins over the environment"
