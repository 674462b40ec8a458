"""Is this mail a reply on one of our cases, and which? Pure.

notify writes every mail it sends with `Message-ID: <{notification_id}.{reference_no}@{domain}>`, and a mail client
answering it names that id in `In-Reply-To` (and `References`). So a reply is known by our domain and a UUID in an id
it answers — the surest sign — or, for a customer who wrote a new mail about their case, by a reference number in the
subject (`TS-20261205-000042`, as the receipt gave it; `回复: 关于 TS-…` works too).

The quoted original below a reply is cut off (`> ` lines, `-----原始邮件-----`, `On … wrote:`): the note on the
case is what the customer wrote, not our own message back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from services.channels.mail.decoding import DecodedMail

#: The reference numbers intake gives (intake/reference.py: TS-YYYYMMDD-NNNNNN, longer past a million a day).
REFERENCE = re.compile(r"(?<![A-Za-z0-9])TS-\d{8}-\d{6,}(?!\d)", re.IGNORECASE)
_OUR_ID = re.compile(
    r"^<(?P<notification>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"\.(?P<reference>[A-Za-z0-9_-]+)@(?P<domain>[^<>@\s]+)>$"
)
_QUOTE_STARTS = (
    re.compile(r"^-{2,}\s*(原始邮件|Original Message|原邮件)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^(在|On)\s.+(写道|wrote)\s*[:：]\s*$", re.IGNORECASE),
    re.compile(r"^(发件人|From)\s*[:：]\s*\S"),
)

ReplyEvidence = Literal["in_reply_to", "references", "subject"]


@dataclass(frozen=True)
class ReplyTarget:
    reference_no: str
    #: How it was found: a thread header naming our Message-ID is certain; a subject is the customer's word.
    evidence: ReplyEvidence


def reply_target(mail: DecodedMail, our_domain: str) -> ReplyTarget | None:
    """The case this mail answers, or None when it is a new complaint."""
    for evidence, ids in (("in_reply_to", mail.in_reply_to), ("references", tuple(reversed(mail.references)))):
        for message_id in ids:
            reference = reference_in_our_id(message_id, our_domain)
            if reference:
                return ReplyTarget(reference_no=reference, evidence=evidence)  # type: ignore[arg-type]
    found = REFERENCE.search(mail.subject)
    return ReplyTarget(reference_no=found.group(0).upper(), evidence="subject") if found else None


def reference_in_our_id(message_id: str, our_domain: str) -> str | None:
    """The reference number in one of notify's Message-IDs (our domain only), else None."""
    match = _OUR_ID.match(message_id.strip())
    if not match or not our_domain or match.group("domain").lower() != our_domain.lower():
        return None
    reference = match.group("reference")
    return reference.upper() if REFERENCE.fullmatch(reference) else None


def without_quoted_original(text: str) -> str:
    """What the customer wrote above the quoted original (all of it when nothing is quoted)."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or any(p.match(stripped) for p in _QUOTE_STARTS):
            break
        kept.append(line)
    answer = "\n".join(kept).strip()
    return answer or text.strip()
