"""The SMTP email provider against a real SMTP server: the mail stand-in (`embedded.standins.mail_server`, aiosmtpd)
run as its own process, its Maildir read back from disk, and its DSN bounces received over real HTTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import mailbox
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from embedded.standins.process import StandInProcess
from services.notify.providers import email_smtp
from services.notify.providers.base import Outgoing, PermanentError, ReceiptRefused, TransientError
from tests.support.ports import free_port

DOMAIN = "notify.example.cn"
BOUNCE_TOKEN = "test-bounce-token"
REFUSED = "nobody@example.cn"
BOUNCING = "gone@example.cn"
REFERENCE = "TS-20250301-000042"
TEXT_ZH = "您好！您反映的问题（受理号 TS-20250301-000042）正在处理中，我们会尽快给您答复，感谢您的耐心。"


class Receiver:
    """A real HTTP endpoint standing where notify's `POST /v1/receipts/smtp` would be: it keeps what is posted."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, str], bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append((dict(self.headers), dict(parse_qsl(urlsplit(self.path).query)), body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"accepted": true}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/receipts/smtp?token={BOUNCE_TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[StandInProcess]:
    env = {
        "MAIL_STANDIN_REFUSED": REFUSED,
        "MAIL_STANDIN_BOUNCING": BOUNCING,
        "MAIL_STANDIN_BOUNCE_URL": receiver.url,
        "MAIL_STANDIN_BOUNCE_DELAY_S": "0.05",
    }
    with StandInProcess("embedded.standins.mail_server", tmp_path_factory.mktemp("mail"), env=env) as server:
        yield server


def settings_for(server: StandInProcess, **overrides: object) -> email_smtp.Settings:
    values: dict[str, object] = {
        "smtp_host": server.ready["smtp_host"],
        "smtp_port": server.ready["smtp_port"],
        "smtp_security": "none",
        "smtp_timeout_s": 5.0,
        "notify_email_from": "城市供水客服 <service@notify.example.cn>",
        "notify_email_domain": DOMAIN,
        "notify_bounce_token": BOUNCE_TOKEN,
        **overrides,
    }
    return email_smtp.Settings(**values)


def outgoing(address: str, *, locale: str = "zh", text: str = TEXT_ZH) -> Outgoing:
    return Outgoing(
        notification_id=uuid.uuid4(),
        channel="email",
        address=address,
        template_id="interim_reply",
        params={"reference_no": REFERENCE},
        text=text,
        locale=locale,  # type: ignore[arg-type]
        reference_no=REFERENCE,
    )


def maildir_bytes(server: StandInProcess) -> list[bytes]:
    box = mailbox.Maildir(server.work_dir / "Maildir", create=False)
    return [box.get_bytes(key) for key in box.iterkeys()]


def stored_mail(server: StandInProcess, message_id: str) -> email.message.EmailMessage:
    for data in maildir_bytes(server):
        mail = email.message_from_bytes(data, policy=email.policy.default)
        if " ".join(str(mail["Message-ID"]).split()) == message_id:
            return mail
    raise AssertionError(f"{message_id} is not in the Maildir")


async def test_a_chinese_mail_lands_in_the_maildir_with_the_reference_in_its_message_id_and_a_verp_return_path(
    mail_server: StandInProcess,
) -> None:
    provider = email_smtp.build(settings_for(mail_server))
    message = outgoing("customer.li@example.cn")

    sent = await provider.send(message)

    expected_id = f"<{message.notification_id}.{REFERENCE}@{DOMAIN}>"
    assert sent.provider_message_id == expected_id
    assert not sent.delivered  # accepted by the server, not delivered: a bounce may follow
    mail = stored_mail(mail_server, expected_id)
    assert str(mail["Return-Path"]) == f"<bounces+{message.notification_id}@{DOMAIN}>"
    assert str(mail["Delivered-To"]) == "customer.li@example.cn"
    assert str(mail["Subject"]) == f"【受理号 {REFERENCE}】服务通知"
    assert str(mail["From"]) == "城市供水客服 <service@notify.example.cn>"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(preferencelist=("plain",)).get_content().strip() == TEXT_ZH
    assert TEXT_ZH in mail.get_body(preferencelist=("html",)).get_content()
    # On the wire the subject is an RFC 2047 encoded word and the parts say their charset.
    raw = next(data for data in maildir_bytes(mail_server) if expected_id.encode() in data)
    assert b"Subject: =?utf-8?" in raw and b'charset="utf-8"' in raw

    listed = httpx.get(f"{mail_server.url}/_standin/messages").json()
    mine = [item for item in listed if item["message_id"] == expected_id]
    assert len(mine) == 1 and mine[0]["text"].strip() == TEXT_ZH and mine[0]["subject"] == str(mail["Subject"])


