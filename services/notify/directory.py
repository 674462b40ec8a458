"""Whom a staff notice reaches: a role and department (or a staff id) resolved to one person and their addresses.

Followup addresses staff by role ("duty_manager", "department_manager" of repair, "leadership"), sometimes by
person (a case's owner). A phone cannot ring a role, so each staff notice is resolved here to the person who holds
that role now, and to their phone (the SMS of an urgent notice) and e-mail; the console's inbox, addressed by staff
id, always follows.

Where the answer comes from:
- **the console's directory API** (`NOTIFY_DIRECTORY_URL`, its base URL; `CONSOLE_URL` is read too, as `make run`
  sets it for every service), with a machine key of its `CONSOLE_DIRECTORY_CREDENTIALS` (`NOTIFY_DIRECTORY_KEY`).
  Notify imports nothing of the console's (no service imports another): it speaks the console's HTTP API;
- **a configured directory file** when there is no console (`NOTIFY_DIRECTORY_FILE`, `NOTIFY_ROTA_FILE`: the
  columns of `deploy/demo-city/staff.csv` and `rota.csv`), read here (a small CSV reader of our own).

The rule, the same for both:
1. a `staff_id` → that person, when active;
2. a role that is a rota duty (`duty_manager`, `department_manager`, `on_call`) → who holds it now in that
   department (latest start first; a rota row without a department covers every department);
3. else the first active staff member (by staff id) with that role in that department — or, for a department
   nobody of that role belongs to, the first with that role and no department (they serve every department);
   without a department, the first with that role (those without a department first).

Answers are cached for `NOTIFY_DIRECTORY_CACHE_S` (default 30 s), so a duty handed over is seen within that. When
the console cannot be asked (down, a 5xx, our key refused), the last good answer is used however old, else the
file when one is configured, else None — and notify then addresses the console inbox by role, so the notice still
shows to whoever holds that role when they sign in. Nothing here logs a phone or an e-mail address.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.followup import Recipient
from shared.logging import get_logger

log = get_logger(__name__)

#: The duties the console's rota knows (its `model.DUTIES`): a role of these is resolved to the rota's holder first.
DUTIES = ("duty_manager", "department_manager", "on_call")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_PHONE = re.compile(r"^\+?[0-9]{7,20}$")
DEV_KEY = "dev-only-directory-key"


@dataclass(frozen=True)
class StaffAddress:
    """The person a staff notice reaches, and where: `phone` for an SMS, `email` for a mail (either may be None);
    the console inbox needs only `staff_id`."""

    staff_id: str
    display_name: str
    phone: str | None
    email: str | None


class StaffDirectory(Protocol):
    async def resolve(self, recipient: Recipient) -> StaffAddress | None:
        """The person the notice is for, or None when nobody can be found (notify then addresses the console
        inbox by role)."""
        ...


class Settings(BaseSettings):
    """Where the staff directory is: the console's API and/or a directory file."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    app_env: str = "dev"
    #: The console's base URL (its `/v1/staff`, `/v1/rota/now`); `make run` sets CONSOLE_URL for every service.
    notify_directory_url: str | None = Field(  # type: ignore[pydantic-alias]
        default=None, validation_alias=AliasChoices("notify_directory_url", "console_url")
    )
    #: A machine key of the console's CONSOLE_DIRECTORY_CREDENTIALS (the dev one is refused outside dev/test).
    notify_directory_key: str = DEV_KEY
    #: The directory when there is no console (or it is down and nothing was cached): staff.csv's columns.
    notify_directory_file: str | None = None
    #: Its rota: rota.csv's columns (duty, staff_id, department, starts_at, ends_at).
    notify_rota_file: str | None = None
    #: How long an answer is used before the console is asked again (a duty handed over is seen within this).
    notify_directory_cache_s: float = Field(default=30.0, ge=0)
    #: How long a question to the console may take before the cached answer or the file is used instead.
    notify_directory_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if (
            self.app_env not in ("dev", "test")
            and self.notify_directory_url
            and "dev-only" in self.notify_directory_key
        ):
            raise ValueError(f"refusing to start in {self.app_env!r}: NOTIFY_DIRECTORY_KEY is the development key")
        return self


# -- the rule, on rows of either source ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    staff_id: str
    display_name: str
    roles: tuple[str, ...]
    department: str | None
    contact: str | None
    phone: str | None
    active: bool

    def address(self) -> StaffAddress:
        contact = (self.contact or "").strip()
        phone = (self.phone or "").replace(" ", "").replace("-", "")
        return StaffAddress(
            staff_id=self.staff_id,
            display_name=self.display_name,
            phone=phone if _PHONE.match(phone) else None,
            email=contact if _EMAIL.match(contact) else None,
        )


