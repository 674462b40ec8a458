"""The console run in-process behind an httpx client, on a database of its own, and signed-in sessions for page
tests.

`session_for` writes a session row as a sign-in would (a person, a real token from `LocalIssuer`, a CSRF token):
page tests start from a signed-in person without signing in. The sign-in itself is tested only against the real
provider (tests/service/test_console_signin.py).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.console.bootstrap import create_app
from services.console.handlers import id_hash
from services.console.model import Session
from services.console.repository import PostgresConsoleRepository
from services.console.settings import ConsoleSettings
from shared.db import transactions
from shared.http.person import Person, PersonTokens
from tests.support.apps import running_app
from tests.support.databases import scratch_database, service_migrated
from tests.support.tokens import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]
#: The demo city's staff directory and duty rota, as an operator imports them.
DEMO_STAFF = ROOT / "deploy" / "demo-city" / "staff.csv"
DEMO_ROTA = ROOT / "deploy" / "demo-city" / "rota.csv"

#: The demo city's people as the tests use them: staff id → (name, roles, department, crew).
DEMO_PEOPLE: dict[str, tuple[str, tuple[str, ...], str | None, str | None]] = {
    "agent.li": ("李娜", ("agent",), None, None),
    "agent.wang": ("王强", ("agent",), None, None),
    "repair.zhao": ("赵磊", ("dispatcher",), "repair", None),
    "billing.sun": ("孙丽", ("dispatcher",), "billing", None),
    "crew1.chen": ("陈刚", ("crew",), "repair", "repair-crew-1"),
    "crew2.yang": ("杨帆", ("crew",), "repair", "repair-crew-2"),
    "supervisor.wu": ("吴静", ("supervisor",), None, None),
    "duty.zheng": ("郑伟", ("duty_manager",), None, None),
    "cs.ma": ("马琳", ("supervisor",), "customer_service", None),
    "leader.he": ("何建国", ("leadership",), None, None),
    "manager.qian": ("钱亮", ("department_manager",), "repair", None),
    "hr.lin": ("林芳", ("hr_admin",), None, None),
    "pm.feng": ("冯涛", ("project_manager",), None, None),
}


def console_database(server_url: str) -> AbstractAsyncContextManager[str]:
    """A new database on the session's server with the console's schema alone, dropped afterwards. The console
    reads and writes nothing outside its schema, and its own migrations take a tenth of a second where every
    service's (`tests.support.reporting.fresh_database`) take one to two."""
    return scratch_database(server_url, "console", service_migrated("console"))


@asynccontextmanager
async def running_console(
    database_url: str,
    *,
    persons: PersonTokens | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(
        create_app,
        ConsoleSettings,
        name="console",
        database_url=database_url,
        bootstrap="127.0.0.1:1",  # no broker: the live pages' feed is off unless a test turns it on with one
        create_kwargs={"persons": persons, "http": http, "clock": clock},
        **{"console_live_enabled": False, **overrides},
    ) as running:
        yield running


@dataclass(frozen=True)
class SignedIn:
    """A browser's session: the cookie to send, the form's CSRF token, the person and their access token."""

    session_id: str
    csrf_token: str
    person: Person
    access_token: str

    @property
    def cookies(self) -> dict[str, str]:
        return {"console_session": self.session_id}


async def session_for(
    app: FastAPI,
    issuer: LocalIssuer,
    staff_id: str,
    *,
    access_expires_in: timedelta = timedelta(minutes=30),
    expires_in: timedelta = timedelta(hours=1),
) -> SignedIn:
    """A live session of one of `DEMO_PEOPLE`, as a sign-in would have stored it."""
    name, roles, department, crew = DEMO_PEOPLE[staff_id]
    person = Person(staff_id, name, frozenset(roles), department, crew)
    return await session_of(app, issuer, person, access_expires_in=access_expires_in, expires_in=expires_in)


async def session_of(
    app: FastAPI,
    issuer: LocalIssuer,
    person: Person,
    *,
    access_expires_in: timedelta = timedelta(minutes=30),
    expires_in: timedelta = timedelta(hours=1),
) -> SignedIn:
    """A live session of `person`, as a sign-in would have stored it: for a person the demo city has not (no
    role at all, say), or one with other claims than theirs."""
    lifetime = max(int(access_expires_in.total_seconds()), 1)
    token = issuer.mint(
        person.staff_id,
        roles=tuple(sorted(person.roles)),
        name=person.name,
        department=person.department,
        crew=person.crew,
        expires_in=lifetime,
    )
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session = Session(
        session_hash=id_hash(session_id),
        person=person,
        access_token=token,
        access_expires_at=now + access_expires_in,
        refresh_token=None,
        refresh_expires_at=None,
        id_token="not-used-by-these-tests",
        csrf_token=secrets.token_urlsafe(16),
        created_at=now,
        expires_at=now + expires_in,
    )
    async with transactions(app.state.pool, PostgresConsoleRepository)() as work:
        await work.repo.add_session(session)
        work.commit()
    return SignedIn(session_id, session.csrf_token, person, token)


def import_directory(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m services.console.directory import <args>` against a database, as an operator runs it (its
    answer and output are the test's to read: a refused file exits non-zero)."""
    return subprocess.run(
        [sys.executable, "-m", "services.console.directory", "import", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "APP_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
