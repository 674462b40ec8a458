"""A real SMTP server (aiosmtpd) that keeps every mail it accepts in a Maildir, refuses chosen mailboxes at RCPT,
and bounces chosen ones with a proper DSN — what notify's email adapter meets in `make run` and the tests.

One process, two listeners on ports the kernel picks (`MAIL_STANDIN_SMTP_PORT` fixes the SMTP one): SMTP (ESMTP,
plaintext, no AUTH: run notify with `SMTP_SECURITY=none` and no username) and a small HTTP side for people and
tests. The ready file names both: `{"url": <http>, "smtp_port": N, "smtp_host": ...}`.

What it does as a mail server would (RFC 5321 / RFC 3464):
- final delivery into `<data-dir>/Maildir` (stdlib `mailbox.Maildir`), prefixed with `Return-Path: <MAIL FROM>` and
  `Delivered-To: <RCPT TO>`, as a delivery agent records the envelope on the stored copy (RFC 5321 §4.4);
- a refused mailbox (`MAIL_STANDIN_REFUSED`, comma-separated, or the control) is answered at RCPT with
  `550 5.1.1 mailbox unavailable`;
- a bouncing mailbox (`MAIL_STANDIN_BOUNCING` or the control) is accepted (250), then — as an MTA whose next hop
  failed — a DSN (`multipart/report; report-type=delivery-status`: a human part, a `message/delivery-status` part
  with `Action: failed`, `Status: 5.1.1`, `Diagnostic-Code`, and the returned headers as `text/rfc822-headers`) is
  addressed to the envelope sender and POSTed raw (`Content-Type: message/rfc822`) to `MAIL_STANDIN_BOUNCE_URL`, as
  an MTA pipes a mail for the bounce address to a program; after `MAIL_STANDIN_BOUNCE_DELAY_S` (0.5), retried while
  the receiver refuses or fails, for `MAIL_STANDIN_BOUNCE_RETRY_S` (600);
- "down" (control `{"down_for_s": N}`): every MAIL FROM is answered `421 4.3.2 Service not available` (RFC 5321
  §3.8: a server that must shut down answers 421 to any command).

HTTP controls (`/_standin/`): `GET messages` (the Maildir, oldest first: envelope and header fields, the decoded
subject and text), `GET bounces` (DSNs sent and their answers), `POST faults` with `{"refused_addresses": [...]}`,
`{"bouncing_addresses": [...]}`, `{"down_for_s": 30}`, `{"reset": true}` (also empties the Maildir).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import mailbox
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request

from embedded.standins.serving import Received, parse_args, post_until_taken, serve

NAME = "mail_server"
HOSTNAME = "mail-standin.localhost"
REFUSAL = "550 5.1.1 mailbox unavailable"


def _addresses(variable: str) -> set[str]:
    return {a.strip().lower() for a in os.environ.get(variable, "").split(",") if a.strip()}


class MailStore:
    """The Maildir, the fault settings, and the bounces sent; shared by the SMTP handler and the HTTP app."""

    def __init__(self, data_dir: Path, received: Received) -> None:
        self.maildir = mailbox.Maildir(data_dir / "Maildir", create=True)
        self.received = received
        self.lock = threading.Lock()
        self.refused = _addresses("MAIL_STANDIN_REFUSED")
        self.bouncing = _addresses("MAIL_STANDIN_BOUNCING")
        self.down_until = 0.0
        self.bounce_url = os.environ.get("MAIL_STANDIN_BOUNCE_URL", "")
        self.bounce_delay = float(os.environ.get("MAIL_STANDIN_BOUNCE_DELAY_S", "0.5"))
        self.bounce_retry_for = float(os.environ.get("MAIL_STANDIN_BOUNCE_RETRY_S", "600"))
        self.bounces: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def deliver(self, envelope: Envelope, recipient: str) -> str:
        content = envelope.original_content or b""
        trace = f"Return-Path: <{envelope.mail_from or ''}>\r\nDelivered-To: {recipient}\r\n".encode()
        with self.lock:
            key = self.maildir.add(trace + content)
        return key

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            keys = list(self.maildir.keys())
            stored = [(key, self.maildir.get_file(key).read()) for key in keys]
        items: list[tuple[tuple[int, ...], dict[str, Any]]] = []
        for key, raw in stored:
            mail = email.message_from_bytes(raw, policy=email.policy.default)
            body = mail.get_body(preferencelist=("plain",))

            items.append(
                (
                    self._delivered_at(key),
                    {
                        "key": key,
                        "return_path": _field(mail, "Return-Path"),
                        "delivered_to": _field(mail, "Delivered-To"),
                        "from": _field(mail, "From"),
                        "to": _field(mail, "To"),
                        "subject": _field(mail, "Subject"),
                        "message_id": _field(mail, "Message-ID"),
                        "in_reply_to": _field(mail, "In-Reply-To") or None,
                        "date": _field(mail, "Date"),
                        "content_type": mail.get_content_type(),
                        "text": body.get_content() if body is not None else None,
                    },
                )
            )
        return [item for _, item in sorted(items, key=lambda pair: pair[0])]

    @staticmethod
    def _delivered_at(key: str) -> tuple[int, ...]:
        """Maildir names are `<seconds>.M<microseconds>P<pid>Q<counter>.<host>` (mailbox.Maildir): delivery order."""
        found = re.match(r"(\d+)\.M(\d+)P\d+Q(\d+)", key)
        return tuple(int(g) for g in found.groups()) if found else (0, 0, 0)

    def clear(self) -> None:
        with self.lock:
            self.maildir.clear()
            self.bounces.clear()

    def bounce_later(self, envelope: Envelope, recipient: str) -> None:
        if not self.bounce_url or not envelope.mail_from:
            return
        dsn = build_dsn(envelope, recipient)
        task = asyncio.get_running_loop().create_task(self._post_bounce(dsn, recipient))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post_bounce(self, dsn: bytes, recipient: str) -> None:
        await asyncio.sleep(self.bounce_delay)
        async with httpx.AsyncClient(timeout=10.0) as client:
            outcome = await post_until_taken(
                lambda: client.post(self.bounce_url, content=dsn, headers={"Content-Type": "message/rfc822"}),
                give_up_s=self.bounce_retry_for,
            )
        with self.lock:
            self.bounces.append({"recipient": recipient, "answer": outcome, "at": datetime.now(UTC).isoformat()})


def _field(mail: Message, name: str) -> str:
    """A header field's value, unfolded (a long Message-ID is folded onto its own line)."""
    return " ".join(str(mail.get(name, "")).split())


