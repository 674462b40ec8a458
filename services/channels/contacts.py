"""Keyed hashes of contact data, so the case read model can find a case by phone, mail address or WeChat openid
without holding any of them: HMAC-SHA256 under `CHANNELS_CONTACT_HASH_KEY` of a normalised form (a phone's
digits without the +86 / 0086 prefix, a lower-cased address), and of a phone's last four digits for the status
page. A leaked table alone gives no number back; the key is a secret like any other."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_NOT_DIGIT = re.compile(r"\D")


def normalise_phone(phone: str) -> str:
    """Digits only, China's country code dropped: `+86 138-0013-8000`, `008613800138000` → `13800138000`."""
    digits = _NOT_DIGIT.sub("", phone)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


@dataclass(frozen=True)
class ContactHasher:
    key: bytes

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def phone(self, phone: str | None) -> str | None:
        digits = normalise_phone(phone) if phone else ""
        return self._hash("phone", digits) if digits else None

    def phone_last4(self, phone: str | None) -> str | None:
        """The last four digits' hash, kept per case: with the reference number, the status page's check."""
        digits = normalise_phone(phone) if phone else ""
        return self._hash("last4", digits[-4:]) if len(digits) >= 4 else None

    def last4(self, digits: str) -> str:
        """The hash a customer's four digits are compared with (`phone_last4` of the case)."""
        return self._hash("last4", digits)

    def email(self, email: str | None) -> str | None:
        cleaned = email.strip().lower() if email else ""
        return self._hash("email", cleaned) if cleaned else None

    def wechat_openid(self, openid: str | None) -> str | None:
        cleaned = openid.strip() if openid else ""
        return self._hash("openid", cleaned) if cleaned else None
