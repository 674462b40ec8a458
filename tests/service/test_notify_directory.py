"""Notify's staff directory against the real console (its app on real Postgres, the demo city imported): a role
and department resolved to the person on duty, with their phone and e-mail — the duty manager from the rota, repair's
department manager, a staff id directly, a role without a rota duty; the cache (a duty handed over is seen once the
cache runs out, not before); and when the console is down, the last good answer, else the directory file.

Notify speaks the console's HTTP API with a machine key (no console code is imported by notify); here its client
reaches the console's app in-process, through a transport that can be switched "down" (a refused connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.notify.directory import CachedStaffDirectory, Settings, StaffAddress, build
from shared.contracts.followup import Recipient
from tests.support.console import DEMO_ROTA, DEMO_STAFF, import_directory, running_console
from tests.support.infrastructure import Infrastructure
from tests.support.reporting import fresh_database

CONSOLE = "http://console.test"
DUTY_MANAGER = StaffAddress("duty.zheng", "郑伟", "+8613800000011", "duty.zheng@demo-utility.example")
REPAIR_MANAGER = StaffAddress("manager.qian", "钱亮", "+8613800000012", "manager.qian@demo-utility.example")


class Switchable(httpx.AsyncBaseTransport):
    """The console's app in-process; `down = True` refuses every connection as a stopped console would."""

    def __init__(self, app: FastAPI) -> None:
        self.app = httpx.ASGITransport(app=app)
        self.down = False
        self.calls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.app.handle_async_request(request)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def staff(role: str | None = None, department: str | None = None, staff_id: str | None = None) -> Recipient:
    return Recipient(kind="staff", role=role, department=department, staff_id=staff_id)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def console(migrated: Infrastructure) -> AsyncIterator[tuple[str, FastAPI]]:
    async with fresh_database(migrated.database_url) as url:
        answer = import_directory(url, str(DEMO_STAFF), "--rota", str(DEMO_ROTA))
        assert answer.returncode == 0, answer.stderr
        async with running_console(url) as (app, _):
            yield url, app


def _directory(
    app: FastAPI, clock: Clock, **settings: object
) -> tuple[Switchable, httpx.AsyncClient, CachedStaffDirectory]:
    transport = Switchable(app)
    http = httpx.AsyncClient(transport=transport)
    configured = Settings(notify_directory_url=CONSOLE, notify_directory_cache_s=30, **settings)  # type: ignore[arg-type]
    return transport, http, build(configured, http=http, monotonic=clock)


async def test_roles_and_people_resolve_to_the_person_on_duty(console: tuple[str, FastAPI]) -> None:
    _, app = console
    transport, http, directory = _directory(app, Clock())
    async with http:
        assert await directory.resolve(staff("duty_manager")) == DUTY_MANAGER
        # A department's case still reaches the utility-wide duty manager (a rota row without a department).
        assert await directory.resolve(staff("duty_manager", "repair")) == DUTY_MANAGER
        assert await directory.resolve(staff("department_manager", "repair")) == REPAIR_MANAGER
        # Nobody manages billing: no rota row, nobody of that role there (nor of no department).
        assert await directory.resolve(staff("department_manager", "billing")) is None
        # Not a rota duty: the first active staff member with that role (of no department: serves them all).
        supervisor = await directory.resolve(staff("supervisor", "repair"))
        assert supervisor == StaffAddress(
            "supervisor.wu", "吴静", "+8613800000013", "supervisor.wu@demo-utility.example"
        )
        leader = await directory.resolve(staff("leadership"))
        assert leader is not None and (leader.staff_id, leader.phone) == ("leader.he", "+8613800000014")
        # A person directly; one without a phone has only the e-mail; an unknown id is nobody.
        agent = await directory.resolve(staff(staff_id="agent.li"))
        assert agent == StaffAddress("agent.li", "李娜", None, "agent.li@demo-utility.example")
        assert await directory.resolve(staff(staff_id="nobody.here")) is None
        # A ladder's role the console does not know (a 422 there) is nobody, not an outage.
        assert await directory.resolve(staff("general_manager")) is None
        assert "/v1/rota/now" in transport.calls and "/v1/staff" in transport.calls