def build_dsn(envelope: Envelope, recipient: str) -> bytes:
    """An RFC 3464 delivery status notification for `recipient`, to the envelope sender, with the returned headers."""
    original = envelope.original_content or b""
    headers_end = original.find(b"\r\n\r\n")
    returned_headers = original[: headers_end + 2] if headers_end >= 0 else original
    now = format_datetime(datetime.now(UTC))
    report = EmailMessage(policy=email.policy.SMTP)
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{HOSTNAME}>"
    report["To"] = envelope.mail_from or ""
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = now
    report["Message-ID"] = make_msgid(domain=HOSTNAME)
    report["Auto-Submitted"] = "auto-replied"
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    report.set_boundary(f"dsn-{secrets.token_hex(8)}")

    human = Message()
    human.set_type("text/plain")
    human.set_payload(
        f"This is the mail system at host {HOSTNAME}.\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered to one or more recipients.\r\n\r\n"
        f"<{recipient}>: host {HOSTNAME} said: {REFUSAL} (in reply to end of DATA command)\r\n"
    )
    human.set_param("charset", "us-ascii")

    status = Message()
    status.set_type("message/delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = f"dns; {HOSTNAME}"
    per_message["Arrival-Date"] = now
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Original-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = "5.1.1"
    per_recipient["Remote-MTA"] = f"dns; {HOSTNAME}"
    per_recipient["Diagnostic-Code"] = f"smtp; {REFUSAL}"
    per_recipient["Last-Attempt-Date"] = now
    status.set_payload([per_message, per_recipient])

    headers = Message()
    headers.set_type("text/rfc822-headers")
    headers.set_payload(returned_headers.decode("ascii", errors="replace"))

    report.set_payload([human, status, headers])
    return report.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))


class Handler:
    """aiosmtpd's hooks: refuse at RCPT, answer 421 when down, deliver or bounce at DATA."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if time.monotonic() < self.store.down_until:
            return "421 4.3.2 Service not available"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.store.refused:
            return REFUSAL
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for recipient in envelope.rcpt_tos:
            if recipient.lower() in self.store.bouncing:
                self.store.bounce_later(envelope, recipient)
                continue
            key = self.store.deliver(envelope, recipient)
            mail = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
            self.store.received.add(
                {
                    "key": key,
                    "message_id": _field(mail, "Message-ID"),
                    "return_path": envelope.mail_from,
                    "to": recipient,
                    "subject": _field(mail, "Subject"),
                }
            )
        return "250 2.0.0 OK: queued"


def create_app(store: MailStore, smtp_socket: socket.socket) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        handler = Handler(store)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname=HOSTNAME, ident="mail stand-in", enable_SMTPUTF8=True, loop=loop),
            sock=smtp_socket,
        )
        try:
            yield
        finally:
            server.close()
            for task in list(store.tasks):
                task.cancel()

    app = FastAPI(title="Mail server stand-in", lifespan=lifespan)

    @app.get("/_standin/messages")
    async def messages() -> list[dict[str, Any]]:
        return store.messages()

    @app.get("/_standin/bounces")
    async def bounces() -> list[dict[str, Any]]:
        with store.lock:
            return list(store.bounces)

    @app.post("/_standin/faults")
    async def faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        if body.get("reset"):
            store.clear()
            store.refused, store.bouncing, store.down_until = set(), set(), 0.0
        if "down_for_s" in body:
            store.down_until = time.monotonic() + float(body["down_for_s"])
        if "refused_addresses" in body:
            store.refused = {a.lower() for a in body["refused_addresses"]}
        if "bouncing_addresses" in body:
            store.bouncing = {a.lower() for a in body["bouncing_addresses"]}
        return {"ok": True}

    return app


def main() -> None:
    args = parse_args(NAME)
    data_dir: Path = args.data_dir or Path.cwd() / ".mail-standin"
    data_dir.mkdir(parents=True, exist_ok=True)
    # The SMTP socket listens before the ready file is written (serve writes it), so a client that read the file
    # is queued by the kernel until the server accepts.
    smtp_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    smtp_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    smtp_socket.bind((args.host, int(os.environ.get("MAIL_STANDIN_SMTP_PORT", "0"))))
    smtp_socket.listen(128)
    smtp_port = smtp_socket.getsockname()[1]
    store = MailStore(data_dir, Received(NAME, args.data_dir))
    serve(create_app(store, smtp_socket), NAME, args, smtp_host=args.host, smtp_port=smtp_port)


if __name__ == "__main__":
    main()
