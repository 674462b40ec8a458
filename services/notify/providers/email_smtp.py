"""Email over SMTP (`aiosmtplib`), and the bounces (delivery status notifications) that come back.

What a sent mail carries, and why:
- `Message-ID: <{notification_id}.{reference_no}@{NOTIFY_EMAIL_DOMAIN}>` (RFC 5322 §3.6.4): the case reference in
  it, because a customer's reply names it in `In-Reply-To`/`References`, so a reply can be tied to its case later
  without reading the subject; the notification id makes it unique and names the delivery.
- the envelope sender (`MAIL FROM`, which the receiving server records as `Return-Path`) is
  `bounces+{notification_id}@{domain}` — VERP: a bounce is sent to the envelope sender (RFC 5321 §4.5.5), so the
  address it arrives at names the message even when the bounce quotes nothing of it.
- `multipart/alternative`: the rendered text as `text/plain` and the same text as minimal HTML; the subject names
  the reference in the message's language. `Auto-Submitted: auto-generated` (RFC 3834) keeps auto-responders quiet.

Accepted by the server (250 after DATA) is `Sent`, not delivered: the server may still bounce it later. Errors: a 5xx
reply (a refused mailbox at RCPT, a refused sender, refused content) is permanent with the SMTP code; 4xx replies,
refused connections, disconnects and timeouts are transient (RFC 5321 §4.2.1: 4yz is "transient negative").

Bounces: `POST /v1/receipts/smtp?token=` with the raw bounce as the body, as an MTA hands a mail to a pipe or a
webhook (e.g. Postfix's `pipe` transport for the `bounces+*` addresses, or a mail provider's inbound webhook); the
token is `NOTIFY_BOUNCE_TOKEN`. A bounce is a DSN, RFC 3464: `multipart/report; report-type=delivery-status` whose
`message/delivery-status` part has one block per recipient with `Action` (`failed`, `delayed`, `delivered`,
`relayed`, `expanded`) and `Status` (an RFC 3463 code such as `5.1.1`), and usually the original's headers.
"""

from __future__ import annotations

import email
import email.policy
import hmac
import html
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import collapse_rfc2231_value, formatdate, parsedate_to_datetime
from typing import ClassVar, cast

import aiosmtplib
from pydantic import Field

from services.notify.providers.base import (
    Outgoing,
    PermanentError,
    Receipt,
    ReceiptAnswer,
    ReceiptRefused,
    Sent,
    TransientError,
)
from services.notify.providers.dev_secrets import ProviderSettings
from shared.logging import get_logger

log = get_logger(__name__)

NAME = "smtp"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_VERP = re.compile(rf"bounces\+({_UUID})@([^\s>]+)", re.IGNORECASE)
_MESSAGE_ID = re.compile(rf"<({_UUID})(?:\.[^@>]*)?@([^>]+)>")
#: Where a bounce names the address it was sent to: the header fields MTAs add on final delivery, and `To`.
_ADDRESSED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


class Settings(ProviderSettings):
    """SMTP_* and NOTIFY_EMAIL_* / NOTIFY_BOUNCE_TOKEN variables."""

    secrets: ClassVar[dict[str, str]] = {"SMTP_PASSWORD": "smtp_password", "NOTIFY_BOUNCE_TOKEN": "notify_bounce_token"}

    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    #: `starttls`: upgrade after connecting (port 587, required); `tls`: TLS from the start (465); `none`: plain.
    smtp_security: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    notify_email_from: str = ""
    #: The domain of our Message-IDs and of the VERP bounce address.
    notify_email_domain: str = ""
    notify_bounce_token: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host and self.notify_email_from and self.notify_email_domain)


def message_id(notification_id: uuid.UUID, reference_no: str | None, domain: str) -> str:
    """`<{notification_id}.{reference_no}@{domain}>`; the reference kept to characters a Message-ID allows."""
    reference = re.sub(r"[^A-Za-z0-9-]", "_", reference_no) if reference_no else ""
    local = f"{notification_id}.{reference}" if reference else str(notification_id)
    return f"<{local}@{domain}>"


def bounce_address(notification_id: uuid.UUID, domain: str) -> str:
    return f"bounces+{notification_id}@{domain}"


def subject(reference_no: str | None, locale: str) -> str:
    if locale == "zh":
        return f"【受理号 {reference_no}】服务通知" if reference_no else "服务通知"
    return f"[Ref. {reference_no}] Service notice" if reference_no else "Service notice"


def compose(message: Outgoing, settings: Settings) -> EmailMessage:
    """The mail for one `Outgoing`: UTF-8 throughout (headers RFC 2047-encoded by the SMTP policy)."""
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["Subject"] = subject(message.reference_no, message.locale)
    mail["From"] = settings.notify_email_from
    mail["To"] = message.address
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message.notification_id, message.reference_no, settings.notify_email_domain)
    mail["Content-Language"] = "zh-CN" if message.locale == "zh" else "en"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text, subtype="plain", charset="utf-8")
    lang = "zh-CN" if message.locale == "zh" else "en"
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in message.text.splitlines() if line.strip())
    mail.add_alternative(
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><body>{paragraphs}</body></html>',
        subtype="html",
        charset="utf-8",
    )
    return mail


