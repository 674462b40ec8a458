"""HTTP request and response models of intake (`XCreate` in, `XRead` out)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.contracts import Category, Channel, Location, PreferredContact
from shared.contracts.complaint import ACCOUNT_NO_MAX_LENGTH, ACCOUNT_NO_PATTERN

MAX_TEXT_CHARS = 4000
MAX_HANDLED_ON_CONTACT_CHARS = 2000
#: Channels where a staff member takes the complaint: only they say who took it and what was settled at once.
AGENT_CHANNELS = frozenset({Channel.PHONE, Channel.COUNTER})
#: What an agent adds to a submission; old clients send none of it.
AGENT_FIELDS = ("agent_id", "handled_on_contact", "customer_agitated")
#: Clocks of channel systems drift; a received-at further ahead than this is a bug, not drift.
MAX_CLOCK_SKEW = timedelta(minutes=5)

_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")
_SERVICE_NUMBER = re.compile(r"^(?:95\d{3}|400\d{7})$")


def normalise_phone(value: str) -> str:
    """Chinese mobile (13800138000), landline with area code (010-88812345) or +86 forms.

    Returned without separators or country code, so the same number always compares equal.
    """
    digits = _PHONE_SEPARATORS.sub("", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isdigit():
        raise ValueError("phone must contain digits only (spaces, '-', '+86' allowed)")
    if _MOBILE.match(digits) or _LANDLINE.match(digits) or _SERVICE_NUMBER.match(digits):
        return digits
    raise ValueError("not a valid phone number: expected a mobile (11 digits, 1[3-9]…) or 0-area-code landline")


def _no_control_characters(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("contains control characters")
    return value


def _printable_id(value: str) -> str:
    if not value.isprintable():
        raise ValueError("printable characters only")
    return value


Phone = Annotated[str, AfterValidator(normalise_phone)]
CleanText = Annotated[str, AfterValidator(_no_control_characters)]
StaffId = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable_id)]


class Strict(BaseModel):
    """Unknown fields are errors: a caller cannot slip in status, priority or severity."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerCreate(Strict):
    account_no: str | None = Field(
        default=None, min_length=1, max_length=ACCOUNT_NO_MAX_LENGTH, pattern=ACCOUNT_NO_PATTERN
    )
    name: CleanText | None = Field(default=None, min_length=1, max_length=64)
    phone: Phone | None = None
    email: EmailStr | None = None
    wechat_openid: CleanText | None = Field(default=None, min_length=1, max_length=64)
    preferred_contact: PreferredContact = PreferredContact.PHONE

    @model_validator(mode="after")
    def _reachable(self) -> CustomerCreate:
        """Every customer is called back: the preferred way to reach them must be given."""
        needed = {
            PreferredContact.PHONE: ("phone", self.phone),
            PreferredContact.SMS: ("phone", self.phone),
            PreferredContact.EMAIL: ("email", self.email),
            PreferredContact.WECHAT: ("wechat_openid", self.wechat_openid),
        }[self.preferred_contact]
        if needed[1] is None:
            raise ValueError(
                f"missing contact: preferred_contact is {self.preferred_contact.value!r} but {needed[0]} is empty"
            )
        return self


class ComplaintCreate(Strict):
    channel: Channel
    channel_ticket_id: CleanText | None = Field(default=None, min_length=1, max_length=64)
    received_at: AwareDatetime
    customer: CustomerCreate
    location: Location
    text: CleanText = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    category_hint: Category | None = None
    agent_id: StaffId | None = Field(
        default=None,
        description="Phone and counter only: staff id of the agent who took it; the case's owner until it is closed. "
        "A signed-in agent's token names them: left out, it is filled in; another staff id is a 422.",
        examples=["agent-0042"],
    )
    handled_on_contact: CleanText | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_HANDLED_ON_CONTACT_CHARS,
        description="Phone and counter only, by an agent (agent_id, or a signed-in agent): what the agent explained "
        "or did on the spot. "
        "The complaint is then resolved at first contact (no work order; the customer is still called back).",
    )
    customer_agitated: bool = Field(
        default=False,
        description="Phone and counter only, by an agent: the customer is agitated; the duty manager is called.",
    )

    @field_validator("agent_id", "handled_on_contact", "customer_agitated")
    @classmethod
    def _agent_channels_only(cls, value: object, info: ValidationInfo) -> object:
        """Only an agent (phone, counter) can say who took a complaint and what was settled on the spot; a
        web form or partner ticket claiming it would fake first-contact figures."""
        channel = info.data.get("channel")
        given = value is not None and value is not False
        if given and channel is not None and channel not in AGENT_CHANNELS:
            agents = ", ".join(sorted(c.value for c in AGENT_CHANNELS))
            raise ValueError(f"only on agent channels ({agents}), not on channel {channel.value!r}")
        return value

    def unsigned_first_contact(self) -> list[str]:
        """First-contact fields given without `agent_id`. A channel key must name the agent with them; for a
        signed-in agent the token does (so this is checked once the caller is known: `auth`)."""
        if self.agent_id is not None:
            return []
        return [name for name in AGENT_FIELDS[1:] if getattr(self, name) not in (None, False)]

    @field_validator("received_at")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + MAX_CLOCK_SKEW:
            raise ValueError("is in the future")
        return value


class ComplaintAccepted(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str = Field(examples=["TS-20261123-000042"])
    status: str = "received"
    accepted_at: datetime
    replayed: bool = Field(description="True when this answers a retry of an earlier submission.")


class ComplaintRead(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str
    channel: Channel
    channel_ticket_id: str | None
    received_at: datetime
    accepted_at: datetime
    submission: dict[str, Any] = Field(description="The submission as accepted (normalised).")


class SubjectRequest(Strict):
    """A PIPL request's subject (exactly one of `phone` and `account_no`) and why it is made (logged)."""

    phone: Phone | None = None
    account_no: str | None = Field(default=None, max_length=ACCOUNT_NO_MAX_LENGTH, pattern=ACCOUNT_NO_PATTERN)
    reason: CleanText = Field(min_length=3, max_length=500, description="Why: logged with who asked.")


class ContactCorrection(Strict):
    """The contact fields to correct; those left out stay as they are."""

    name: CleanText | None = Field(default=None, min_length=1, max_length=64)
    phone: Phone | None = None
    email: EmailStr | None = None
    wechat_openid: CleanText | None = Field(default=None, min_length=1, max_length=64)


class CorrectionCreate(SubjectRequest):
    correct: ContactCorrection


class CustomerMessageRead(BaseModel):
    message_id: uuid.UUID
    channel: Channel
    kind: str
    score: int | None
    text: str
    received_at: datetime


class SubjectCaseRead(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str
    channel: Channel
    received_at: datetime
    accepted_at: datetime
    closed_at: datetime | None
    submission: dict[str, Any] = Field(description="What was submitted, the customer's contact in clear.")
    messages: list[CustomerMessageRead] = Field(
        default_factory=list, description="What the customer wrote on the case afterwards (replies), oldest first."
    )


class SubjectRead(BaseModel):
    """Everything intake holds about the subject's customer (household): every case, as submitted."""

    customer_id: uuid.UUID
    cases: list[SubjectCaseRead]


class ErasureRead(BaseModel):
    customer_id: uuid.UUID
    complaint_ids: list[uuid.UUID]
    erased_at: datetime
