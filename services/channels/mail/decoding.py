"""A raw RFC 5322 mail (bytes, as IMAP hands it over) to what a complaint needs: who sent it, the ids that tie it to
a thread, its text and its files. Pure: no I/O.

Why not `email.policy.default` alone: Chinese mail clients label GBK text `gb2312` (a subset: the extra characters
then fail to decode), some send unencoded 8-bit GBK in headers, and some declare no charset at all. Every
`gb2312`/`gbk`/`cp936` label is read as GB 18030 (a superset of both), and text with a wrong or missing label is
tried as UTF-8, then GB 18030, before falling back to replacement characters — a complaint is never dropped for
its encoding.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.policy import compat32

from services.channels.mail.html_text import html_to_text

#: Labels whose text is read as GB 18030 (the superset every Chinese client's output decodes with).
_GB_LABELS = frozenset({"gb2312", "gb_2312", "gb_2312-80", "euc-cn", "x-gbk", "gbk", "cp936", "ms936", "gb18030"})
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class MailAttachment:
    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class DecodedMail:
    """One mail, decoded. `message_id` is never empty: a mail without one gets `sha256:` of its bytes, so the same
    mail read twice still deduplicates."""

    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender_name: str | None
    sender_address: str | None
    sent_at: datetime | None
    text: str
    attachments: tuple[MailAttachment, ...]
    #: Files left out for their size (name, bytes): the note says so rather than dropping them silently.
    oversized: tuple[tuple[str, int], ...]


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of `data` in its declared charset, GB labels read as GB 18030, a wrong or missing label guessed."""
    label = (charset or "").strip().strip('"').lower().replace("unknown-8bit", "")
    tries = ["gb18030"] if label in _GB_LABELS else ([label] if label else [])
    tries += [c for c in ("utf-8", "gb18030") if c not in tries]
    for codec in tries:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def decode_header(value: str | email.header.Header | None) -> str:
    """An RFC 2047 header (`=?gb2312?B?...?=`), or raw 8-bit bytes a client put there, as text."""
    if value is None:
        return ""
    if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
        # Unencoded 8-bit bytes, kept as surrogates by the parser: back to bytes, then decoded like a body.
        return decode_bytes(value.encode("ascii", "surrogateescape"), None).strip()
    parts = []
    try:
        # A `Header` (what the parser makes of raw 8-bit bytes) decodes to (bytes, "unknown-8bit"): guessed below.
        chunks = email.header.decode_header(value)
    except email.errors.HeaderParseError:  # a broken encoded word (bad Base64): kept as written
        chunks = [(str(value), None)]
    for chunk, charset in chunks:
        parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def message_ids(value: str | None) -> tuple[str, ...]:
    """The `<…>` ids of an In-Reply-To or References header, in their order."""
    return tuple(_MESSAGE_ID.findall(str(value or "")))


def decode_mail(raw: bytes, *, max_attachment_bytes: int) -> DecodedMail:
    """Decode one raw mail; attachments over `max_attachment_bytes` are listed in `oversized`, not kept."""
    message = email.message_from_bytes(raw, policy=compat32)
    own_id = message_ids(message.get("Message-ID"))
    sender_name, sender_address = email.utils.parseaddr(decode_header(message.get("From")))
    plain, html, attachments, oversized = _walk(message, max_attachment_bytes)
    text = "\n\n".join(plain) if plain else "\n\n".join(html_to_text(h) for h in html)
    return DecodedMail(
        message_id=own_id[0] if own_id else f"sha256:{hashlib.sha256(raw).hexdigest()}",
        in_reply_to=message_ids(message.get("In-Reply-To")),
        references=message_ids(message.get("References")),
        subject=decode_header(message.get("Subject")),
        sender_name=sender_name or None,
        sender_address=sender_address.lower() if "@" in sender_address else None,
        sent_at=_date(message.get("Date")),
        text=text.strip(),
        attachments=tuple(attachments),
        oversized=tuple(oversized),
    )


def _walk(message: Message, limit: int) -> tuple[list[str], list[str], list[MailAttachment], list[tuple[str, int]]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[MailAttachment] = []
    oversized: list[tuple[str, int]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        file_name = decode_header(part.get_filename()) or None
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()  # or a `Header`
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not file_name:
            text = decode_bytes(data, part.get_content_charset())
            (plain if content_type == "text/plain" else html).append(text)
            continue
        name = file_name or f"attachment-{len(attachments) + len(oversized) + 1}{_extension(content_type)}"
        if len(data) > limit:
            oversized.append((name, len(data)))
        else:
            attachments.append(MailAttachment(file_name=name[:255], content_type=content_type, content=data))
    return plain, html, attachments, oversized


def _extension(content_type: str) -> str:
    return {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}.get(content_type, "")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else None
