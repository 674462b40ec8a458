"""The one client every service opens sealed contact data with (`complaint.contact` v2, a customer's addresses in
`notification.requested` v4, the exact place in `complaint.received` v5): customers' keys, read from intake's key
table.

Intake owns the keys (`intake.subject_keys`, see `services/intake/README.md`); this is the only place outside intake
that reads that table, read-only. A key found is cached for `ttl` seconds (a busy consumer does not ask Postgres per
event); a key not found — the customer was erased, or never had contact fields — answers `None`, "gone", and is
cached too: a deleted key never comes back. An erasure reaching a service drops its cached key at once (`forget`),
so a cached key outlives its deletion by at most `ttl` in a service that has not yet taken the erasure event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import asyncpg

from shared.contracts.complaint import ComplaintContactPayload, Coordinates, Location, ReceivedLocation
from shared.contracts.followup import Recipient
from shared.shredding import open_sealed, seal

#: How long a found key is trusted without asking again.
DEFAULT_TTL_SECONDS = 60.0


#: Found keys kept at most; past it, the expired ones go first, then the oldest (a long-running consumer meets every
#: customer of the city in time, and each found key stays cached only `ttl` anyway).
MAX_CACHED = 100_000


class KeyRing(Protocol):
    """Customers' keys: a key, or None when it is gone (erased)."""

    async def key(self, customer_id: uuid.UUID) -> bytes | None: ...

    async def preload(self, customer_ids: Iterable[uuid.UUID]) -> None: ...

    def forget(self, customer_id: uuid.UUID) -> None: ...


def sealed_customers(events: Iterable[Any]) -> set[uuid.UUID]:
    """The customers whose keys a batch's events need where it is preloaded (dispatch, followup, reporting): those
    of the sealed contacts and places they carry. A recipient's sealed addresses are opened by notify alone."""
    found = set()
    for event in events:
        payload = getattr(event, "payload", None)
        for part in (payload, getattr(payload, "location", None)):
            sealed = getattr(part, "sealed", None)
            if sealed is not None:
                found.add(sealed.customer_id)
    return found


