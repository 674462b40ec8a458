"""Reads for the routes: the directory's (from our own tables) and what each screen shows (from the services'
APIs, as the signed-in person). Gathering and arranging only: every figure and every permission is the
service's; what the console adds is which calls a screen needs and how the answers sit side by side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import asyncpg

from services.console.backends import PersonCalls, ServiceRefused, ServiceUnavailable
from services.console.model import RotaEntry, StaffMember
from services.console.repository import PostgresConsoleRepository

T = TypeVar("T")


class DirectoryViews:
    """The staff directory, read on pooled connections (no transaction to hold)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def _repo(self) -> AsyncIterator[PostgresConsoleRepository]:
        async with self._pool.acquire() as conn:
            yield PostgresConsoleRepository(cast(asyncpg.Connection, conn))

    async def staff(self, *, department: str | None, role: str | None, include_inactive: bool) -> list[StaffMember]:
        async with self._repo() as repo:
            return await repo.staff(department=department, role=role, include_inactive=include_inactive)

    async def member(self, staff_id: str) -> StaffMember | None:
        async with self._repo() as repo:
            return await repo.staff_member(staff_id)

    async def on_duty(self, duty: str, department: str | None, at: datetime) -> list[tuple[RotaEntry, StaffMember]]:
        async with self._repo() as repo:
            return await repo.on_duty(duty, department, at)


# -- what the screens show -----------------------------------------------------------------------------------


@dataclass
class Part:
    """One service's part of a screen: its answer, or why the person cannot see it (shown in its place)."""

    data: Any = None
    refused: ServiceRefused | None = None
    unavailable: ServiceUnavailable | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None and self.unavailable is None


async def part(call: Awaitable[T]) -> Part:
    """A secondary read of a screen: a refusal or an outage of that service shows in its place, not as the page."""
    try:
        return Part(await call)
    except ServiceRefused as exc:
        return Part(refused=exc)
    except ServiceUnavailable as exc:
        return Part(unavailable=exc)


def _items(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, dict) and isinstance(answer.get("items"), list):
        items: list[dict[str, Any]] = answer["items"]
        return items
    return answer if isinstance(answer, list) else []


async def customer_lookup(
    calls: PersonCalls, *, phone: str | None, account_no: str | None, address: str | None, district: str | None
) -> dict[str, Any]:
    """A caller's household (reporting: history, open cases, contact masked) and what is wrong in the area now
    (dispatch: open incidents, active outage notices), read side by side."""
    households, incidents, outages = await asyncio.gather(
        part(calls.get("reporting", "/v1/households/lookup", phone=phone, account_no=account_no, address=address)),
        part(calls.get("dispatch", "/v1/incidents", status="open")),
        part(calls.get("dispatch", "/v1/outage-notices", active="true")),
    )
    cases = _items(households.data) if households.ok else []
    districts: set[Any] = {c.get("district") for c in cases if c.get("district")} | ({district} if district else set())
    return {
        "households": households,
        "found": households_found(cases, phone),
        "cases": cases,
        "open_cases": [c for c in cases if c.get("open")],
        "incidents": _in_area(_items(incidents.data), districts, address) if incidents.ok else [],
        "outages": _in_area(_items(outages.data), districts, address) if outages.ok else [],
        "incidents_part": incidents,
        "outages_part": outages,
    }


#: The new-complaint form's path: "use this customer" links back to it with the household's values.
NEW_COMPLAINT = "/agent/complaints/new"


def households_found(cases: list[dict[str, Any]], phone: str | None) -> list[dict[str, Any]]:
    """The households a lookup found, each once (its account; a case without one by its address), in the lookup's
    order (open cases first, then the newest), with what the complaint form can take from it: the account, the
    address and district of its latest case, and the phone the agent looked it up by (reporting masks every phone,
    and the name too, so neither can be prefilled from the records). `use` is a plain GET link to the form with
    those values — one action, no script (the CSP allows none inline)."""
    found: dict[str, dict[str, Any]] = {}
    for case in cases:
        key = case.get("account_no") or case.get("address")
        if not key or key in found:
            continue
        values = {
            "phone": phone,
            "account_no": case.get("account_no"),
            "address": case.get("address"),
            "district": case.get("district"),
        }
        query = urlencode({k: v for k, v in values.items() if v})
        found[key] = values | {
            "name_masked": case.get("name_masked"),
            "phone_masked": case.get("phone_masked"),
            "use": f"{NEW_COMPLAINT}?{query}#complaint-heading",
        }
    return list(found.values())


def _in_area(items: list[dict[str, Any]], districts: set[str], address: str | None) -> list[dict[str, Any]]:
    """What concerns the caller's area: their districts or compound (all of it when we know no area yet)."""
    if not districts and not address:
        return items

    def concerns(item: dict[str, Any]) -> bool:
        compound = item.get("compound")
        return item.get("district") in districts or bool(compound and address and compound in address)

    return [item for item in items if concerns(item)]


async def case_page(calls: PersonCalls, reference: str) -> dict[str, Any]:
    """One case: reporting's timeline (each step with its person's name) — the page itself, refused as a whole —
    with followup's SLA clocks and dispatch's case and work orders beside it."""
    case = await calls.get("reporting", f"/v1/cases/{reference}")
    complaint_id = case.get("complaint_id")
    sla, dispatch_case = await asyncio.gather(
        part(calls.optional("followup", f"/v1/complaints/{complaint_id}/sla")),
        part(calls.optional("dispatch", f"/v1/complaints/{complaint_id}")),
    )
    return {"case": case, "sla": sla, "dispatch_case": dispatch_case}


async def callbacks_page(calls: PersonCalls, staff_id: str) -> dict[str, Any]:
    """My callbacks first, then the team's that are due (without mine twice)."""
    mine, team = await asyncio.gather(
        calls.get("followup", "/v1/callbacks", owner=staff_id, page_size=100),
        calls.get("followup", "/v1/callbacks", page_size=100),
    )
    my_items = _items(mine)
    my_ids = {c.get("callback_id") for c in my_items}
    return {"mine": my_items, "team": [c for c in _items(team) if c.get("callback_id") not in my_ids]}


async def work_order_page(calls: PersonCalls, work_order_id: str) -> dict[str, Any]:
    """A work order with its text, place, customer, crew, appointment, findings, photos and history; the root-cause
    catalogue and the department's crews for the forms."""
    order = await calls.get("dispatch", f"/v1/work-orders/{work_order_id}")
    department = order.get("department")
    root_causes, crews = await asyncio.gather(
        part(calls.get("dispatch", "/v1/root-causes")),
        part(calls.get("dispatch", "/v1/crews", department=department)),
    )
    causes = [c for c in _items(root_causes.data) if c.get("department") == department] if root_causes.ok else []
    # A serious or emergency case's lead: where its proposal stands, and whether leadership must approve it first.
    serious = None
    if order.get("severity") in ("serious", "emergency") and (order.get("role") or "lead") == "lead":
        found = await part(calls.get("dispatch", f"/v1/work-orders/{work_order_id}/serious"))
        serious = found.data if found.ok and isinstance(found.data, dict) else None
    return {
        "order": order,
        "root_causes": causes,
        "crews": _items(crews.data) if crews.ok else [],
        "serious_case": serious,
    }