class SmtpMail:
    """The `Provider` for channel `email`: one SMTP session per message (mail is not sent in bulk here, and a
    fresh session cannot be left half-open by a failed one)."""

    name = NAME
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, message: Outgoing) -> Sent:
        settings = self._settings
        mail = compose(message, settings)
        try:
            await aiosmtplib.send(
                mail,
                sender=bounce_address(message.notification_id, settings.notify_email_domain),
                recipients=[message.address],
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0] if exc.recipients else None
            code = refusal.code if refusal is not None else 550
            raise _by_code(code, f"recipient refused: {refusal.message if refusal else ''}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, f"{type(exc).__name__}: {exc.message}") from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # e.g. STARTTLS required but not offered: a configuration problem no retry fixes.
            raise PermanentError(f"SMTP server lacks a required extension: {exc}", code="not_supported") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Refused connections, disconnects, timeouts (SMTPTimeoutError, SMTPConnectError, ...).
            raise TransientError(f"SMTP server unreachable ({type(exc).__name__})") from exc
        return Sent(provider_message_id=str(mail["Message-ID"]))

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        """SMTP cannot be asked: the protocol only pushes, and a relay keeps no record a client can query. A crash
        between the server's 250 and recording it leaves a resend as the only option, and the resend would be a
        second mail (with the same Message-ID, which many mailboxes show once, but nothing guarantees it)."""
        raise NotImplementedError("SMTP offers no way to ask whether a mail was accepted")

    async def aclose(self) -> None:
        """Nothing is held open between messages."""


def _by_code(code: int, text: str) -> Exception:
    if 500 <= code < 600:
        return PermanentError(f"SMTP {code}: {text}", code=str(code))
    return TransientError(f"SMTP {code}: {text}")


class Bounces:
    """The `ReceiptParser` for `POST /v1/receipts/smtp`: DSNs (RFC 3464), piped or posted by the MTA."""

    name = NAME

    def __init__(self, settings: Settings) -> None:
        self._token = settings.notify_bounce_token
        self._domain = settings.notify_email_domain.lower()

    def parse(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> list[Receipt]:
        given = query.get("token", "")
        if not self._token or not hmac.compare_digest(given.encode(), self._token.encode()):
            raise ReceiptRefused("bounce token missing or wrong")
        report = email.message_from_bytes(body, policy=email.policy.compat32)
        status_part = _delivery_status(report)
        if status_part is None:
            # Not a DSN (an auto-reply to the bounce address, a challenge mail): nothing to record.
            return []
        blocks = status_part.get_payload()
        if not isinstance(blocks, list) or len(blocks) < 2:
            raise ReceiptRefused("delivery-status part without a per-recipient block", status=422)
        per_message, per_recipient = cast(Message, blocks[0]), cast(list[Message], blocks[1:])
        original_id = self._original_message_id(report)
        notification_id = self._from_verp(report) or self._from_message_id(original_id)
        if notification_id is None:
            # Neither our bounce address nor one of our Message-IDs: not about a mail we sent.
            log.warning("bounce names no message of ours")
            return []
        at = _date(_header(per_message, "Arrival-Date"))
        receipts = []
        for block in per_recipient:
            action = _header(block, "Action").strip().lower()
            if action not in ("failed", "delivered"):
                continue  # delayed, relayed, expanded: not a final answer
            code = _header(block, "Status").strip().split(" ")[0] or None
            diagnostic = " ".join(_header(block, "Diagnostic-Code").split()) or None
            receipts.append(
                Receipt(
                    status="failed" if action == "failed" else "delivered",
                    notification_id=notification_id,
                    provider_message_id=original_id,
                    at=_date(_header(block, "Last-Attempt-Date")) or at,
                    error_code=code if action == "failed" else None,
                    error_message=diagnostic if action == "failed" else None,
                )
            )
        return receipts

    def answer(self) -> ReceiptAnswer:
        return ReceiptAnswer(body=b'{"accepted": true}')

    def _from_verp(self, report: Message) -> uuid.UUID | None:
        for name in _ADDRESSED_TO:
            for value in report.get_all(name) or []:
                for found, domain in _VERP.findall(str(value)):
                    if domain.lower() == self._domain:
                        return uuid.UUID(found)
        return None

    def _from_message_id(self, original_id: str | None) -> uuid.UUID | None:
        if original_id is None:
            return None
        found = _MESSAGE_ID.fullmatch(original_id)
        if found is None or found.group(2).lower() != self._domain:
            return None
        return uuid.UUID(found.group(1))

    @staticmethod
    def _original_message_id(report: Message) -> str | None:
        """The bounced mail's Message-ID, from the returned headers (`text/rfc822-headers`) or message."""
        for part in report.walk():
            kind = part.get_content_type()
            if kind == "text/rfc822-headers":
                payload = cast(bytes, part.get_payload(decode=True) or b"")
                returned = email.message_from_bytes(payload)
            elif kind == "message/rfc822":
                inner = part.get_payload()
                if not isinstance(inner, list) or not inner:
                    continue
                returned = cast(Message, inner[0])
            else:
                continue
            value = " ".join(_header(returned, "Message-ID").split())
            if value:
                return value
        return None


def _delivery_status(report: Message) -> Message | None:
    if report.get_content_type() != "multipart/report":
        return None
    if collapse_rfc2231_value(report.get_param("report-type") or "").lower() != "delivery-status":
        return None
    for part in report.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            return part
    return None


def _header(message: Message, name: str) -> str:
    """A header field as text the database can hold. Raw 8-bit bytes in a field (which compat32 hands back as a
    `Header`, not a string) are read as UTF-8, replacement characters for what is not; NULs are dropped."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            raw = value.encode("utf-8", "surrogateescape")
            return raw.decode("utf-8", "replace").replace("\x00", "")
    return ""


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def build(settings: Settings) -> SmtpMail:
    return SmtpMail(settings)


def receipts(settings: Settings) -> Bounces | None:
    return Bounces(settings) if settings.notify_bounce_token else None
