"""What the two SMS adapters (Aliyun, Tencent Cloud) share: phone numbers in E.164, a template looked up with its
`*` default, the secret token that authenticates a vendor's unsigned status push, and the vendors' local times.

Neither vendor signs its delivery-status push (Aliyun's SmsReport HTTP push, Tencent's 短信下发状态通知 callback:
both are a bare JSON array POSTed to the URL configured in the console), so the only thing that tells the vendor
from anyone else is a secret the vendor alone knows: the callback URL configured in the vendor's console carries
`?token=<secret>`, and `check_token` compares it in constant time.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from services.notify.providers.base import PermanentError, ReceiptRefused

#: Both vendors are in China and speak Beijing time in their reports and query dates, whatever the utility's zone.
VENDOR_TZ = ZoneInfo("Asia/Shanghai")

_MAINLAND = re.compile(r"1\d{10}")
_SEPARATORS = re.compile(r"[\s\-()]")

T = TypeVar("T")


def to_e164(address: str) -> str:
    """`+8613800138000` from `13800138000`, `8613800138000`, `008613800138000` or `+86 138-0013-8000`; other
    numbers must already carry their `+` country code. Anything else is refused before it reaches the vendor."""
    number = _SEPARATORS.sub("", address)
    if number.startswith("00"):
        number = "+" + number[2:]
    if _MAINLAND.fullmatch(number):
        return "+86" + number
    if number.startswith("86") and _MAINLAND.fullmatch(number[2:]):
        return "+" + number
    if re.fullmatch(r"\+[1-9]\d{6,14}", number):
        return number
    raise PermanentError("not a phone number", code="invalid_address")


def template_for(templates: Mapping[str, T], template_id: str) -> T:
    """The vendor's template for our template id, else the `*` default; a message without one cannot be sent."""
    found = templates.get(template_id, templates.get("*"))
    if found is None:
        raise PermanentError(f"no vendor template configured for {template_id!r}", code="template_not_configured")
    return found


def check_token(query: Mapping[str, str], expected: str) -> None:
    """The push is the vendor's only if it carries the secret of the callback URL we configured at the vendor."""
    given = query.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ReceiptRefused("missing or wrong token", status=401)


def json_array(body: bytes) -> list[dict[str, Any]]:
    """The vendors push a JSON array of objects (several reports per request)."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ReceiptRefused(f"body is not JSON: {error}", status=400) from error
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ReceiptRefused("body is not a JSON array of objects", status=422)
    return items


def vendor_text(item: Mapping[str, Any], key: str) -> str | None:
    """A text field of a report (an id, an error code): None when absent or empty; otherwise it must be text the
    database can hold (no NUL, no lone surrogate from a JSON escape), else the push is refused naming the field."""
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value or not _encodable(value):
        raise ReceiptRefused(f"`{key}` is not text", status=422)
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def vendor_time(text: object) -> datetime | None:
    """`2024-05-01 08:03:04` in Beijing time, as both vendors write it; None when absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=VENDOR_TZ)
    except ValueError:
        return None


def notification_id(text: object) -> uuid.UUID | None:
    """Our id echoed back by the vendor (Aliyun `out_id`), when it is one of ours."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
