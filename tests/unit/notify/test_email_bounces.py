"""Reading bounces: DSNs (RFC 3464) written as Postfix writes them, not as our own stand-in does, so the parser is
not only proven against the generator it was written with."""

from __future__ import annotations

import uuid

import pytest

from services.notify.providers.base import Outgoing, ReceiptRefused
from services.notify.providers.email_smtp import Bounces, Settings, compose, message_id

DOMAIN = "notify.example.cn"
TOKEN = "bounce-token"
ID = uuid.UUID("0b6f3c4e-8a53-4d7e-9d7a-3f2c1e0a9b11")
MESSAGE_ID = f"<{ID}.TS-20250301-000042@{DOMAIN}>"


def dsn(*, to: str, action: str = "failed", status: str = "5.1.1", message_id: str | None = MESSAGE_ID) -> bytes:
    returned = f"Message-ID:\r\n {message_id}\r\n" if message_id else ""
    return (
        "Return-Path: <>\r\n"
        f"Delivered-To: {to}\r\n"
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"To: {to}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="B1"\r\n'
        "\r\n"
        "--B1\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "X-Postfix-Queue-ID: 4RkQ2l1FZ3z9sWn\r\n"
        "Arrival-Date: Sat,  1 Mar 2025 10:15:02 +0800 (CST)\r\n"
        "\r\n"
        "Final-Recipient: rfc822; customer@example.org\r\n"
        "Original-Recipient: rfc822;customer@example.org\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mx.example.org\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <customer@example.org>: Recipient address\r\n"
        "    rejected: User unknown in virtual mailbox table\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"{returned}"
        "From: service@notify.example.cn\r\n"
        "Subject: =?utf-8?b?5pyN5Yqh6YCa55+l?=\r\n"
        "\r\n"
        "--B1--\r\n"
    ).encode()


@pytest.fixture
def bounces() -> Bounces:
    return Bounces(Settings(notify_email_domain=DOMAIN, notify_bounce_token=TOKEN))


def test_a_failed_dsn_names_our_notification_by_its_verp_address(bounces: Bounces) -> None:
    [receipt] = bounces.parse({}, {"token": TOKEN}, dsn(to=f"bounces+{ID}@{DOMAIN}"))
    assert receipt.status == "failed"
    assert receipt.notification_id == ID
    assert receipt.provider_message_id == MESSAGE_ID  # unfolded from the returned headers
    assert receipt.error_code == "5.1.1"
    assert receipt.error_message == (
        "smtp; 550 5.1.1 <customer@example.org>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    assert receipt.at is not None


def test_without_the_verp_address_the_returned_message_id_names_it(bounces: Bounces) -> None:
    [receipt] = bounces.parse({}, {"token": TOKEN}, dsn(to="postmaster@notify.example.cn"))
    assert receipt.notification_id == ID


def test_a_success_dsn_is_delivered_and_a_delay_is_not_an_answer_yet(bounces: Bounces) -> None:
    verp = f"bounces+{ID}@{DOMAIN}"
    [receipt] = bounces.parse({}, {"token": TOKEN}, dsn(to=verp, action="delivered", status="2.0.0"))
    assert receipt.status == "delivered" and receipt.error_code is None
    assert bounces.parse({}, {"token": TOKEN}, dsn(to=verp, action="delayed", status="4.4.1")) == []


def test_bounces_that_name_no_message_of_ours_and_mail_that_is_no_dsn_are_acknowledged_and_ignored(
    bounces: Bounces,
) -> None:
    foreign = dsn(to=f"bounces+{ID}@elsewhere.example", message_id=f"<{ID}@elsewhere.example>")
    assert bounces.parse({}, {"token": TOKEN}, foreign) == []
    auto_reply = b"From: customer@example.org\r\nTo: bounces+x@notify.example.cn\r\nSubject: Away\r\n\r\nAway.\r\n"
    assert bounces.parse({}, {"token": TOKEN}, auto_reply) == []


def test_raw_eight_bit_bytes_in_the_report_fields_are_read_as_text(bounces: Bounces) -> None:
    """Found probing the receipts endpoint: a field with raw 8-bit bytes comes back from the parser as a `Header`,
    not a string, and `.strip()` on it was a 500. It is read as UTF-8 (replacement characters), NULs dropped."""
    report = dsn(to=f"bounces+{ID}@{DOMAIN}")
    report = report.replace(b"Status: 5.1.1", b"Status: 5.1.1\xff\x00").replace(b"(CST)", b"(\xff)")
    report = report.replace(b"Recipient address", b"\xe5\x9c\xb0\xe5\x9d\x80 \xfe")
    [receipt] = bounces.parse({}, {"token": TOKEN}, report)
    assert receipt.status == "failed" and receipt.notification_id == ID
    assert receipt.error_code == "5.1.1\ufffd"
    assert receipt.error_message is not None and "地址 \ufffd" in receipt.error_message
    receipt.error_message.encode()  # storable: no surrogate left
    action = dsn(to=f"bounces+{ID}@{DOMAIN}").replace(b"Action: failed", b"Action: failed\xff")
    assert bounces.parse({}, {"token": TOKEN}, action) == []  # no final answer a field can be read as


@pytest.mark.parametrize("query", [{}, {"token": ""}, {"token": "bounce-token-"}, {"token": "BOUNCE-TOKEN"}])
def test_a_wrong_or_missing_token_is_refused(bounces: Bounces, query: dict[str, str]) -> None:
    with pytest.raises(ReceiptRefused) as refused:
        bounces.parse({}, query, dsn(to=f"bounces+{ID}@{DOMAIN}"))
    assert refused.value.status == 401


def test_without_a_configured_token_every_bounce_is_refused() -> None:
    with pytest.raises(ReceiptRefused):
        Bounces(Settings(notify_email_domain=DOMAIN)).parse({}, {"token": ""}, dsn(to=f"bounces+{ID}@{DOMAIN}"))


def test_the_message_id_keeps_the_reference_and_a_reply_can_be_tied_back() -> None:
    assert message_id(ID, "TS-20250301-000042", DOMAIN) == MESSAGE_ID
    assert message_id(ID, None, DOMAIN) == f"<{ID}@{DOMAIN}>"
    assert message_id(ID, "TS 1/2", DOMAIN) == f"<{ID}.TS_1_2@{DOMAIN}>"
    mail = compose(
        Outgoing(ID, "email", "a@example.org", "case_closed", {}, "Closed.", "en", "TS-20250301-000042"),
        Settings(notify_email_from="service@notify.example.cn", notify_email_domain=DOMAIN),
    )
    assert mail["Message-ID"] == MESSAGE_ID and mail["Auto-Submitted"] == "auto-generated"