async def test_an_english_mail_has_an_english_subject(mail_server: StandInProcess) -> None:
    provider = email_smtp.build(settings_for(mail_server))
    message = outgoing("customer.smith@example.cn", locale="en", text=f"Your complaint {REFERENCE} is handled.")
    sent = await provider.send(message)
    mail = stored_mail(mail_server, sent.provider_message_id or "")
    assert str(mail["Subject"]) == f"[Ref. {REFERENCE}] Service notice"


async def test_a_mailbox_refused_at_rcpt_is_a_permanent_error_with_the_smtp_code(mail_server: StandInProcess) -> None:
    provider = email_smtp.build(settings_for(mail_server))
    with pytest.raises(PermanentError) as refused:
        await provider.send(outgoing(REFUSED))
    assert refused.value.code == "550"


async def test_a_server_that_is_down_or_not_listening_is_a_transient_error(mail_server: StandInProcess) -> None:
    httpx.post(f"{mail_server.url}/_standin/faults", json={"down_for_s": 30}).raise_for_status()
    try:
        with pytest.raises(TransientError, match="421"):
            await email_smtp.build(settings_for(mail_server)).send(outgoing("customer.wang@example.cn"))
    finally:
        httpx.post(f"{mail_server.url}/_standin/faults", json={"down_for_s": 0}).raise_for_status()

    nowhere = settings_for(mail_server, smtp_port=free_port())
    with pytest.raises(TransientError, match="unreachable"):
        await email_smtp.build(nowhere).send(outgoing("customer.wang@example.cn"))


async def test_a_dsn_bounce_becomes_a_failed_receipt_for_the_right_notification(
    mail_server: StandInProcess, receiver: Receiver
) -> None:
    settings = settings_for(mail_server)
    message = outgoing(BOUNCING)
    sent = await email_smtp.build(settings).send(message)  # accepted first: the bounce comes later

    def mine() -> list[tuple[dict[str, str], dict[str, str], bytes]]:
        return [post for post in receiver.posts if str(message.notification_id).encode() in post[2]]

    deadline = time.monotonic() + 10
    while not mine() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert mine(), "the mail server posted no bounce"
    headers, query, body = mine()[0]
    assert headers["Content-Type"] == "message/rfc822"
    dsn = email.message_from_bytes(body)
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"

    receipts = email_smtp.receipts(settings)
    assert receipts is not None
    [receipt] = receipts.parse(headers, query, body)
    assert receipt.status == "failed"
    assert receipt.notification_id == message.notification_id
    assert receipt.provider_message_id == sent.provider_message_id
    assert receipt.error_code == "5.1.1"
    assert receipt.error_message and "550" in receipt.error_message
    assert json.loads(receipts.answer().body) == {"accepted": True}

    with pytest.raises(ReceiptRefused) as refused:
        receipts.parse(headers, {"token": "not-the-token"}, body)
    assert refused.value.status == 401
    with pytest.raises(ReceiptRefused):
        receipts.parse(headers, {}, body)


async def test_find_sent_cannot_ask_an_smtp_server(mail_server: StandInProcess) -> None:
    with pytest.raises(NotImplementedError):
        await email_smtp.build(settings_for(mail_server)).find_sent(outgoing("a@example.cn"), datetime.now(UTC))


def test_the_ready_file_names_the_smtp_port(mail_server: StandInProcess) -> None:
    assert isinstance(mail_server.ready["smtp_port"], int) and mail_server.ready["url"].startswith("http://")
    assert Path(mail_server.work_dir / "Maildir" / "new").is_dir()
