"""Masking of personal data (phone numbers, names) before it reaches logs or widely-read topics."""

from __future__ import annotations

import re

# Mainland mobiles (optionally +86 / 0086), landlines with area code, and any other long digit run
# that looks like a phone number. Deliberately greedy: a masked order number is harmless, a leaked
# phone number is not.
_PHONE_PATTERN = re.compile(
    # Mobiles are distinctive enough to mask wherever they stand (even glued to Chinese text).
    r"(?<!\d)(?:(?:\+|00)86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"
    # Landlines and bare 7-8 digit local numbers only as standalone tokens, so dates inside
    # reference numbers (TS-20261123-000042) and ids stay readable.
    r"|(?<![0-9A-Za-z-])(?:(?:\+|00)86[\s-]?)?(?:0\d{2,3}[\s-]?)?\d{7,8}(?![0-9A-Za-z])"
)


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 2 digits, the way agents read back a number: 138******78."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) > 11 and digits.startswith(("0086", "86")):
        digits = digits.removeprefix("00").removeprefix("86")
    if len(digits) <= 5:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"


def mask_name(name: str) -> str:
    """Keep the first character only (张**, J***), enough for an agent to greet, not to identify."""
    name = name.strip()
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def mask_phones_in_text(text: str) -> str:
    """Replace every phone-number-like run in free text with its masked form (ids such as UUIDs,
    whose digit groups can look like numbers, are left alone)."""
    parts = _UUID.split(text)
    if len(parts) == 1:
        return _PHONE_PATTERN.sub(lambda m: mask_phone(m.group(0)), text)
    ids = _UUID.findall(text)
    masked = [_PHONE_PATTERN.sub(lambda m: mask_phone(m.group(0)), part) for part in parts]
    return "".join(p + (ids[i] if i < len(ids) else "") for i, p in enumerate(masked))
