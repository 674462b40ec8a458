"""Notify's staff directory without a console: the directory file's rule (rota holder now, else the first active
member with the role in the department, else of no department), addresses read as phone and e-mail, the settings'
names; and the console inbox provider (accepted is delivered)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notify.directory import Settings, StaffAddress, build
from services.notify.providers import console_inbox
from services.notify.providers.base import Outgoing, PermanentError, Sent
from shared.contracts.followup import Recipient

STAFF = (
    "staff_id,display_name,display_name_en,roles,department,crew,contact,phone,active\n"
    "a.duty,甲,,duty_manager,,,a@example.org,+8613800000001,\n"
    "b.duty,乙,,duty_manager,,,b@example.org,,\n"
    "r.boss,丙,,department_manager,repair,,r-boss@example.org,138 0000 0003,\n"
    "s.one,丁,,supervisor,,,pager 123,+8613800000004,\n"
    "s.gone,戊,,supervisor,,,,+8613800000005,false\n"
    "rep.sup,己,,supervisor,repair,,,+8613800000006,\n"
)
ROTA = (
    "duty,staff_id,department,starts_at,ends_at\n"
    "duty_manager,a.duty,,2026-01-01T00:00:00+08:00,2026-02-01T00:00:00+08:00\n"
    "duty_manager,b.duty,,2026-02-01T00:00:00+08:00,\n"
    "on_call,s.one,,2026-01-01T00:00:00+08:00,\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    staff, rota = tmp_path / "staff.csv", tmp_path / "rota.csv"
    staff.write_text(STAFF, encoding="utf-8")
    rota.write_text(ROTA, encoding="utf-8")
    return staff, rota


def staff(role: str | None = None, department: str | None = None, staff_id: str | None = None) -> Recipient:
    return Recipient(kind="staff", role=role, department=department, staff_id=staff_id)  # type: ignore[arg-type]


async def test_the_rota_holder_now_by_the_files_clock(files: tuple[Path, Path]) -> None:
    staff_file, rota_file = files
    settings = Settings(notify_directory_file=str(staff_file), notify_rota_file=str(rota_file))
    january = build(settings, now=lambda: datetime(2026, 1, 15, tzinfo=UTC))
    march = build(settings, now=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    assert await january.resolve(staff("duty_manager")) == StaffAddress(
        "a.duty", "甲", "+8613800000001", "a@example.org"
    )
    assert (await march.resolve(staff("duty_manager", "billing"))).staff_id == "b.duty"  # type: ignore[union-attr]
    # on_call in repair: the rota row without a department covers it.
    assert (await march.resolve(staff("on_call", "repair"))).staff_id == "s.one"  # type: ignore[union-attr]


async def test_without_a_rota_the_first_active_member_in_the_department_then_of_none(files: tuple[Path, Path]) -> None:
    staff_file, _ = files
    directory = build(Settings(notify_directory_file=str(staff_file)))
    boss = await directory.resolve(staff("department_manager", "repair"))
    assert boss == StaffAddress("r.boss", "丙", "13800000003", "r-boss@example.org")
    assert await directory.resolve(staff("department_manager", "billing")) is None
    # The department's own supervisor first; elsewhere the one of no department; the inactive one never.
    assert (await directory.resolve(staff("supervisor", "repair"))).staff_id == "rep.sup"  # type: ignore[union-attr]
    other = await directory.resolve(staff("supervisor", "billing"))
    assert other == StaffAddress("s.one", "丁", "+8613800000004", None)  # "pager 123" is no e-mail
    assert (await directory.resolve(staff("supervisor"))).staff_id == "s.one"  # type: ignore[union-attr]
    assert await directory.resolve(staff(staff_id="s.gone")) is None
    assert await directory.resolve(staff("leadership")) is None
    assert await directory.resolve(Recipient(kind="customer", phone="13800000000")) is None


async def test_nothing_configured_is_nobody() -> None:
    assert await build(Settings()).resolve(staff("duty_manager")) is None


def test_settings_read_the_console_url_and_refuse_the_dev_key_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_URL", "http://127.0.0.1:8004")
    assert Settings().notify_directory_url == "http://127.0.0.1:8004"
    monkeypatch.setenv("NOTIFY_DIRECTORY_URL", "http://console:8004")
    assert Settings().notify_directory_url == "http://console:8004"
    assert Settings().notify_directory_cache_s == 30
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ValueError, match="NOTIFY_DIRECTORY_KEY"):
        Settings()
    monkeypatch.setenv("NOTIFY_DIRECTORY_KEY", "a-real-machine-key-of-the-console")
    assert Settings().notify_directory_key.startswith("a-real")


async def test_the_console_inbox_accepts_at_once_and_that_is_delivery() -> None:
    settings = console_inbox.Settings()
    assert settings.enabled and console_inbox.receipts(settings) is None
    inbox = console_inbox.build(settings)
    assert (inbox.name, inbox.channel) == ("console", "console")
    message = Outgoing(uuid.uuid4(), "console", "duty.zheng", "staff_duty_manager", {}, "请处理", "zh", "20260101-0001")
    assert await inbox.send(message) == Sent(provider_message_id=None, delivered=True)
    assert await inbox.find_sent(message, datetime.now(UTC)) is None
    with pytest.raises(PermanentError):
        await inbox.send(Outgoing(uuid.uuid4(), "console", "", "t", {}, "x", "zh"))
    await inbox.aclose()