@dataclass(frozen=True)
class _Duty:
    duty: str
    department: str | None
    starts_at: datetime
    member: _Member


def _pick_holder(duties: Sequence[_Duty], department: str | None) -> _Member | None:
    """The rota's holder, latest start first: of this department's row, else of a row covering every department;
    without a department asked, a row without one first, else any."""
    ordered = sorted(duties, key=lambda d: (-d.starts_at.timestamp(), d.member.staff_id))
    active = [d for d in ordered if d.member.active]
    for wanted in (department, None) if department else (None,):
        for duty in active:
            if duty.department == wanted:
                return duty.member
    return active[0].member if active and department is None else None


def _pick_member(members: Sequence[_Member], role: str, department: str | None) -> _Member | None:
    """The first active member (by staff id) with `role`: in `department`, else of no department (they serve
    every department); without a department asked, those of no department first, else any."""
    holders = sorted((m for m in members if m.active and role in m.roles), key=lambda m: m.staff_id)
    for wanted in (department, None) if department else (None,):
        for member in holders:
            if member.department == wanted:
                return member
    return holders[0] if holders and department is None else None


def _key(recipient: Recipient) -> tuple[str, str, str]:
    if recipient.staff_id:
        return ("staff", recipient.staff_id, "")
    return ("role", recipient.role or "", recipient.department or "")


# -- the sources ------------------------------------------------------------------------------------------------


class DirectoryUnavailable(Exception):
    """The console could not answer (down, a timeout, a 5xx, our key refused): use what is known instead."""


