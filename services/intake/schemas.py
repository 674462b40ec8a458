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
    field_validator,
    model_validator,
)

from shared.contracts import Category, Channel, Location, PreferredContact
from shared.contracts.complaint import ACCOUNT_NO_MAX_LENGTH, ACCOUNT_NO_PATTERN

MAX_TEXT_CHARS = 4000
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


Phone = Annotated[str, AfterValidator(normalise_phone)]
CleanText = Annotated[str, AfterValidator(_no_control_characters)]


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
