"""SLA arithmetic: workdays across Chinese holidays and make-up workdays, policy lookup, deadlines."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.sla import WorkCalendar, load_sla_table, parse_limit

CN = ZoneInfo("Asia/Shanghai")
cal = WorkCalendar(CN)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN)


def test_national_day_holiday_and_make_up_saturday() -> None:
    # 2026: National Day holiday 1-7 October; Saturday 10 October is a make-up workday.
    assert not cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 7))
    assert cal.is_workday(date(2026, 10, 10))
    assert not cal.is_workday(date(2026, 10, 11))


def test_one_workday_before_the_holiday_jumps_it() -> None:
    assert cal.add_workdays(at(2026, 9, 30, 16, 0), 1) == at(2026, 10, 8, 16, 0)


def test_seven_workdays_count_the_make_up_saturday() -> None:
    # 8, 9, 10 (Sat, make-up), 12, 13, 14, 15 October.
    assert cal.add_workdays(at(2026, 9, 30, 16, 0), 7) == at(2026, 10, 15, 16, 0)


def test_started_on_a_holiday_ends_with_the_nth_workday() -> None:
    assert cal.add_workdays(at(2026, 10, 3, 11, 0), 1) == at(2026, 10, 9, 0, 0)
    # Counted from 8 October: the 8th and the 9th, so the limit ends as the 10th begins.
    assert cal.add_workdays(at(2026, 10, 4, 23, 0), 2) == at(2026, 10, 10, 0, 0)


def test_spring_festival_2026_with_its_make_up_days() -> None:
    # Spring Festival 2026: 15-23 February off; Saturday 14 and 28 February are make-up workdays.
    assert cal.is_workday(date(2026, 2, 14))
    assert not cal.is_workday(date(2026, 2, 16))
    assert cal.add_workdays(at(2026, 2, 13, 10, 0), 1) == at(2026, 2, 14, 10, 0)
    assert cal.add_workdays(at(2026, 2, 14, 10, 0), 1) == at(2026, 2, 24, 10, 0)


def test_years_without_official_data_use_weekdays_and_configured_days() -> None:
    configured = WorkCalendar(CN, extra_holidays=[date(2027, 1, 1)])
    assert not configured.is_workday(date(2027, 1, 1))
    assert configured.is_workday(date(2027, 1, 4))
    assert not configured.is_workday(date(2027, 1, 2))


@pytest.mark.parametrize(("text", "minutes"), [("45m", 45), ("2h", 120), ("3d", 4320)])
def test_clock_limits(text: str, minutes: int) -> None:
    start = at(2026, 11, 23, 8, 0)
    assert (parse_limit(text).deadline(start, cal) - start).total_seconds() == minutes * 60


@pytest.mark.parametrize("bad", ["", "5", "2 weeks", "1.5wd", "-1h"])
def test_bad_limits_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_limit(bad)


def test_policy_lookup_first_match_and_heating_season_start() -> None:
    table = load_sla_table()
    emergency = table.policy_for("safety_hazard", "emergency", at(2026, 12, 20, 9, 0))
    assert str(emergency.on_site) == "45m" and str(emergency.acknowledge) == "10m"
    in_surge = table.policy_for("heating_temperature", "normal", at(2026, 11, 20, 9, 0))
    later = table.policy_for("heating_temperature", "normal", at(2026, 12, 20, 9, 0))
    assert str(in_surge.resolve) == "72h" and str(later.resolve) == "48h"
    fallback = table.policy_for("billing", "normal", at(2026, 12, 20, 9, 0))
    assert str(fallback.resolve) == "7wd" and fallback.on_site is None


def test_phone_complaints_get_an_interim_reply_within_12_hours() -> None:
    table = load_sla_table()
    start = at(2026, 12, 21, 9, 0)
    policy = table.policy_for("billing", "normal", start)
    assert table.deadlines(policy, start, channel="web").interim_reply_by is None
    assert table.deadlines(policy, start, channel="phone").interim_reply_by == at(2026, 12, 21, 21, 0)


def test_scaled_deadlines_for_drills() -> None:
    table = load_sla_table()
    start = at(2026, 12, 21, 9, 0)
    policy = table.policy_for("safety_hazard", "emergency", start)
    scaled = table.deadlines(policy, start, scale=1 / 600)  # 10 minutes -> 1 second
    assert (scaled.acknowledge_by - start).total_seconds() == pytest.approx(1.0)


def test_invalid_policy_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text('[[rules]]\ncategory = "weather"\nseverity = "*"\n')
    with pytest.raises(ValueError, match="unknown category"):
        load_sla_table(bad)


# --- area classes and ladders ------------------------------------------------------------------------------------


def _policy(tmp_path: Path, text: str) -> Path:
    """A minimal policy: `text` (sections, then rules) after the ladders every policy needs."""
    path = tmp_path / "policy.toml"
    path.write_text(text if text.startswith("[ladders]") else _LADDERS + text, encoding="utf-8")
    return path


_RULE = '[[rules]]\ncategory = "*"\nseverity = "*"\n'
#: The ladders the duty-manager and follow-through paths name by default.
_LADDERS = (
    "[ladders]\n"
    'duty_manager = ["duty_manager"]\ndissatisfied = ["project_manager"]\ncorrective_action = ["leadership"]\n'
)


def test_area_classes_come_from_configuration_by_district_name() -> None:
    table = load_sla_table()
    assert (table.area_class("辽中区"), table.area_class("liaozhong"), table.area_class(" Faku ")) == (
        "rural",
        "rural",
        "remote",
    )
    assert (table.area_class("heping"), table.area_class(None), table.area_class("")) == ("city", "city", "city")
    # As channels spell them: full-width, spaced, Traditional (listed in the policy).
    assert {table.area_class(d) for d in ("ＬＩＡＯＺＨＯＮＧ", "Liao zhong", "遼中區")} == {"rural"}


def test_a_policy_without_ladders_still_has_the_paths_ladders(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[[rules]]\ncategory = "*"\nseverity = "*"\n', encoding="utf-8")
    table = load_sla_table(path)
    assert table.ladder("dissatisfied")[0] == "project_manager"
    assert table.ladder("default") == table.escalation_ladder == ("supervisor", "department_manager", "general_manager")


def test_on_site_limits_differ_by_area_class_and_name_it_in_the_policy_id() -> None:
    table = load_sla_table()
    start = at(2026, 12, 21, 9, 0)
    limits = {
        district: table.policy_for("outage", "emergency", start, district=district)
        for district in ("heping", "新民市", "康平县")
    }
    assert {d: str(p.on_site) for d, p in limits.items()} == {"heping": "45m", "新民市": "90m", "康平县": "2h"}
    assert [p.area_class for p in limits.values()] == ["city", "rural", "remote"]
    assert [p.policy_id.split("/")[-1] for p in limits.values()][1:] == ["rural", "remote"]
    assert "/" not in limits["heping"].policy_id
    assert limits["heping"].ladder == "urgent" and table.ladder("urgent") == ("department_manager", "general_manager")


def test_a_class_left_out_of_a_limit_takes_the_citys(tmp_path: Path) -> None:
    table = load_sla_table(
        _policy(tmp_path, f'[areas]\nrural = ["Vale"]\n{_RULE}on_site = {{ city = "45m", remote = "2h" }}\n')
    )
    assert str(table.policy_for("outage", "normal", at(2026, 12, 21, 9, 0), district="vale").on_site) == "45m"


def test_the_default_area_class_is_configurable(tmp_path: Path) -> None:
    table = load_sla_table(_policy(tmp_path, f'[areas]\ndefault = "rural"\n{_RULE}'))
    assert table.area_class("anywhere") == "rural"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f'{_RULE}on_site = {{ city = "45m", suburb = "1h" }}\n', "unknown area class suburb"),
        (f'{_RULE}on_site = {{ rural = "90m" }}\n', "names the city's"),
        (f'{_RULE}on_site = {{ city = "45 minutes" }}\n', "45 minutes"),
        (f'[areas]\ndefault = "suburb"\n{_RULE}', "areas.default"),
        (f'[areas]\nrural = ["Vale"]\nremote = ["vale"]\n{_RULE}', "both rural and remote: vale"),
        (f'{_RULE}ladder = "urgnet"\n', r"unknown ladder urgnet: define it under \[ladders\]"),
        (f"[ladders]\nempty = []\n{_RULE}", "ladders without rungs: empty"),
        (f'[follow_through]\ndissatisfied_ladder = "nobody"\n{_RULE}', "unknown ladder nobody"),
    ],
)
def test_bad_area_classes_and_ladders_are_clear_errors(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        load_sla_table(_policy(tmp_path, text))