class ConsoleDirectorySource:
    """The console's directory API with a machine key."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, key: str, timeout_s: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"X-API-Key": key, "Accept": "application/json"}
        self._timeout = timeout_s

    async def lookup(self, key: tuple[str, str, str]) -> _Member | None:
        kind, first, department = key
        if kind == "staff":
            found = await self._get(f"/v1/staff/{quote(first, safe='')}", {}, missing_ok=True)
            return _member(found) if found is not None else None
        if first in DUTIES:
            rota = await self._get("/v1/rota/now", {"duty": first, "department": ""})
            duties = [
                _Duty(i["duty"], i.get("department"), datetime.fromisoformat(i["starts_at"]), _member(i["staff"]))
                for i in (rota or {}).get("items", [])
            ]
            holder = _pick_holder(duties, department or None)
            if holder is not None:
                return holder
        staff = await self._get("/v1/staff", {"role": first} if first else {})
        return _pick_member([_member(i) for i in (staff or {}).get("items", [])], first, department or None)

    async def _get(self, path: str, params: Mapping[str, str], *, missing_ok: bool = False) -> Any:
        try:
            response = await self._http.get(
                f"{self._base}{path}", params=dict(params), headers=self._headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(type(exc).__name__) from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 422 and path == "/v1/staff":
            return {"items": []}  # a role the console does not know: nobody holds it
        if response.status_code != 200:
            raise DirectoryUnavailable(f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise DirectoryUnavailable("not JSON") from None


def _member(item: Mapping[str, Any]) -> _Member:
    return _Member(
        staff_id=str(item["staff_id"]),
        display_name=str(item.get("display_name") or item["staff_id"]),
        roles=tuple(item.get("roles") or ()),
        department=item.get("department") or None,
        contact=item.get("contact") or None,
        phone=item.get("phone") or None,
        active=bool(item.get("active", True)),
    )


class FileDirectorySource:
    """The directory and rota files (staff.csv's and rota.csv's columns), read again whenever either changes."""

    def __init__(self, staff_file: Path, rota_file: Path | None, now: Callable[[], datetime]) -> None:
        self._staff_file = staff_file
        self._rota_file = rota_file
        self._now = now
        self._stamp: tuple[float, float] | None = None
        self._members: list[_Member] = []
        self._rota: list[tuple[str, str | None, datetime, datetime | None, str]] = []

    def lookup(self, key: tuple[str, str, str]) -> _Member | None:
        self._load()
        kind, first, department = key
        by_id = {m.staff_id: m for m in self._members}
        if kind == "staff":
            member = by_id.get(first)
            return member if member is not None and member.active else None
        if first in DUTIES:
            now = self._now()
            duties = [
                _Duty(duty, dept, start, by_id[staff_id])
                for duty, dept, start, end, staff_id in self._rota
                if duty == first and staff_id in by_id and start <= now and (end is None or now < end)
            ]
            holder = _pick_holder(duties, department or None)
            if holder is not None:
                return holder
        return _pick_member(self._members, first, department or None)

    def _load(self) -> None:
        stamp = (self._staff_file.stat().st_mtime, self._rota_file.stat().st_mtime if self._rota_file else 0.0)
        if stamp == self._stamp:
            return
        self._members = [_file_member(row) for row in _csv_rows(self._staff_file) if (row.get("staff_id") or "")]
        self._rota = []
        for row in _csv_rows(self._rota_file) if self._rota_file else []:
            try:
                start = _aware(row.get("starts_at") or "")
                end = _aware(row["ends_at"]) if (row.get("ends_at") or "").strip() else None
            except ValueError:
                log.warning("directory file: a rota row without a readable time is skipped", file=str(self._rota_file))
                continue
            dept = (row.get("department") or "").strip() or None
            self._rota.append(((row.get("duty") or "").strip(), dept, start, end, (row.get("staff_id") or "").strip()))
        self._stamp = stamp


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def _file_member(row: Mapping[str, str | None]) -> _Member:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    active = cell("active").lower() not in ("0", "false", "no", "n")
    return _Member(
        staff_id=cell("staff_id"),
        display_name=cell("display_name") or cell("staff_id"),
        roles=tuple(r.strip() for r in cell("roles").split(";") if r.strip()),
        department=cell("department") or None,
        contact=cell("contact") or None,
        phone=cell("phone") or None,
        active=active,
    )


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError("no offset")
    return value


# -- the directory notify uses ----------------------------------------------------------------------------------


class CachedStaffDirectory:
    """`StaffDirectory` over the console (cached) with the file as the fallback, or the file alone."""

    def __init__(
        self,
        console: ConsoleDirectorySource | None,
        file: FileDirectorySource | None,
        *,
        cache_s: float,
        monotonic: Callable[[], float] = time.monotonic,
        owned_http: httpx.AsyncClient | None = None,
    ) -> None:
        self._console = console
        self._file = file
        self._cache_s = cache_s
        self._monotonic = monotonic
        self._owned_http = owned_http
        self._answers: dict[tuple[str, str, str], tuple[float, _Member | None]] = {}

    async def resolve(self, recipient: Recipient) -> StaffAddress | None:
        if recipient.kind != "staff" or not (recipient.staff_id or recipient.role):
            return None
        member = await self._lookup(_key(recipient))
        return member.address() if member is not None else None

    async def _lookup(self, key: tuple[str, str, str]) -> _Member | None:
        now = self._monotonic()
        cached = self._answers.get(key)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        if self._console is not None:
            try:
                found = await self._console.lookup(key)
            except DirectoryUnavailable as exc:
                log.warning("staff directory: the console did not answer", reason=str(exc), kind=key[0])
            else:
                self._answers[key] = (now, found)
                return found
            if cached is not None:
                return cached[1]  # the last good answer, however old: better than nobody
        if self._file is not None:
            try:
                return self._file.lookup(key)
            except OSError as exc:
                log.error("staff directory: the directory file cannot be read", error=type(exc).__name__)
        return None

    async def aclose(self) -> None:
        if self._owned_http is not None:
            await self._owned_http.aclose()


def build(
    settings: Settings,
    *,
    http: httpx.AsyncClient | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CachedStaffDirectory:
    """The directory the settings name. `http`: a client to reach the console with (else one of its own, closed
    by `aclose()`); `monotonic`, `now`: clocks for the cache and for the file's rota (tests)."""
    owned = None
    console = None
    if settings.notify_directory_url:
        if http is None:
            http = owned = httpx.AsyncClient(follow_redirects=False)
        console = ConsoleDirectorySource(
            http, settings.notify_directory_url, settings.notify_directory_key, settings.notify_directory_timeout_s
        )
    file = None
    if settings.notify_directory_file:
        rota = Path(settings.notify_rota_file) if settings.notify_rota_file else None
        file = FileDirectorySource(Path(settings.notify_directory_file), rota, now)
    if console is None and file is None:
        log.warning(
            "staff directory: neither NOTIFY_DIRECTORY_URL nor NOTIFY_DIRECTORY_FILE; staff notices go to "
            "the console inbox by role"
        )
    return CachedStaffDirectory(
        console, file, cache_s=settings.notify_directory_cache_s, monotonic=monotonic, owned_http=owned
    )
