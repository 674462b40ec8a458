"""Contracts of a received complaint: the public `complaint.received` and the restricted contact event."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from shared import topics
from shared.contracts.envelope import Contract, Event
from shared.privacy import MaskedText

#: What an account number may look like (intake accepts nothing else, so reporting looks up nothing else).
ACCOUNT_NO_PATTERN = r"^[A-Za-z0-9\-]+$"
ACCOUNT_NO_MAX_LENGTH = 32


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    COUNTER = "counter"
    EMAIL = "email"
    PARTNER_12345 = "partner_12345"
    PARTNER_95598 = "partner_95598"


class Category(StrEnum):
    HEATING_TEMPERATURE = "heating_temperature"
    EQUIPMENT_FAULT = "equipment_fault"
    OUTAGE = "outage"
    SAFETY_HAZARD = "safety_hazard"
    BILLING = "billing"
    SERVICE_ATTITUDE = "service_attitude"
    CONSULTATION = "consultation"
    OTHER = "other"


class PreferredContact(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"


class AssetType(StrEnum):
    BUILDING = "building"
    HEAT_EXCHANGE_STATION = "heat_exchange_station"
    FEEDER = "feeder"


class Coordinates(Contract):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Asset(Contract):
    type: AssetType
    id: str = Field(min_length=1, max_length=64)


#: A control character (below U+0020): one regex scan, run on every read of every address.
_CONTROL = re.compile(r"[\x00-\x1f]")


def _printable(value: str) -> str:
    """No control characters (NUL cannot even be stored) in names of places."""
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


Printable = Annotated[str, AfterValidator(_printable)]


class Location(Contract):
    address: Printable = Field(min_length=1, max_length=300)
    district: Printable = Field(min_length=1, max_length=64)
    coordinates: Coordinates | None = None
    asset: Asset | None = None


class SealedContact(Contract):
    """v2 of `complaint.contact`: the contact fields sealed with the customer's key (`shared/shredding.py`).
    Erasing the customer deletes the key, and this no longer opens, on the topic or in any copy of it."""

    customer_id: uuid.UUID = Field(description="Whose key seals it (intake's key table).")
    nonce: str = Field(description="AES-GCM nonce, base64.")
    ciphertext: str = Field(description="AES-256-GCM of the JSON {name, phone, email, wechat_openid}, base64.")


class ReceivedLocation(Contract):
    """Where a received complaint is (`complaint.received`). v5 seals the exact address and coordinates with the
    customer's key (`sealed`, crypto-shredding, issue 25): an erased customer's every copy no longer tells where
    they live. What places the case for hotspots and incidents stays in clear: the district and the asset."""

    address: Printable | None = Field(
        default=None, min_length=1, max_length=300, description="v1-v4: the exact address in clear. v5: null."
    )
    district: Printable = Field(min_length=1, max_length=64)
    coordinates: Coordinates | None = Field(default=None, description="v1-v4: exact, in clear. v5: null.")
    asset: Asset | None = None
    sealed: SealedContact | None = Field(
        default=None,
        description="v5: the JSON {address, latitude, longitude} sealed with the customer's key "
        "(`shared/shredding.py`); open it with the key ring (`shared/subject_keys.py`). Its key gone (erased): "
        "no address. Null in v1-v4, and when intake had no customer key.",
    )


class CustomerPublic(Contract):
    """What every subscriber may see of the customer: masked contact data only."""

    account_no: str | None
    name_masked: str | None
    phone_masked: str | None
    preferred_contact: PreferredContact


class Attachment(Contract):
    """A file a customer sent with a message (a photo in a mail, a WeChat image): kept by the channels service,
    which serves it to signed-in staff at `url`. No content travels on Kafka."""

    attachment_id: uuid.UUID
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=127)
    size_bytes: int = Field(ge=0)
    url: str = Field(max_length=500, description="Where signed-in staff fetch it (the channels service).")


#: How intake matched the complaint to a customer (v4): by account number, else phone, else normalised address;
#: "new" when nothing matched and a new customer was started.
CustomerMatch = Literal["account", "phone", "address", "new"]


class ComplaintReceivedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str = Field(description="Human reference read out to callers, e.g. TS-20261123-000042.")
    channel: Channel
    channel_ticket_id: str | None
    received_at: AwareDatetime = Field(description="When the channel received it.")
    accepted_at: AwareDatetime = Field(description="When intake accepted it.")
    customer: CustomerPublic
    location: ReceivedLocation
    text: MaskedText = Field(description="Complaint text, phone numbers in it masked.")
    category_hint: Category | None
    agent_id: str | None = Field(
        default=None,
        description="v2: staff id of the agent who took it (phone, counter); the case's owner until it is closed.",
    )
    handled_on_contact: MaskedText | None = Field(
        default=None,
        description="v2: what the agent explained or did on the call or at the counter: settled at first contact.",
    )
    customer_agitated: bool = Field(
        default=False, description="v2: the agent flagged an agitated customer: the duty manager is called."
    )
    agent_name: str | None = Field(
        default=None,
        description="v3: display name of the agent who took it, when a signed-in person submitted it "
        "(agent_id is then their staff id, from their token); null for channel systems.",
    )
    customer_id: uuid.UUID | None = Field(
        default=None,
        description="v4: the customer (household) intake matched: by account, else phone, else normalised address. "
        "Repeat detection, duplicate linking and the household archive key on it; null in v1-v3 events.",
    )
    matched_by: CustomerMatch | None = Field(default=None, description="v4: how customer_id was matched.")
    partner_deadline_at: AwareDatetime | None = Field(
        default=None,
        description="v4: the deadline a partner hotline (12345, 95598) set on its ticket; when stricter than the "
        "policy's, it is the case's deadline.",
    )
    demand: MaskedText | None = Field(
        default=None, max_length=2000, description="v4: the caller's demand (诉求) as the partner hotline wrote it."
    )
    attachments: tuple[Attachment, ...] = Field(default=(), description="v4: files the customer sent.")


class ComplaintReceived(Event):
    """A complaint was accepted on some channel. Public: contact data is masked.

    v2 adds who took it (`agent_id`), first-contact handling and the agitated flag; v3 the agent's display name
    (`agent_name`) when a signed-in person took it; v4 the matched customer (`customer_id`, `matched_by`), a
    partner's deadline and demand, and attachments; v5 seals the exact address and coordinates with the customer's
    key (`location.sealed`). Earlier events still read."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_RECEIVED
    event_type: Literal["complaint.received"] = "complaint.received"
    schema_version: Literal[1, 2, 3, 4, 5] = 5
    payload: ComplaintReceivedPayload


class ComplaintContactPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    name: str | None = Field(default=None, description="v1 only: in clear. v2: null, sealed in `sealed`.")
    phone: str | None = Field(default=None, description="v1 only: in clear. v2: null, sealed in `sealed`.")
    email: str | None = Field(default=None, description="v1 only: in clear. v2: null, sealed in `sealed`.")
    wechat_openid: str | None = Field(default=None, description="v1 only: in clear. v2: null, sealed in `sealed`.")
    preferred_contact: PreferredContact
    customer_id: uuid.UUID | None = Field(default=None, description="v2: the customer whose contact this is.")
    sealed: SealedContact | None = Field(
        default=None,
        description="v2: name, phone, email and WeChat openid sealed with the customer's key; null for a customer "
        "with no contact fields.",
    )


class ComplaintContact(Event):
    """The customer's real contact data, for callbacks. Restricted topic.

    v2 seals the contact fields with the customer's key (crypto-shredding: an erased customer's copies no longer
    open); v1 events, in clear, still read."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_CONTACT
    event_type: Literal["complaint.contact"] = "complaint.contact"
    schema_version: Literal[1, 2] = 2
    payload: ComplaintContactPayload


class SubjectErasedPayload(Contract):
    customer_id: uuid.UUID
    complaint_ids: tuple[uuid.UUID, ...] = Field(description="Every case of the customer: what holders purge.")
    erased_at: AwareDatetime
    reason: Literal["request", "retention"] = Field(
        description="A person's request (PIPL) or the end of the retention period."
    )


class SubjectErased(Event):
    """A customer was erased: their key is deleted, and every holder purges what it keeps of them in clear.
    No personal data (the complaint id of the envelope is the customer's first case, for the topic's key)."""

    TOPIC: ClassVar[str] = topics.PRIVACY_ERASURES
    event_type: Literal["privacy.subject_erased"] = "privacy.subject_erased"
    schema_version: Literal[1] = 1
    payload: SubjectErasedPayload