async def test_a_role_without_a_rota_holder_falls_back_to_the_first_with_that_role(
    console: tuple[str, FastAPI], tmp_path: Path
) -> None:
    """`department_manager` is a rota duty; with the rota replaced by one naming no manager for repair, the first
    active staff member with that role in repair is the one (manager.qian, from `GET /v1/staff`)."""
    url, app = console
    rota = tmp_path / "rota.csv"
    rota.write_text(
        "duty,staff_id,department,starts_at,ends_at\nduty_manager,duty.zheng,,2026-01-01T00:00:00+08:00,\n",
        encoding="utf-8",
    )
    assert import_directory(url, str(DEMO_STAFF), "--rota", str(rota)).returncode == 0
    try:
        _, http, directory = _directory(app, Clock())
        async with http:
            assert await directory.resolve(staff("department_manager", "repair")) == REPAIR_MANAGER
            assert await directory.resolve(staff("duty_manager")) == DUTY_MANAGER
    finally:
        assert import_directory(url, str(DEMO_STAFF), "--rota", str(DEMO_ROTA)).returncode == 0


async def test_a_duty_handed_over_is_seen_once_the_cache_runs_out(console: tuple[str, FastAPI], tmp_path: Path) -> None:
    url, app = console
    clock = Clock()
    transport, http, directory = _directory(app, clock)
    handed = tmp_path / "rota.csv"
    later = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    handed.write_text(
        "duty,staff_id,department,starts_at,ends_at\n"
        "duty_manager,duty.zheng,,2026-01-01T00:00:00+08:00,\n"
        f"duty_manager,supervisor.wu,,{later},\n",
        encoding="utf-8",
    )
    async with http:
        try:
            assert await directory.resolve(staff("duty_manager")) == DUTY_MANAGER
            asked = len(transport.calls)
            assert import_directory(url, str(DEMO_STAFF), "--rota", str(handed)).returncode == 0
            clock.now += 29
            assert await directory.resolve(staff("duty_manager")) == DUTY_MANAGER
            assert len(transport.calls) == asked  # answered from the cache
            clock.now += 2
            found = await directory.resolve(staff("duty_manager"))
            assert found is not None and found.staff_id == "supervisor.wu"  # the latest start holds the duty
        finally:
            assert import_directory(url, str(DEMO_STAFF), "--rota", str(DEMO_ROTA)).returncode == 0


async def test_the_console_down_the_last_good_answer_then_the_file(
    console: tuple[str, FastAPI], tmp_path: Path
) -> None:
    _, app = console
    clock = Clock()
    # The file names another duty manager, so which source answered is visible.
    staff_file = tmp_path / "staff.csv"
    staff_file.write_text(
        "staff_id,display_name,display_name_en,roles,department,crew,contact,phone,active\n"
        "file.duty,文件,File Duty,duty_manager,,,file.duty@example.org,+86 138 0000 0077,\n"
        "file.off,停用,,duty_manager,,,,+8613800000078,false\n"
        "file.repair,修,,department_manager,repair,,not-an-email,,true\n",
        encoding="utf-8",
    )
    rota_file = tmp_path / "rota.csv"
    rota_file.write_text(
        "duty,staff_id,department,starts_at,ends_at\nduty_manager,file.duty,,2026-01-01T00:00:00+08:00,\n",
        encoding="utf-8",
    )
    transport, http, directory = _directory(
        app, clock, notify_directory_file=str(staff_file), notify_rota_file=str(rota_file)
    )
    async with http:
        assert await directory.resolve(staff("duty_manager")) == DUTY_MANAGER
        transport.down = True
        clock.now += 3600
        # Long expired, but the console cannot be asked: the last good answer, not the file.
        assert await directory.resolve(staff("duty_manager")) == DUTY_MANAGER
        # Never asked before: the file.
        from_file = await directory.resolve(staff("department_manager", "repair"))
        assert from_file == StaffAddress("file.repair", "修", None, None)
        transport.down = False
        assert await directory.resolve(staff("department_manager", "repair")) == REPAIR_MANAGER

    # Without a console at all, the file is the directory: its rota, its active people, phones as digits.
    only_file = build(Settings(notify_directory_file=str(staff_file), notify_rota_file=str(rota_file)))
    assert await only_file.resolve(staff("duty_manager")) == StaffAddress(
        "file.duty", "文件", "+8613800000077", "file.duty@example.org"
    )
    assert await only_file.resolve(staff(staff_id="file.off")) is None  # inactive
    assert await only_file.resolve(staff(staff_id="nobody")) is None
    # The console down and no file: nobody (notify then addresses the console inbox by role).
    _, down_http, bare = _directory(app, clock)
    async with down_http:
        bare_transport = down_http._transport
        bare_transport.down = True
        assert await bare.resolve(staff("duty_manager")) is None
