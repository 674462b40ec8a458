"""The SMS vendors' uplink (reply) callbacks, in the formats their documentation gives, and how they are
authenticated.

Tencent Cloud, 短信回复 (https://cloud.tencent.com/document/product/382/52077, API 382/59179): one JSON object per
reply, `{"extend", "mobile", "nationcode", "sign", "text", "time"}` (`time` in Unix seconds), POSTed to the URL
configured in the console; the receiver answers `{"result": 0, "errmsg": "OK"}` (anything else: Tencent pushes again).

Aliyun, SmsUp HTTP 批量推送 (https://help.aliyun.com/zh/sms/developer-reference/smsup-http): a JSON array, several
replies per request, each `{"phone_number", "content", "send_time" ("2017-09-01 00:00:00", Beijing time),
"dest_code", "sequence_id", "sign_name"?}`; the receiver answers HTTP 200 with `{"code": 0, "msg": ...}` (a non-200
answer or a timeout: Aliyun pushes again after 1, 5 and 10 minutes).

Neither vendor signs these pushes (nor the delivery reports notify receives the same way), so the only thing that
tells the vendor from anyone else is a secret the vendor alone knows: the callback URL configured in the console
carries `?token=<secret>` (`TENCENT_SMS_UPLINK_TOKEN`, `ALIYUN_SMS_UPLINK_TOKEN`), compared in constant time. A
vendor without a token configured has no uplink route at all (an unauthenticated one would let anyone reopen cases).

Dedupe (a vendor retries a push it thinks failed): Aliyun's `sequence_id` numbers each reply; Tencent's reply has no
id, so its id is a digest of what identifies it — the number, the second it was sent and the text; a retried push is
the same object, a second reply differs in its time or its text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import Forbidden, Invalid

TENCENT = "sms-tencent"
ALIYUN = "sms-aliyun"
PROVIDERS = (TENCENT, ALIYUN)
#: Both vendors write local times in Beijing time.
VENDOR_TZ = ZoneInfo("Asia/Shanghai")
#: A reply longer than this is cut (an SMS concatenates to a few hundred characters; the contract takes 5,000).
MAX_TEXT = 5000
_MAINLAND = re.compile(r"1\d{10}")
_SEPARATORS = re.compile(r"[\s\-()]")

#: What each vendor expects back when it has been heard (anything else, and it pushes again).
ACKNOWLEDGEMENT: Mapping[str, dict[str, Any]] = {
    TENCENT: {"result": 0, "errmsg": "OK"},
    ALIYUN: {"code": 0, "msg": "接收成功"},
}


class UplinkRefused(Forbidden):
    """The push does not carry the secret of the callback URL we configured at the vendor."""


@dataclass(frozen=True)
class Uplink:
    """One customer's reply as a vendor pushed it: who (E.164), what, when, and the vendor's id for dedupe."""

    provider: str
    provider_message_id: str
    phone: str
    text: str
    sent_at: datetime | None
    #: The item exactly as pushed, for the stored raw message.
    raw: dict[str, Any]


def check_token(given: str | None, expected: str) -> None:
    """The push is the vendor's only if it carries the secret of the callback URL configured at the vendor."""
    if not expected or not hmac.compare_digest((given or "").encode(), expected.encode()):
        raise UplinkRefused("missing or wrong token", field="token")


def to_e164(number: str) -> str | None:
    """`+8613800138000` from `13800138000`, `8613800138000`, `008613800138000`; other numbers with their country
    code; None when it is not a phone number."""
    digits = _SEPARATORS.sub("", number)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if _MAINLAND.fullmatch(digits):
        return "+86" + digits
    bare = digits.lstrip("+")
    if bare.startswith("86") and _MAINLAND.fullmatch(bare[2:]):
        return "+" + bare
    if re.fullmatch(r"\+?[1-9]\d{6,14}", digits):
        return "+" + bare
    return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise Invalid(f"body is not JSON: {error}") from error


def _text(item: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise Invalid(f"`{key}` is missing", field=key)
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or "\x00" in value:
        raise Invalid(f"`{key}` is not text", field=key)
    try:
        value.encode()
    except UnicodeEncodeError as error:
        raise Invalid(f"`{key}` is not text", field=key) from error
    return value


def _phone(text: str, key: str) -> str:
    number = to_e164(text)
    if number is None:
        raise Invalid(f"`{key}` is not a phone number", field=key)
    return number


def tencent_uplink(body: bytes) -> list[Uplink]:
    """Tencent's 短信回复 callback: one reply (an array of them is read too, should the vendor batch)."""
    parsed = _json(body)
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items or not all(isinstance(item, dict) for item in items):
        raise Invalid("body is not a JSON object (or an array of them)")
    replies = []
    for item in items:
        nation, mobile = _text(item, "nationcode", required=False) or "86", _text(item, "mobile")
        phone = _phone(mobile if nation == "86" or mobile.startswith("+") else f"+{nation}{mobile}", "mobile")
        text, stamp = _text(item, "text", required=False), item.get("time")
        if isinstance(stamp, str) and stamp.strip().isdigit():
            stamp = int(stamp)  # documented as a number; a quoted one reads the same
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            raise Invalid("`time` is not a Unix timestamp", field="time")
        try:  # NaN, Infinity (Python's JSON reads them) or far beyond any date: refused, not a 500
            sent_at = datetime.fromtimestamp(int(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            raise Invalid("`time` is not a Unix timestamp", field="time") from None
        digest = hashlib.sha256(f"{phone}|{int(stamp)}|{text}".encode()).hexdigest()[:40]
        replies.append(Uplink(TENCENT, f"reply:{digest}", phone, text[:MAX_TEXT], sent_at, dict(item)))
    return replies


def aliyun_uplink(body: bytes) -> list[Uplink]:
    """Aliyun's SmsUp HTTP push: a JSON array of replies."""
    items = _json(body)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise Invalid("body is not a JSON array of objects")
    replies = []
    for item in items:
        phone = _phone(_text(item, "phone_number"), "phone_number")
        sequence = _text(item, "sequence_id")
        sent_at = vendor_time(item.get("send_time"))
        text = _text(item, "content", required=False)
        replies.append(Uplink(ALIYUN, f"smsup:{sequence}", phone, text[:MAX_TEXT], sent_at, dict(item)))
    return replies


def vendor_time(text: object) -> datetime | None:
    """`2017-09-01 00:00:00` in Beijing time (or `20170901000000`, as older pages show it); None when unreadable."""
    if not isinstance(text, str):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=VENDOR_TZ)
        except ValueError:
            continue
    return None


#: Each provider's parser of its push body.
PARSERS = {TENCENT: tencent_uplink, ALIYUN: aliyun_uplink}
