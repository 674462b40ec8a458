"""Masking of personal data (phone numbers, ID numbers, mail addresses, names) before it reaches logs or widely-read
topics.

Free text on the shared topics (a complaint's text, notes, resolutions, what was settled on the call) is typed
`MaskedText` in the contracts: whatever a service writes into it, the event carries it masked, and so does an older
event read again. The clear text stays in the owning service's tables only.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

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


#: Resident identity card numbers: 18 characters (17 digits and a digit or X check character) or the old 15 digits,
#: standing alone. Masked before phone numbers, whose patterns would otherwise cut an ID number into pieces.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
#: Mail addresses (a QQ address is often the phone number itself: 13812345678@qq.com): masked first of all.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def mask_id_number(number: str) -> str:
    """Keep the first 3 and last 2 characters (110*************1X): enough to tell two apart on a call."""
    return f"{number[:3]}{'*' * (len(number) - 5)}{number[-2:]}"


def mask_email(address: str) -> str:
    """Keep the first character and the domain (z***@example.com): which provider, not whose mailbox."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


#: What every pattern above needs somewhere in the text: an "@" (a mail address) or three digits in a row (a mobile's
#: 1[3-9]x, a landline's 7-8 digits, an ID number's 15-18): a text with neither has nothing to mask.
_MAYBE_PERSONAL = re.compile(r"@|\d{3}")


def mask_text(text: str) -> str:
    """Every mail address, ID number and phone number in free text masked; ids and reference numbers left alone.

    Masking what is already masked changes nothing, so an event can be masked when written and again when read.
    """
    if not _MAYBE_PERSONAL.search(text):
        return text  # most log values and texts: one cheap scan instead of four patterns
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return mask_phones_in_text(text)


#: A free-text field of a shared topic's contract: masked whenever the model is built (written or read).
MaskedText = Annotated[str, AfterValidator(mask_text)]
