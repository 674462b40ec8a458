"""The console's own domain: staff members, the on-duty rota, sign-in sessions, and the few pure rules of a
console — where a person lands after sign-in, which screens they see, which `next` paths are safe to return to.

Nothing here decides a complaint: what a person may do to a case is each service's rule, checked on the
person's own token; the console only chooses what to show.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from shared.errors import Invalid
from shared.http.person import STAFF_ROLES, Person

#: Departments that have a queue screen (dispatch's departments).
DEPARTMENTS = ("repair", "billing", "customer_service")
#: What the rota knows: who is the duty manager, a department's manager and who is on call, now.
DUTIES = ("duty_manager", "department_manager", "on_call")
_STAFF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_CREW = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: A staff phone as imported (spaces and hyphens dropped first): digits with an optional leading +, 7 to 20.
_PHONE = re.compile(r"^\+?[0-9]{7,20}$")


@dataclass(frozen=True)
class StaffMember:
    """One person of the utility's staff as our directory holds them; `contact` is where staff notices go."""

    staff_id: str
    display_name: str
    display_name_en: str | None = None
    roles: tuple[str, ...] = ()
    department: str | None = None
    crew: str | None = None
    contact: str | None = None
    active: bool = True
    #: Where an urgent staff notice's SMS goes (the duty manager's call); None: notices by e-mail and inbox only.
    phone: str | None = None

    def name_in(self, lang: str) -> str:
        """The name to show in `lang`: the English one when there is one and English was chosen."""
        return self.display_name_en if lang == "en" and self.display_name_en else self.display_name


@dataclass(frozen=True)
class RotaEntry:
    """One duty held by one person over a period (`ends_at` None: until further notice)."""

    duty: str
    staff_id: str
    department: str | None
    starts_at: datetime
    ends_at: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)


@dataclass(frozen=True)
class PendingSignIn:
    """An authorization request sent to the provider, kept until its answer comes back (once).

    Stored under a hash of `state` so a database reader cannot complete someone's sign-in.
    """

    state_hash: str
    nonce: str
    code_verifier: str
    next_path: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    """A signed-in person on the server side; the browser holds only the opaque id whose hash is the key.

    The tokens stay here: the console calls the services with `access_token` as the person, refreshes it with
    `refresh_token` before it runs out, and hands `id_token` to the provider when the person signs out.
    """

    session_hash: str
    person: Person
    access_token: str
    access_expires_at: datetime
    refresh_token: str | None
    refresh_expires_at: datetime | None
    id_token: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def needs_refresh(self, now: datetime, margin: timedelta) -> bool:
        """The access token runs out within `margin`: refresh it before a service refuses it mid-form."""
        return now + margin >= self.access_expires_at


