"""Reading the staff directory and the rota from CSV or JSON: the demo city's files load, and every bad row is
named (an import with any problem changes nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.console.directory_file import ROTA_COLUMNS, STAFF_COLUMNS, parse_directory, read_rows

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo-city"
HEADER = ",".join(STAFF_COLUMNS)


def _staff(*rows: str) -> list[dict[str, object]]:
    return read_rows("\n".join([HEADER, *rows]), "staff.csv", STAFF_COLUMNS[:2])


def _rota(*rows: str) -> list[dict[str, object]]:
    return read_rows("\n".join([",".join(ROTA_COLUMNS), *rows]), "rota.csv", ROTA_COLUMNS[:2])


@pytest.mark.skipif(not (DEMO / "staff.csv").exists(), reason="the demo city's staff file is not written yet")
def test_the_demo_city_loads_without_a_problem() -> None:
    staff = read_rows((DEMO / "staff.csv").read_text(encoding="utf-8"), "staff.csv", STAFF_COLUMNS[:2])
    rota = read_rows((DEMO / "rota.csv").read_text(encoding="utf-8"), "rota.csv", ROTA_COLUMNS[:2])
    parsed = parse_directory(staff, rota)
    assert parsed.problems == []
    by_id = {m.staff_id: m for m in parsed.staff}
    assert by_id["agent.li"].display_name == "李娜"
    assert by_id["crew1.chen"].roles == ("crew",) and by_id["crew1.chen"].crew == "repair-crew-1"
    assert by_id["repair.zhao"].department == "repair"
    assert any(e.duty == "duty_manager" and e.staff_id == "duty.zheng" for e in parsed.rota)


def test_a_good_row_with_several_roles() -> None:
    parsed = parse_directory(
        _staff("sup.a,吴静,Wu Jing,supervisor;duty_manager,,,wu@example"),
        _rota("duty_manager,sup.a,,2026-01-01T08:00:00+08:00,2026-01-02T08:00:00+08:00"),
    )
    assert parsed.problems == []
    member = parsed.staff[0]
    assert (member.roles, member.display_name_en, member.contact, member.active) == (
        ("supervisor", "duty_manager"),
        "Wu Jing",
        "wu@example",
        True,
    )
    assert parsed.rota[0].covers(datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert not parsed.rota[0].covers(datetime(2026, 1, 3, tzinfo=UTC))


def test_every_bad_row_is_named() -> None:
    parsed = parse_directory(
        _staff(
            "ok.one,甲,,agent,,,",
            ",无编号,,agent,,,",
            "no.name,,,agent,,,",
            "bad.role,乙,,janitor,,,",
            "bad.dept,丙,,dispatcher,plumbing,,",
            "crew.nocrew,丁,,crew,repair,,",
            "ok.one,重复,,agent,,,",
            "bad id!,戊,,agent,,,",
        ),
        _rota(
            "duty_manager,ok.one,,2026-01-01T00:00:00+08:00,",
            "duty_manager,nobody,,2026-01-01T00:00:00+08:00,",
            "tea_lady,ok.one,,2026-01-01T00:00:00+08:00,",
            "department_manager,ok.one,,2026-01-01T00:00:00+08:00,",
            "on_call,ok.one,repair,yesterday,",
            "on_call,ok.one,repair,2026-01-02T00:00:00+08:00,2026-01-01T00:00:00+08:00",
            "on_call,ok.one,repair,2026-01-02T00:00:00,",
        ),
    )
    assert [m.staff_id for m in parsed.staff] == ["ok.one"]
    problems = "\n".join(parsed.problems)
    for expected in (
        "staff row 2: staff_id: required",
        "staff row 3: display_name: required",
        "staff row 4: roles: unknown ['janitor']",
        "staff row 5: department 'plumbing'",
        "staff row 6: crew: a crew member names their crew",
        "staff row 7: staff_id 'ok.one' repeats row 1",
        "staff row 8: staff_id 'bad id!'",
        "rota row 2: staff_id 'nobody' is not in the staff directory",
        "rota row 3: duty 'tea_lady'",
        "rota row 4: department: a department manager's duty names the department",
        "rota row 5: starts_at 'yesterday'",
        "rota row 6: ends_at: must be after starts_at",
        "rota row 7: starts_at '2026-01-02T00:00:00': give the offset",
    ):
        assert expected in problems, expected
    assert len(parsed.problems) == 13


def test_rota_rows_may_name_staff_already_in_the_directory() -> None:
    parsed = parse_directory(
        [], _rota("on_call,crew1.chen,repair,2026-01-01T00:00:00+08:00,"), known_staff={"crew1.chen"}
    )
    assert parsed.problems == [] and parsed.rota[0].department == "repair"


def test_json_files_hold_a_list_or_items_and_roles_as_a_list() -> None:
    rows = read_rows(
        json.dumps({"items": [{"staff_id": "a.b", "display_name": "甲", "roles": ["agent", "supervisor"]}, 7]}),
        "staff.json",
        STAFF_COLUMNS[:2],
    )
    parsed = parse_directory(rows)
    assert parsed.staff[0].roles == ("agent", "supervisor")
    assert parsed.problems == ["staff row 2: an object with the staff columns expected"]


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("{not json", "staff.json", "staff.json: not JSON"),
        ('{"staff": []}', "staff.json", "a JSON list of objects expected"),
        ("id,name\nx,y\n", "staff.csv", "missing columns ['staff_id', 'display_name']"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(text: str, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_rows(text, name, STAFF_COLUMNS[:2])
