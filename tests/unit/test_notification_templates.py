"""The shipped notification templates: both languages, the same parameters, rendered as expected."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from services.followup.notifications import Templates

templates = Templates()


@pytest.mark.parametrize("template_id", sorted(templates.texts))
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_template_renders_in_both_languages(template_id: str, locale: str) -> None:
    fields = {f for _, f, _, _ in string.Formatter().parse(templates.texts[template_id][locale]) if f}
    text = templates.render(template_id, locale, {f: f"<{f}>" for f in fields})  # type: ignore[arg-type]
    assert all(f"<{f}>" in text for f in fields) and "{" not in text


def test_interim_reply_reads_out_the_reference() -> None:
    assert "TS-20261123-000042" in templates.render("interim_reply", "zh", {"reference_no": "TS-20261123-000042"})
    assert templates.render("interim_reply", "en", {"reference_no": "X"}).startswith("Hello!")


def test_mismatched_parameters_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('[x]\nzh = "{a}"\nen = "{b}"\n')
    with pytest.raises(ValueError, match="different parameters"):
        Templates(bad)


def test_the_receipts_read_out_the_reference_and_the_phone_one_promises_12_hours() -> None:
    ref = {"reference_no": "TS-20261123-000042"}
    for locale in ("zh", "en"):
        assert "TS-20261123-000042" in templates.render("complaint_received", locale, ref)  # type: ignore[arg-type]
        assert "TS-20261123-000042" in templates.render("complaint_received_phone", locale, ref)  # type: ignore[arg-type]
    assert "12小时" in templates.render("complaint_received_phone", "zh", ref)
    assert "within 12 hours" in templates.render("complaint_received_phone", "en", ref)
    assert "12" not in templates.render("complaint_received", "en", {"reference_no": "X"})


def test_appointment_and_resolution_say_what_the_seeds_require() -> None:
    zh = templates.render("appointment_agreed", "zh", {"reference_no": "R", "window": "11-25 14:00-16:00"})
    assert "11-25 14:00-16:00" in zh and "在家" in zh
    en = templates.render("appointment_agreed", "en", {"reference_no": "R", "window": "W"})
    assert "please be at home" in en.lower()
    params = {"reference_no": "R", "resolution": "换了阀门", "cause": "阀门老化", "changes": "改进措施：全面排查。"}
    zh = templates.render("case_resolved", "zh", params)
    assert all(v in zh for v in params.values()) and "回访" in zh
    assert templates.parameters("case_resolved") == {"reference_no", "resolution", "cause", "changes"}


def test_serious_case_opened_names_the_case_its_severity_and_department() -> None:
    params = {"reference_no": "TS-20261123-000042", "severity": "严重", "department": "repair"}
    zh = templates.render("serious_case_opened", "zh", params)
    assert all(v in zh for v in params.values()) and "部门经理" in zh
    en = templates.render("serious_case_opened", "en", params | {"severity": "emergency"})
    assert "TS-20261123-000042 (emergency)" in en and "leadership" in en
    assert templates.parameters("serious_case_opened") == {"reference_no", "severity", "department"}
