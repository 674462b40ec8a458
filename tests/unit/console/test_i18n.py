"""Every word of the console in both languages: the two tables hold the same keys, every key a page or a route
names exists, and every code a page labels (categories, departments, statuses, roles, screens) has its label."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.console.i18n import LANGUAGES, Translator, catalogue, chosen_language
from services.console.model import SCREENS
from services.console.pages import DONE_KEYS
from shared.contracts import Category, Channel, Department, Severity, WorkOrderStatus
from shared.http.person import STAFF_ROLES

CONSOLE = Path(__file__).resolve().parents[3] / "services" / "console"
#: `t("key")`, `t('key')` and `"error.x"`-style keys handed to the error pages.
_TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
_PYTHON_KEY = re.compile(r"""["']((?:error|form|done)\.[a-z_]+)["']""")


def test_chinese_and_english_hold_the_same_keys() -> None:
    strings = catalogue()
    assert set(strings["zh"]) == set(strings["en"])
    assert all(strings["zh"].values()) and all(strings["en"].values())


def test_the_placeholders_agree_between_the_languages() -> None:
    strings = catalogue()
    placeholder = re.compile(r"\{(\w+)\}")
    for key, zh in strings["zh"].items():
        assert set(placeholder.findall(zh)) == set(placeholder.findall(strings["en"][key])), key


def _keys_in(paths: list[Path], pattern: re.Pattern[str]) -> set[str]:
    return {key for path in paths for key in pattern.findall(path.read_text(encoding="utf-8"))}


def test_every_key_the_pages_and_routes_name_exists() -> None:
    templates = sorted((CONSOLE / "templates").glob("*.html"))
    python = sorted(CONSOLE.rglob("*.py"))
    named = _keys_in(templates, _TEMPLATE_KEY) | _keys_in(python, _PYTHON_KEY)
    named -= {"error.html"}  # a template's file name, not a key
    assert named, "no keys found: the patterns are out of date"
    missing = sorted(named - set(catalogue()["zh"]))
    assert missing == []


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("category", [c.value for c in Category]),
        ("department", [d.value for d in Department]),
        ("severity", [s.value for s in Severity]),
        ("wo_status", [s.value for s in WorkOrderStatus]),
        ("channel", [c.value for c in Channel]),
        ("role", sorted(STAFF_ROLES)),
        ("screen", [s.key for s in SCREENS]),
        ("done", sorted(DONE_KEYS)),
        ("method", ["phone", "letter", "visit", "sms", "email", "wechat"]),
        ("outcome", ["satisfied", "dissatisfied", "unreachable"]),
        ("service", ["intake", "dispatch", "followup", "reporting"]),
    ],
)
def test_every_code_shown_has_a_label_in_both_languages(kind: str, codes: list[str]) -> None:
    for lang in LANGUAGES:
        missing = [code for code in codes if f"{kind}.{code}" not in catalogue()[lang]]
        assert missing == [], (lang, kind)


def test_chinese_is_the_default_and_english_is_chosen_by_query_or_cookie() -> None:
    assert chosen_language(None, None) == "zh"
    assert chosen_language("en", None) == "en"
    assert chosen_language(None, "en") == "en"
    assert chosen_language("zh", "en") == "zh"
    assert chosen_language("fr", "xx") == "zh"


def test_labels_times_and_placeholders() -> None:
    zh = Translator("zh", ZoneInfo("Asia/Shanghai"))
    en = Translator("en", ZoneInfo("Asia/Shanghai"))
    assert zh.label("department", "repair") == "维修部"
    assert en.label("department", "repair") == "Repair"
    assert en.label("department", "new_department") == "new_department"
    assert en.label("department", None) == "—"
    assert en("case.title", reference="TS-1") == "Case TS-1"
    assert zh.when("2026-11-23T00:30:00+00:00") == "2026-11-23 08:30"
    assert zh.local_input("2026-11-23T00:30:00+00:00") == "2026-11-23T08:30"
