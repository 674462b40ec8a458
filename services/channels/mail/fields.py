"""What a complaint mail says about where and who, when the customer wrote it as labelled lines ("地址：…",
"Address: …", "户号：…", "电话：…"). Pure. A mail is free text: what is not labelled stays unknown and the case
handler completes it, as for a call with no address."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Placeholders when the mail names no place: intake requires an address and a district on every complaint.
UNKNOWN_ADDRESS = "未提供地址 (not given in the mail)"
UNKNOWN_DISTRICT = "未知"

_LABELS = {
    "address": r"地址|住址|详细地址|address",
    "district": r"区县|区域|所在区|district",
    "phone": r"电话|手机|联系电话|phone|mobile|tel",
    "account": r"户号|用户号|账号|account(?:\s*no\.?)?",
}
_LINE = re.compile(
    r"^\s*(?P<label>" + "|".join(f"(?P<{k}>{v})" for k, v in _LABELS.items()) + r")\s*[:：]\s*(?P<value>.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ACCOUNT = re.compile(r"^[A-Za-z0-9\-]{1,32}$")
_PHONE = re.compile(r"^\+?[\d\s\-]{7,20}$")


@dataclass(frozen=True)
class MailFields:
    address: str | None = None
    district: str | None = None
    phone: str | None = None
    account_no: str | None = None


def labelled_fields(text: str) -> MailFields:
    """The first value of each label found; values that cannot be what they claim (an account with spaces) dropped."""
    found: dict[str, str] = {}
    for match in _LINE.finditer(text):
        key = next(k for k in _LABELS if match.group(k))
        found.setdefault(key, match.group("value"))
    account = found.get("account")
    phone = found.get("phone")
    return MailFields(
        address=found.get("address", "")[:300] or None,
        district=found.get("district", "")[:64] or None,
        phone=re.sub(r"[\s\-]", "", phone) if phone and _PHONE.match(phone) else None,
        account_no=account if account and _ACCOUNT.match(account) else None,
    )