def id_hash(opaque: str) -> str:
    """The key under which a browser-held id (session id, sign-in state) is stored."""
    return hashlib.sha256(opaque.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsoleFact:
    """Something the console did that is no event: counted by `metrics.py` once its transaction committed."""

    kind: str  # sign_in, sign_out, refresh
    outcome: str


def session_expiry(
    now: datetime, refresh_expires_at: datetime | None, access_expires_at: datetime, longest: timedelta
) -> datetime:
    """A session lasts as long as the provider lets it be refreshed, never longer than `longest` (a shift):
    without a refresh token it ends with the access token."""
    horizon = refresh_expires_at or access_expires_at
    return min(horizon, now + longest)


# -- where people go -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """A screen of the console and the roles that see it in their menu (and may open it)."""

    key: str
    roles: frozenset[str]
    path: str = ""

    def path_for(self, person: Person) -> str | None:
        """The screen's path for this person (a department queue is their department's), or None."""
        if "{department}" in self.path:
            return self.path.format(department=person.department) if person.department in DEPARTMENTS else None
        return self.path


_DEPARTMENT_STAFF = frozenset({"dispatcher", "department_manager"})
_ESCALATIONS = "/supervisor/escalations"
#: Every screen of the console, in menu order. Issue 24 adds the supervisor's, duty manager's and leadership's
#: screens here (and their routes under `screens/`); nothing else changes.
SCREENS: tuple[Screen, ...] = (
    Screen("agent_new", frozenset({"agent", "supervisor"}), "/agent/complaints/new"),
    Screen("agent_callbacks", frozenset({"agent", "supervisor"}), "/agent/callbacks"),
    Screen("department_queue", _DEPARTMENT_STAFF | {"supervisor"}, "/departments/{department}/queue"),
    Screen("crew_jobs", frozenset({"crew"}), "/crew/jobs"),
    Screen("case", frozenset({"agent", "supervisor", "duty_manager", "leadership"} | _DEPARTMENT_STAFF), ""),
    Screen("work_order", _DEPARTMENT_STAFF | {"crew", "supervisor"}, ""),
    #: The person's staff notices from notify (every staff role: a notice may be addressed to anyone).
    Screen("inbox", STAFF_ROLES, "/inbox"),
    Screen("dashboard", frozenset({"supervisor", "duty_manager", "department_manager", "leadership"}), "/dashboard"),
    #: The supervisor's desk (issue 24): escalations reach every rung of a ladder, each person sees theirs.
    Screen("supervisor_home", frozenset({"supervisor"}), "/supervisor"),
    Screen("escalations", frozenset({"supervisor", "department_manager", "duty_manager", "leadership"}), _ESCALATIONS),
    Screen("incidents", frozenset({"supervisor"}), "/supervisor/incidents"),
    Screen("corrective_actions", frozenset({"supervisor"}), "/supervisor/corrective-actions"),
    Screen("contact_access", frozenset({"supervisor"}), "/supervisor/contact-access"),
    #: The supervisors' triage queue and the category model retrained from their decisions (screens/triage.py).
    Screen("triage", frozenset({"supervisor"}), "/supervisor/triage"),
    Screen("triage_model", frozenset({"supervisor"}), "/supervisor/model"),
    #: Serious and emergency cases' analyses, approved by leadership or HR/administration; supervisors may look.
    Screen("leadership_serious", frozenset({"leadership", "hr_admin", "supervisor"}), "/leadership/serious"),
    #: The duty manager's live calls (screens/duty.py); supervisors may look, only the duty manager acts.
    Screen("duty", frozenset({"duty_manager", "supervisor"}), "/duty"),
    #: Multi-department cases the customer-service centre coordinates (seed 002): its supervisors steer them.
    Screen("coordination", frozenset({"supervisor"}), "/supervisor/coordination"),
)
SCREENS_BY_KEY = {screen.key: screen for screen in SCREENS}
#: Where each role lands after sign-in, the first role a person holds deciding.
HOME_ORDER: tuple[tuple[str, str], ...] = (
    ("supervisor", "supervisor_home"),
    ("crew", "crew_jobs"),
    ("dispatcher", "department_queue"),
    ("department_manager", "department_queue"),
    ("agent", "agent_new"),
    ("duty_manager", "duty"),
    ("leadership", "leadership_serious"),
    ("hr_admin", "leadership_serious"),
)


def may_open(person: Person, screen_key: str) -> bool:
    return person.has(*SCREENS_BY_KEY[screen_key].roles)


class MenuItem(NamedTuple):
    key: str
    path: str
    department: str | None = None


def menu(person: Person) -> list[MenuItem]:
    """Each screen the person may open, with its path: a department's queue is their department's; a person of no
    department who may open queues (a supervisor) gets every department's."""
    items = []
    for screen in SCREENS:
        if not screen.path or not may_open(person, screen.key):
            continue
        if "{department}" not in screen.path:
            items.append(MenuItem(screen.key, screen.path))
        elif person.department in DEPARTMENTS:
            items.append(MenuItem(screen.key, screen.path.format(department=person.department), person.department))
        elif person.department is None:
            items += [MenuItem(screen.key, screen.path.format(department=d), d) for d in DEPARTMENTS]
    return items


def home_path(person: Person) -> str:
    """The screen a person works in, by role; "/" (the overview of their screens) when none fits yet."""
    for role, key in HOME_ORDER:
        if person.has(role):
            path = SCREENS_BY_KEY[key].path_for(person)
            if path:
                return path
    return "/"


_UNSAFE_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(candidate: str | None, default: str = "/") -> str:
    """The path to return to after sign-in, only when it stays on the console: an absolute local path, never
    `//host`, a scheme, a backslash or a control character (an open redirect would hand the provider's
    sign-in to a phishing page)."""
    if not candidate or len(candidate) > 2000 or _UNSAFE_NEXT.search(candidate):
        return default
    if not candidate.startswith("/") or candidate.startswith("//"):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    return candidate


# -- the directory's rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """A bad row of an import: which one (1 = the first data row) and what is wrong with it."""

    row: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.problem}"