class SubjectKeys:
    """Keys from intake's key table, cached."""

    def __init__(
        self, pool: asyncpg.Pool, *, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._ttl = ttl
        self._clock = clock
        self._found: dict[uuid.UUID, tuple[bytes, float]] = {}
        self._gone: set[uuid.UUID] = set()

    async def key(self, customer_id: uuid.UUID) -> bytes | None:
        if customer_id in self._gone:
            return None
        cached = self._fresh(customer_id, self._clock())
        if cached is not None:
            return cached
        row = await self._pool.fetchval("SELECT key FROM intake.subject_keys WHERE customer_id = $1", customer_id)
        if row is None:
            self.forget(customer_id)
            return None
        self._remember(customer_id, bytes(row))
        return bytes(row)

    async def preload(self, customer_ids: Iterable[uuid.UUID]) -> None:
        """The keys of a batch's customers in one query, so the batch's events find them cached: a drain of new
        customers asked Postgres once per event in each service that opens them (dispatch, followup, reporting)."""
        now = self._clock()
        wanted = [c for c in set(customer_ids) if c not in self._gone and self._fresh(c, now) is None]
        if not wanted:
            return
        rows = await self._pool.fetch(
            "SELECT customer_id, key FROM intake.subject_keys WHERE customer_id = ANY($1::uuid[])", wanted
        )
        found = {row["customer_id"]: bytes(row["key"]) for row in rows}
        for customer_id in wanted:
            if customer_id in found:
                self._remember(customer_id, found[customer_id])
            else:
                self.forget(customer_id)

    def _fresh(self, customer_id: uuid.UUID, now: float) -> bytes | None:
        """The key cached for the customer, while its `ttl` lasts."""
        kept = self._found.get(customer_id)
        return kept[0] if kept is not None and kept[1] > now else None

    def _remember(self, customer_id: uuid.UUID, key: bytes) -> None:
        now = self._clock()
        if len(self._found) >= MAX_CACHED:
            self._found = {c: kept for c, kept in self._found.items() if kept[1] > now}
            if len(self._found) >= MAX_CACHED:  # all still fresh: the older half goes
                self._found = dict(list(self._found.items())[MAX_CACHED // 2 :])
        self._found[customer_id] = (key, now + self._ttl)

    def forget(self, customer_id: uuid.UUID) -> None:
        self._found.pop(customer_id, None)
        self._gone.add(customer_id)


async def opened_contact(payload: ComplaintContactPayload, keys: KeyRing) -> ComplaintContactPayload | None:
    """The contact with its fields in clear: v1 as it came, v2 opened with the customer's key; None when the
    customer's key is gone (erased: keep nothing of them)."""
    if payload.sealed is None:
        return payload
    key = await keys.key(payload.sealed.customer_id)
    if key is None:
        return None
    fields = open_sealed(key, payload.sealed)
    return payload.model_copy(
        update={
            "name": fields.get("name"),
            "phone": fields.get("phone"),
            "email": fields.get("email"),
            "wechat_openid": fields.get("wechat_openid"),
            "sealed": None,
        }
    )


class NoKeys:
    """A key ring that holds no key: every sealed contact is gone (tests and tools without intake's table; v1
    contacts, in clear, read as ever)."""

    async def key(self, customer_id: uuid.UUID) -> bytes | None:
        return None

    async def preload(self, customer_ids: Iterable[uuid.UUID]) -> None:
        return None

    def forget(self, customer_id: uuid.UUID) -> None:
        return None


NO_KEYS: KeyRing = NoKeys()


#: A customer's addresses a message is sent to: what `notification.requested` v4 seals.
ADDRESS_FIELDS = ("phone", "email", "wechat_openid")


async def sealed_recipient(recipient: Recipient, keys: KeyRing) -> Recipient | None:
    """A customer recipient with their addresses sealed with their key (None: the customer was erased, nobody to
    send to); staff, and customers of v1 contacts (no customer id), as they are."""
    if recipient.kind != "customer" or recipient.customer_id is None or recipient.sealed is not None:
        return recipient
    key = await keys.key(recipient.customer_id)
    if key is None:
        return None
    fields = {name: getattr(recipient, name) for name in ADDRESS_FIELDS}
    sealed = seal(key, recipient.customer_id, fields)
    return recipient.model_copy(update={**dict.fromkeys(ADDRESS_FIELDS), "sealed": sealed})


async def opened_recipient(recipient: Recipient, keys: KeyRing) -> Recipient | None:
    """The recipient with their addresses in clear; None when the customer's key is gone."""
    if recipient.sealed is None:
        return recipient
    key = await keys.key(recipient.sealed.customer_id)
    if key is None:
        return None
    fields = open_sealed(key, recipient.sealed)
    return recipient.model_copy(update={**{name: fields.get(name) for name in ADDRESS_FIELDS}, "sealed": None})


#: The exact place of a complaint: what `complaint.received` v5 seals (`location.sealed`).
PLACE_FIELDS = ("address", "latitude", "longitude")


def sealed_location(location: Location, customer_id: uuid.UUID | None, key: bytes | None) -> ReceivedLocation:
    """The location as `complaint.received` v5 carries it: district and asset in clear, the exact address and
    coordinates sealed with the customer's key. Without a customer key (intake always makes one) the exact place
    is left out, never sent in clear."""
    sealed = None
    if customer_id is not None and key is not None:
        point = location.coordinates
        fields = {
            "address": location.address,
            "latitude": None if point is None else repr(point.latitude),
            "longitude": None if point is None else repr(point.longitude),
        }
        sealed = seal(key, customer_id, fields)
    return ReceivedLocation(district=location.district, asset=location.asset, sealed=sealed)


async def opened_location(location: ReceivedLocation, keys: KeyRing) -> ReceivedLocation:
    """The location with its exact address and coordinates in clear: v1-v4 as they came, v5 opened with the
    customer's key; its key gone (erased), the location without them (district and asset only)."""
    if location.sealed is None:
        return location
    key = await keys.key(location.sealed.customer_id)
    if key is None:
        return location.model_copy(update={"address": None, "coordinates": None, "sealed": None})
    fields = open_sealed(key, location.sealed)
    lat, lon = fields.get("latitude"), fields.get("longitude")
    point = None if lat is None or lon is None else Coordinates(latitude=float(lat), longitude=float(lon))
    return location.model_copy(update={"address": fields.get("address"), "coordinates": point, "sealed": None})
