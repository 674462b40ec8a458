"""Mails as customers' clients write them, byte for byte: a GBK complaint from a Chinese client (headers in RFC 2047
`gb2312` words, body base64 in `gbk`), a photo attached, and a reply answering one of notify's Message-IDs. Built by
hand, not with `email.message.EmailMessage`, so the tests see what Foxmail and Outlook send, not what Python writes."""

from __future__ import annotations

import base64
import quopri
import uuid
from email.header import Header

#: A tiny valid JPEG (SOI, APP0/JFIF, EOI) standing for the customer's photo.
PHOTO = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9") + b"\x00" * 2048


#: A complaint as customers write one: what is wrong, then labelled lines for where and who.
COMPLAINT_TEXT = (
    "暖气不热，室温只有14度。\n地址：和平区五经路12号3单元502室\n区县：和平区\n电话：13812345678\n户号：HX-1001"
)


def _words(text: str, charset: str) -> str:
    return Header(text, charset).encode()


def gbk_complaint(
    *,
    message_id: str,
    body: str = COMPLAINT_TEXT,
    subject: str = "投诉：暖气不热",
    sender: str = "张三",
    address: str = "zhangsan@example.cn",
    photo: bytes | None = PHOTO,
    photo_name: str = "现场照片.jpg",
) -> bytes:
    """A complaint as a Chinese mail client sends it: gb2312-labelled headers, gbk body (base64), a photo."""
    boundary = f"----=_Part_{uuid.uuid4().hex}"
    head = [
        f"From: {_words(sender, 'gb2312')} <{address}>",
        "To: complaints@utility.example",
        f"Subject: {_words(subject, 'gb2312')}",
        f"Message-ID: {message_id}",
        "Date: Sat, 05 Dec 2026 20:00:00 +0800",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
    ]
    parts = [
        "\r\n".join(
            [
                f"--{boundary}",
                'Content-Type: text/plain; charset="gbk"',
                "Content-Transfer-Encoding: base64",
                "",
                base64.encodebytes(body.encode("gbk")).decode("ascii"),
            ]
        )
    ]
    if photo is not None:
        parts.append(
            "\r\n".join(
                [
                    f"--{boundary}",
                    f'Content-Type: image/jpeg; name="{_words(photo_name, "gb2312")}"',
                    "Content-Transfer-Encoding: base64",
                    f'Content-Disposition: attachment; filename="{_words(photo_name, "gb2312")}"',
                    "",
                    base64.encodebytes(photo).decode("ascii"),
                ]
            )
        )
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(parts) + f"\r\n--{boundary}--\r\n").encode("ascii")


def html_reply(
    *,
    message_id: str,
    answers: str,
    body_html: str = "<div>修了以后还是不热。<br>谢谢</div><blockquote>原邮件</blockquote>",
    subject: str = "回复: 您的投诉已受理",
    address: str = "zhangsan@example.cn",
) -> bytes:
    """A reply to one of our mails (`answers`: our Message-ID), HTML only, in UTF-8 quoted-printable."""
    head = [
        f"From: {_words('张三', 'utf-8')} <{address}>",
        "To: complaints@utility.example",
        f"Subject: {_words(subject, 'utf-8')}",
        f"Message-ID: {message_id}",
        f"In-Reply-To: {answers}",
        f"References: <older@elsewhere.example> {answers}",
        "Date: Sat, 05 Dec 2026 21:00:00 +0800",
        "MIME-Version: 1.0",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
    ]
    body = quopri.encodestring(body_html.encode("utf-8")).decode("ascii")
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode("ascii")