@dataclass
class DirectoryImport:
    """An import's staff and rota rows, and every problem found (an import with problems changes nothing)."""

    staff: list[StaffMember] = field(default_factory=list)
    rota: list[RotaEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: staff upserted, rota entries (None: the rota was left as it was)."""

    staff: int
    rota: int | None


class DirectoryRejected(Invalid):
    """An import with bad rows: nothing was changed; `problems` names each row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} bad row(s)")
        self.problems = problems


def staff_member(row: dict[str, object], roles_known: frozenset[str]) -> StaffMember:
    """A staff row (CSV: roles `;`-separated; JSON: a list) as a member, or ValueError naming the field."""
    staff_id = _text(row, "staff_id", required=True)
    if not _STAFF_ID.match(staff_id):
        raise ValueError(f"staff_id {staff_id!r}: letters, digits, '.', '_', '@', '-', at most 64")
    raw_roles = row.get("roles") or ()
    roles = [r.strip() for r in raw_roles.split(";")] if isinstance(raw_roles, str) else list(raw_roles)  # type: ignore[call-overload]
    roles = [r for r in roles if r]
    unknown = sorted(r for r in roles if r not in roles_known)
    if unknown:
        raise ValueError(f"roles: unknown {unknown} (known: {', '.join(sorted(roles_known))})")
    department = _text(row, "department") or None
    if department is not None and department not in DEPARTMENTS:
        raise ValueError(f"department {department!r}: one of {', '.join(DEPARTMENTS)}")
    crew = _text(row, "crew") or None
    if crew is not None and not _CREW.match(crew):
        raise ValueError(f"crew {crew!r}: lower-case letters, digits, '-', '_'")
    if "crew" in roles and crew is None:
        raise ValueError("crew: a crew member names their crew")
    return StaffMember(
        staff_id=staff_id,
        display_name=_text(row, "display_name", required=True),
        display_name_en=_text(row, "display_name_en") or None,
        roles=tuple(dict.fromkeys(roles)),
        department=department,
        crew=crew,
        contact=_text(row, "contact") or None,
        active=_flag(row.get("active", True)),
        phone=staff_phone(_text(row, "phone")),
    )


def staff_phone(value: str) -> str | None:
    """A staff phone, or None when empty; spaces and hyphens are dropped (`+86 138-0000-0011`), then it must be
    digits with an optional leading + (7 to 20), or ValueError naming the field (never the number: a bad row's
    problem is printed and logged)."""
    phone = re.sub(r"[ -]", "", value)
    if not phone:
        return None
    if not _PHONE.match(phone):
        raise ValueError("phone: digits with an optional leading +, 7 to 20 (e.g. +8613800000011)")
    return phone


def rota_entry(row: dict[str, object]) -> RotaEntry:
    """A rota row, or ValueError naming the field; times are ISO 8601 with their offset."""
    duty = _text(row, "duty", required=True)
    if duty not in DUTIES:
        raise ValueError(f"duty {duty!r}: one of {', '.join(DUTIES)}")
    department = _text(row, "department") or None
    if department is not None and department not in DEPARTMENTS:
        raise ValueError(f"department {department!r}: one of {', '.join(DEPARTMENTS)}")
    if duty == "department_manager" and department is None:
        raise ValueError("department: a department manager's duty names the department")
    starts_at = _time(row, "starts_at", required=True)
    ends_at = _time(row, "ends_at")
    assert starts_at is not None
    if ends_at is not None and ends_at <= starts_at:
        raise ValueError("ends_at: must be after starts_at")
    return RotaEntry(duty, _text(row, "staff_id", required=True), department, starts_at, ends_at)


def check_rota_staff(rota: Sequence[tuple[int, RotaEntry]], known_staff: set[str]) -> list[str]:
    """Rota rows naming nobody in the directory (nor in the same import)."""
    return [
        str(RowProblem(row, f"staff_id {entry.staff_id!r} is not in the staff directory"))
        for row, entry in rota
        if entry.staff_id not in known_staff
    ]


def _text(row: dict[str, object], name: str, *, required: bool = False) -> str:
    value = row.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"{name}: text expected, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{name}: required")
    if any(ord(ch) < 32 for ch in value):
        raise ValueError(f"{name}: control characters")
    if len(value) > 200:
        raise ValueError(f"{name}: at most 200 characters")
    return value


def _time(row: dict[str, object], name: str, *, required: bool = False) -> datetime | None:
    text = _text(row, name, required=required)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r}: ISO 8601 date and time, e.g. 2026-01-01T08:00:00+08:00") from None
    if value.tzinfo is None:
        raise ValueError(f"{name} {text!r}: give the offset, e.g. +08:00")
    return value


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    raise ValueError(f"active {value!r}: true or false")
