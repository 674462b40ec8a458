"""The shipped notification templates: both languages, the same parameters, rendered as expected."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from services.followup.notifications import Templates, phone_key

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


def test_phone_key_does_not_contain_the_number() -> None:
    assert "13912345678" not in phone_key("13912345678") and len(phone_key("13912345678")) == 64


def test_serious_case_opened_names_the_case_its_severity_and_department() -> None:
    params = {"reference_no": "TS-20261123-000042", "severity": "严重", "department": "repair"}
    zh = templates.render("serious_case_opened", "zh", params)
    assert all(v in zh for v in params.values()) and "部门经理" in zh
    en = templates.render("serious_case_opened", "en", params | {"severity": "emergency"})
    assert "TS-20261123-000042 (emergency)" in en and "leadership" in en
    assert templates.parameters("serious_case_opened") == {"reference_no", "severity", "department"}
