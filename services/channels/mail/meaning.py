"""What a fetched mail means, as the command `handlers/mail.py` takes: decoded, its files, its Message-ID as the
provider's id, and both readings a use case may need — the reply (when its headers or subject point at a case) and
the complaint (always: a subject's reference to a case nobody knows makes it a new complaint after all). Automatic
mail (RFC 3834 `Auto-Submitted`, bounces, vacation replies) is kept with the reason and read no further. Pure.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from services.channels.handlers.mail import MailReply, TakeMail
from services.channels.mail.decoding import DecodedMail, decode_mail
from services.channels.mail.fields import UNKNOWN_ADDRESS, UNKNOWN_DISTRICT, labelled_fields
from services.channels.mail.replies import reply_target, without_quoted_original
from services.channels.model import ComplaintDraft, NewAttachment
from services.channels.repository.mail import MailboxPosition
from shared.contracts.channels import ChannelCustomer
from shared.contracts.complaint import Channel, Location, PreferredContact

_MAX_TEXT = 5000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMPTY = "(空邮件 / empty mail)"


def read_mail(
    position: MailboxPosition,
    raw: bytes,
    received_at: datetime | None,
    *,
    reply_domain: str,
    max_attachment_bytes: int,
) -> TakeMail:
    """The command for one raw mail; never raises for what a customer's client may send."""
    mail = decode_mail(raw, max_attachment_bytes=max_attachment_bytes)
    key = message_key(mail.message_id)
    automatic = automatic_reason(raw, mail)
    if automatic:
        return TakeMail(position=position, raw=raw, provider_message_id=key, received_at=received_at, detail=automatic)
    target = reply_target(mail, reply_domain)
    reply = None
    if target is not None:
        text = _clip(_with_oversized(without_quoted_original(mail.text), mail) or mail.subject or _EMPTY)
        reply = MailReply(reference_no=target.reference_no, certain=target.evidence != "subject", text=text)
    return TakeMail(
        position=position,
        raw=raw,
        provider_message_id=key,
        received_at=received_at,
        complaint=complaint_draft(mail),
        reply=reply,
        attachments=tuple(NewAttachment(a.file_name, a.content_type, a.content) for a in mail.attachments),
    )


def unreadable(position: MailboxPosition, raw: bytes, received_at: datetime | None, reason: str) -> TakeMail:
    """A mail whose reading failed: kept under the hash of its bytes, with the reason."""
    key = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    return TakeMail(position=position, raw=raw, provider_message_id=key, received_at=received_at, detail=reason[:500])


def message_key(message_id: str) -> str:
    """The mail's Message-ID as the dedupe key (its hash when too long for one)."""
    return message_id if len(message_id) <= 255 else f"sha256:{hashlib.sha256(message_id.encode()).hexdigest()}"


def complaint_draft(mail: DecodedMail) -> ComplaintDraft:
    """The subject and body as the text; labelled lines for place and person, else placeholders; mail as contact."""
    fields = labelled_fields(mail.text)
    body = _with_oversized(mail.text, mail)
    text = "\n\n".join(part for part in (mail.subject, body) if part) or _EMPTY
    address = mail.sender_address if mail.sender_address and len(mail.sender_address) <= 254 else None
    customer = ChannelCustomer(
        name=_printable(mail.sender_name or "")[:64] or None,
        phone=fields.phone[:32] if fields.phone else None,
        email=address,
        account_no=fields.account_no,
        preferred_contact=PreferredContact.EMAIL if address else PreferredContact.PHONE,
    )
    location = Location(
        address=_printable(fields.address or "")[:300] or UNKNOWN_ADDRESS,
        district=_printable(fields.district or "")[:64] or UNKNOWN_DISTRICT,
    )
    return ComplaintDraft(channel=Channel.EMAIL, customer=customer, location=location, text=_clip(text))


def automatic_reason(raw: bytes, mail: DecodedMail) -> str | None:
    """Why this mail was sent by a machine (RFC 3834 Auto-Submitted, a bounce, a vacation reply), else None."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    if re.search(rb"^auto-submitted:[ \t]*(?!no\b)\S", head, re.MULTILINE):
        return "automatic mail (Auto-Submitted)"
    if re.search(rb"^content-type:[ \t]*multipart/report", head, re.MULTILINE) or (
        mail.sender_address or ""
    ).startswith(("mailer-daemon@", "postmaster@")):
        return "delivery report (bounce)"
    if re.search(rb"^(x-autoreply|x-autorespond):", head, re.MULTILINE) or re.search(
        rb"^precedence:[ \t]*(auto_reply|bulk|junk)", head, re.MULTILINE
    ):
        return "automatic reply"
    return None


def _with_oversized(text: str, mail: DecodedMail) -> str:
    if not mail.oversized:
        return text
    listed = ", ".join(f"{name} ({size} bytes)" for name, size in mail.oversized)
    return f"{text}\n\n[附件过大未保存 / attachments over the size limit, not kept: {listed}]".strip()


def _printable(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


def _clip(text: str) -> str:
    text = text.replace("\x00", "")
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
