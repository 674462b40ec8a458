"""Open311's use cases: file a service request (a civic app's POST), and read filed requests back.

Filing goes through `take_message` like every protocol: the raw form is stored once, deduplicated, and handed to
intake as `channel.complaint` (channel `app`, the service code as the category hint, the client system named).
A client that retries the same POST (same body, same client) gets the same token back and files nothing twice:
the provider's id is the client and a hash of the form. The token is the stored message's id; the service
request id is the reference number intake gives the complaint, known once `complaint.received` reached the read
model (`tokens/{token}`).

What a GET may show is stored beside it already made public (`repository/open311.py`): the description with
phone and ID numbers and mail addresses masked, the district for the address, coordinates rounded to about 100 m.
A `media_url` is kept as a link, never fetched (a URL given by a client is not ours to dereference).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from services.channels.handlers.context import ChannelsWork
from services.channels.handlers.inbound import take_message
from services.channels.model import ComplaintDraft, StoredMessage, TakeMessage
from services.channels.repository.open311 import Open311Request, RequestQuery, ServiceRequestView
from shared.contracts.channels import ChannelCustomer
from shared.contracts.complaint import Category, Channel, Coordinates, Location, PreferredContact
from shared.privacy import mask_text

PROVIDER = "open311"
FORM = "application/x-www-form-urlencoded"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


@dataclass(frozen=True)
class FileRequest:
    """A POST requests.{format}, checked against the service's definition (`open311/params.py`)."""

    client: str
    service_code: str
    description: str
    raw_body: bytes
    latitude: float | None = None
    longitude: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    account_no: str | None = None
    media_url: str | None = None
    #: The attributes as sentences for the complaint text ("室温：15°C").
    attribute_lines: tuple[str, ...] = ()
    correlation_id: str | None = None


@dataclass(frozen=True)
class Filed:
    token: uuid.UUID
    duplicate: bool


def public_description(text: str) -> str:
    """The description as anyone may read it: mail addresses (wholly), ID numbers and phone numbers masked."""
    return mask_text(_EMAIL.sub("***@***", text))


def _name(cmd: FileRequest) -> str | None:
    parts = [p.strip() for p in (cmd.first_name, cmd.last_name) if p and p.strip()]
    if not parts:
        return None
    if all(ord(ch) > 0x2E7F for ch in "".join(parts)):  # CJK: family name first, no space
        return "".join(reversed(parts))
    return " ".join(parts)[:64]


def _draft(cmd: FileRequest, district: str) -> ComplaintDraft:
    point = (cmd.latitude, cmd.longitude)
    coordinates = Coordinates(latitude=point[0], longitude=point[1]) if None not in point else None  # type: ignore[arg-type]
    address = cmd.address_string or cmd.address_id or f"{cmd.latitude:.6f},{cmd.longitude:.6f}"
    lines = [cmd.description, *cmd.attribute_lines]
    if cmd.media_url:
        lines.append(f"媒体/media: {cmd.media_url}")
    preferred = PreferredContact.SMS if cmd.phone or not cmd.email else PreferredContact.EMAIL
    return ComplaintDraft(
        channel=Channel.APP,
        customer=ChannelCustomer(
            name=_name(cmd),
            phone=cmd.phone,
            email=cmd.email,
            account_no=cmd.account_no,
            preferred_contact=preferred,
        ),
        location=Location(address=address[:300], district=district, coordinates=coordinates),
        text="\n".join(line for line in lines if line)[:5000],
        category_hint=Category(cmd.service_code),
        client=cmd.client,
    )


def _public(cmd: FileRequest, message: StoredMessage, district: str) -> Open311Request:
    def rounded(value: float | None) -> float | None:
        return round(value, 3) if value is not None else None

    return Open311Request(
        message_id=message.message_id,
        client=cmd.client,
        service_code=cmd.service_code,
        requested_at=message.received_at,
        description=public_description(cmd.description),
        address=district,
        latitude=rounded(cmd.latitude),
        longitude=rounded(cmd.longitude),
        media_url=cmd.media_url,
        complaint_id=message.complaint_id,
    )


async def file_request(cmd: FileRequest, work: ChannelsWork) -> Filed:
    """Store and hand on the request; the token (the same one for a retried POST)."""
    district = work.context.settings.channels_open311_district
    digest = hashlib.sha256(cmd.raw_body).hexdigest()
    message = await take_message(
        TakeMessage(
            provider=PROVIDER,
            provider_message_id=f"{cmd.client}:{digest}"[:255],
            channel=Channel.APP,
            raw_body=cmd.raw_body,
            content_type=FORM,
            received_at=work.now,
            complaint=_draft(cmd, district),
            correlation_id=cmd.correlation_id,
        ),
        work,
    )
    if not message.duplicate:
        await work.repo.add_open311_request(_public(cmd, message, district))
    return Filed(message.message_id, message.duplicate)


async def request_by_token(token: uuid.UUID, work: ChannelsWork) -> ServiceRequestView | None:
    return await work.repo.open311_request(token)


async def find_requests(query: RequestQuery, work: ChannelsWork) -> list[ServiceRequestView]:
    return await work.repo.open311_requests(query)
