"""Reference numbers a caller can read out: TS-YYYYMMDD-NNNNNN, unique and sortable.

Pure: the number is the day's sequence (taken by the repository in the statement that stores the submission; the
same form in SQL, `migrations/002`, `intake.reference_no`, which a service test checks) written in this form.
"""

from __future__ import annotations

from datetime import date

PREFIX = "TS"
DIGITS = 6


def format_reference(day: date, sequence: int) -> str:
    # Past a million complaints a day the number grows a digit; it still sorts within the day's width.
    return f"{PREFIX}-{day:%Y%m%d}-{sequence:0{DIGITS}d}"


def looks_like_reference(value: str) -> bool:
    parts = value.split("-")
    return len(parts) == 3 and parts[0] == PREFIX and parts[1].isdigit() and len(parts[1]) == 8 and parts[2].isdigit()
