"""Open311's part of the channels repository: the service requests civic apps filed (`open311_requests`,
migration 007) read beside their case in the read model (`cases`).

What a GET may show is stored here already made public: the description with phone numbers and mail addresses
masked, the district instead of the street address, coordinates rounded to about 100 m. The raw form (names,
phone, email) stays only in `inbound_messages`, restricted. Why only requests filed over Open311 are listed, not
every case: a reference number of a phone or WeChat complaint read out by anyone would show that household's case;
the customer's own page asks for the phone's last four digits (`status/`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import asyncpg

#: GeoReport's two states; ours map onto them (`CLOSED_STATUSES`).
Open311Status = Literal["open", "closed"]
#: The case read model's statuses that are `closed` to a civic app: resolved, closed, or found invalid.
CLOSED_STATUSES = ("resolved", "closed", "invalid")


@dataclass(frozen=True)
class Open311Request:
    """A filed service request, as stored: the token is the stored message's id."""

    message_id: uuid.UUID
    client: str
    service_code: str
    requested_at: datetime
    description: str
    address: str | None
    latitude: float | None
    longitude: float | None
    media_url: str | None
    complaint_id: uuid.UUID | None


@dataclass(frozen=True)
class ServiceRequestView:
    """A filed request with what the case read model knows of it (nothing yet before intake accepted it)."""

    request: Open311Request
    reference_no: str | None
    case_status: str | None
    status_notes: str | None
    department: str | None
    updated_at: datetime | None
    eta: datetime | None

    @property
    def status(self) -> Open311Status:
        return "closed" if self.case_status in CLOSED_STATUSES else "open"


@dataclass(frozen=True)
class RequestQuery:
    """GET requests' filters (already checked): ids override the rest; a requested_at range; at most `limit`."""

    reference_nos: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[Open311Status, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 1000


class Open311Store(Protocol):
    async def add_open311_request(self, request: Open311Request) -> None:
        """Record a filed request; a retried POST (same message) changes nothing."""
        ...

    async def open311_request(self, message_id: uuid.UUID) -> ServiceRequestView | None:
        """A filed request by its token (the stored message's id)."""
        ...

    async def open311_requests(self, query: RequestQuery) -> list[ServiceRequestView]:
        """Filed requests whose case has a reference number, newest first."""
        ...


_SELECT = """
SELECT r.message_id, r.client, r.service_code, r.requested_at, r.description, r.address, r.latitude, r.longitude,
       r.media_url, r.complaint_id,
       c.reference_no, c.status AS case_status, c.status_notes, c.department, c.updated_at, c.eta
FROM channels.open311_requests r
LEFT JOIN channels.cases c ON c.complaint_id = r.complaint_id
"""


def _view(row: asyncpg.Record) -> ServiceRequestView:
    request = Open311Request(
        message_id=row["message_id"],
        client=row["client"],
        service_code=row["service_code"],
        requested_at=row["requested_at"],
        description=row["description"],
        address=row["address"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        media_url=row["media_url"],
        complaint_id=row["complaint_id"],
    )
    return ServiceRequestView(
        request=request,
        reference_no=row["reference_no"],
        case_status=row["case_status"],
        status_notes=row["status_notes"],
        department=row["department"],
        updated_at=row["updated_at"],
        eta=row["eta"],
    )


def _where(query: RequestQuery) -> tuple[str, list[object]]:
    conditions: list[str] = ["c.reference_no IS NOT NULL"]
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.reference_nos:
        conditions.append(f"c.reference_no = ANY({arg(list(query.reference_nos))}::text[])")
        return " AND ".join(conditions), args
    if query.service_codes:
        conditions.append(f"r.service_code = ANY({arg(list(query.service_codes))}::text[])")
    if len(set(query.statuses)) == 1:
        closed = f"c.status = ANY({arg(list(CLOSED_STATUSES))}::text[])"
        conditions.append(closed if query.statuses[0] == "closed" else f"NOT {closed}")
    if query.start is not None:
        conditions.append(f"r.requested_at >= {arg(query.start)}")
    if query.end is not None:
        conditions.append(f"r.requested_at <= {arg(query.end)}")
    return " AND ".join(conditions), args


class PostgresOpen311Store:
    """Mixed into the channels repository (`repository/postgres.py`): `self.conn` is the open transaction's."""

    conn: asyncpg.Connection

    async def add_open311_request(self, request: Open311Request) -> None:
        await self.conn.execute(
            """
            INSERT INTO channels.open311_requests (message_id, client, service_code, requested_at, description,
                address, latitude, longitude, media_url, complaint_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (message_id) DO NOTHING
            """,
            request.message_id,
            request.client,
            request.service_code,
            request.requested_at,
            request.description,
            request.address,
            request.latitude,
            request.longitude,
            request.media_url,
            request.complaint_id,
        )

    async def open311_request(self, message_id: uuid.UUID) -> ServiceRequestView | None:
        row = await self.conn.fetchrow(_SELECT + " WHERE r.message_id = $1", message_id)
        return _view(row) if row is not None else None

    async def open311_requests(self, query: RequestQuery) -> list[ServiceRequestView]:
        where, args = _where(query)
        rows = await self.conn.fetch(
            f"{_SELECT} WHERE {where} ORDER BY r.requested_at DESC, r.message_id LIMIT {int(query.limit)}", *args
        )
        return [_view(row) for row in rows]


def _matches(view: ServiceRequestView, query: RequestQuery) -> bool:
    """`RequestQuery` in memory, as the SQL above reads it (for the fake)."""
    if view.reference_no is None:
        return False
    if query.reference_nos:
        return view.reference_no in query.reference_nos
    at = view.request.requested_at
    return (
        (not query.service_codes or view.request.service_code in query.service_codes)
        and (not query.statuses or view.status in query.statuses)
        and (query.start is None or at >= query.start)
        and (query.end is None or at <= query.end)
    )


def select_in_memory(views: Sequence[ServiceRequestView], query: RequestQuery) -> list[ServiceRequestView]:
    chosen = sorted((v for v in views if _matches(v, query)), key=lambda v: v.request.requested_at, reverse=True)
    return chosen[: query.limit]
