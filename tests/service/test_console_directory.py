"""The staff directory on real Postgres: `python -m services.console.directory import` (every bad row named,
nothing written then), the demo city seeded into an empty directory at start-up (never over an operator's), and
the JSON API other services read — who is who, and who is on duty now — with a person's token or a machine key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.console import DEMO_ROTA, DEMO_STAFF, console_database, import_directory, running_console
from tests.support.infrastructure import Infrastructure
from tests.support.tokens import LocalIssuer

MACHINE = {"X-API-Key": "dev-only-directory-key"}


@pytest.fixture(scope="module")
async def database(migrated: Infrastructure) -> AsyncIterator[str]:
    async with console_database(migrated.database_url) as url:
        yield url


async def _count(database_url: str, table: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM console.{table}"))
    finally:
        await conn.close()


async def test_a_file_with_bad_rows_names_each_and_changes_nothing(database: str, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "staff_id,display_name,display_name_en,roles,department,crew,contact\n"
        "good.one,甲,,agent,,,\n"
        "bad.role,乙,,janitor,,,\n"
        "crew.x,丙,,crew,repair,,\n",
        encoding="utf-8",
    )
    rota = tmp_path / "rota.json"
    rota.write_text('[{"duty": "duty_manager", "staff_id": "nobody", "starts_at": "2026-01-01T00:00:00+08:00"}]')
    answer = import_directory(database, str(staff), "--rota", str(rota))
    assert answer.returncode == 1
    assert "nothing imported: 3 problem(s)" in answer.stderr
    assert "staff row 2: roles: unknown ['janitor']" in answer.stderr
    assert "staff row 3: crew: a crew member names their crew" in answer.stderr
    assert "rota row 1: staff_id 'nobody' is not in the staff directory" in answer.stderr
    assert await _count(database, "staff") == 0


async def test_the_demo_city_imports_and_reads_back_over_the_api(database: str) -> None:
    answer = import_directory(database, str(DEMO_STAFF), "--rota", str(DEMO_ROTA))
    assert answer.returncode == 0, answer.stderr
    staff_rows = len(DEMO_STAFF.read_text(encoding="utf-8").strip().splitlines()) - 1
    assert f"staff directory: {staff_rows} staff" in answer.stdout
    again = import_directory(database, str(DEMO_STAFF), "--if-empty")
    assert "not empty, nothing imported" in again.stdout

    issuer = LocalIssuer()
    async with running_console(database, persons=issuer.verifier(), oidc_issuer=issuer.issuer) as (_, client):
        agent = {"Authorization": f"Bearer {issuer.mint('agent.li', roles=('agent',), name='李娜')}"}
        everyone = await client.get("/v1/staff", headers=agent)
        assert everyone.status_code == 200
        assert len(everyone.json()["items"]) == staff_rows
        li = await client.get("/v1/staff/agent.li", headers=MACHINE)
        assert li.json() == {
            "staff_id": "agent.li",
            "display_name": "李娜",
            "display_name_en": "Li Na",
            "roles": ["agent"],
            "department": None,
            "crew": None,
            "contact": "agent.li@demo-utility.example",
            "active": True,
            "phone": None,
        }
        duty_manager = await client.get("/v1/staff/duty.zheng", headers=MACHINE)
        assert duty_manager.json()["phone"] == "+8613800000011"
        crews = await client.get("/v1/staff", params={"department": "repair", "role": "crew"}, headers=MACHINE)
        assert {m["staff_id"] for m in crews.json()["items"]} == {"crew1.chen", "crew1.liu", "crew2.yang"}

        duty = await client.get("/v1/rota/now?duty=duty_manager&department=", headers=agent)
        assert duty.status_code == 200
        assert [i["staff"]["staff_id"] for i in duty.json()["items"]] == ["duty.zheng"]
        manager = await client.get(
            "/v1/rota/now", params={"duty": "department_manager", "department": "repair"}, headers=MACHINE
        )
        assert [i["staff"]["staff_id"] for i in manager.json()["items"]] == ["manager.qian"]
        nobody = await client.get(
            "/v1/rota/now", params={"duty": "department_manager", "department": "billing"}, headers=MACHINE
        )
        assert nobody.json()["items"] == []

        assert (await client.get("/v1/staff/nobody", headers=MACHINE)).status_code == 404
        assert (await client.get("/v1/staff")).status_code == 401
        assert (await client.get("/v1/staff", headers={"X-API-Key": "wrong"})).status_code == 401
        expired = issuer.mint("agent.li", roles=("agent",), expires_in=-120)
        assert (await client.get("/v1/staff", headers={"Authorization": f"Bearer {expired}"})).status_code == 401
        forged = LocalIssuer().mint("agent.li", roles=("agent",))
        assert (await client.get("/v1/staff", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
        bad = await client.get("/v1/rota/now", params={"duty": "tea_lady"}, headers=MACHINE)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def test_a_staff_phone_is_imported_and_a_bad_one_is_named_by_its_row(database: str, tmp_path: Path) -> None:
    """The optional `phone` column: a good number (spaces and hyphens dropped) is kept and read back; a bad one is
    named by its row, without printing the number, and nothing is written."""
    header = "staff_id,display_name,display_name_en,roles,department,crew,contact,phone\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + "phone.ok,甲,,duty_manager,,,ok@example.org,+86 138-0000-0099\n"
        "phone.bad,乙,,supervisor,,,,138-ABC-0000\nphone.short,丙,,supervisor,,,,12345\n",
        encoding="utf-8",
    )
    answer = import_directory(database, str(bad))
    assert answer.returncode == 1
    assert "nothing imported: 2 problem(s)" in answer.stderr
    assert "staff row 2: phone: digits with an optional leading +, 7 to 20" in answer.stderr
    assert "staff row 3: phone: digits with an optional leading +, 7 to 20" in answer.stderr
    assert "ABC" not in answer.stderr and "12345" not in answer.stderr
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM console.staff WHERE staff_id LIKE 'phone.%'") == 0
    finally:
        await conn.close()

    good = tmp_path / "good.csv"
    good.write_text(header + "phone.ok,甲,,duty_manager,,,ok@example.org,+86 138-0000-0099\nphone.none,乙,,agent,,,,\n")
    answer = import_directory(database, str(good))
    assert answer.returncode == 0, answer.stderr
    async with running_console(database) as (_, client):
        ok = (await client.get("/v1/staff/phone.ok", headers=MACHINE)).json()
        assert (ok["phone"], ok["contact"]) == ("+8613800000099", "ok@example.org")
        assert (await client.get("/v1/staff/phone.none", headers=MACHINE)).json()["phone"] is None
        # The list carries it too (what notify reads to find the duty manager without a rota).
        on_duty = await client.get("/v1/staff", params={"role": "duty_manager"}, headers=MACHINE)
        assert "+8613800000099" in {m["phone"] for m in on_duty.json()["items"]}


async def test_start_up_seeds_only_an_empty_directory(migrated: Infrastructure, tmp_path: Path) -> None:
    async with console_database(migrated.database_url) as url:
        async with running_console(url, console_seed_staff=str(DEMO_STAFF), console_seed_rota=str(DEMO_ROTA)) as (
            _,
            client,
        ):
            assert (await client.get("/v1/staff/duty.zheng", headers=MACHINE)).json()["display_name"] == "郑伟"
            seeded = await _count(url, "staff")
            assert seeded > 0 and await _count(url, "rota") > 0
        other = tmp_path / "other.csv"
        other.write_text("staff_id,display_name\nsomeone.else,某人\n", encoding="utf-8")
        async with running_console(url, console_seed_staff=str(other)) as (_, client):
            assert (await client.get("/v1/staff/someone.else", headers=MACHINE)).status_code == 404
        assert await _count(url, "staff") == seeded


async def test_readiness_says_whether_anyone_can_sign_in(database: str) -> None:
    async with running_console(database) as (_, client):
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["sign_in"] == "no identity provider"
        page = await client.get("/agent/complaints/new")
        assert page.status_code == 503 and "登录服务未配置" in page.text
    issuer = LocalIssuer()
    async with running_console(database, persons=issuer.verifier(), oidc_issuer=issuer.issuer) as (_, client):
        assert (await client.get("/readyz")).json()["sign_in"] == "configured"
        metrics = await client.get("/metrics")
        assert "console_sign_ins_total" in metrics.text and "console_service_calls_total" in metrics.text
