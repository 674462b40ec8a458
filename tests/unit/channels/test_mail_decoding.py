"""The mailbox's pure parts: Chinese mail decoded (gb2312 labels holding GBK characters, raw 8-bit headers), HTML to
text, attachments kept within the limit, labelled fields read, and a reply told from a new complaint."""

from __future__ import annotations

import base64
import uuid

from services.channels.mail.decoding import decode_bytes, decode_header, decode_mail
from services.channels.mail.fields import labelled_fields
from services.channels.mail.html_text import html_to_text
from services.channels.mail.replies import reply_target, without_quoted_original
from tests.support.mails import PHOTO, gbk_complaint, html_reply

DOMAIN = "mail.utility.example"
LIMIT = 1_000_000


def test_a_gbk_mail_with_a_photo_is_read_whole() -> None:
    mail = decode_mail(gbk_complaint(message_id="<a1@example.cn>"), max_attachment_bytes=LIMIT)
    assert mail.message_id == "<a1@example.cn>"
    assert mail.subject == "投诉：暖气不热"
    assert (mail.sender_name, mail.sender_address) == ("张三", "zhangsan@example.cn")
    assert mail.text.startswith("暖气不热，室温只有14度。")
    assert [(a.file_name, a.content_type, a.content) for a in mail.attachments] == [
        ("现场照片.jpg", "image/jpeg", PHOTO)
    ]
    assert mail.sent_at is not None and mail.sent_at.utcoffset() is not None


def test_gb2312_labels_read_gbk_characters_and_raw_headers_are_guessed() -> None:
    # 镕 is in GBK, not in GB 2312: a strict gb2312 codec fails on it.
    assert decode_bytes("朱镕基路".encode("gbk"), "gb2312") == "朱镕基路"
    assert decode_bytes("暖气".encode("gb18030"), None) == "暖气"
    assert decode_bytes("暖气".encode(), "x-unknown-charset") == "暖气"
    assert decode_header("=?GB2312?B?" + base64.b64encode("停水".encode("gbk")).decode() + "?=") == "停水"
    raw = "Subject: 没有编码的标题\r\n\r\nx".encode("gbk")
    assert decode_mail(raw, max_attachment_bytes=LIMIT).subject == "没有编码的标题"


def test_an_oversized_attachment_is_listed_not_kept_and_a_mail_without_id_gets_its_hash() -> None:
    raw = gbk_complaint(message_id="", photo=b"x" * 5000)
    mail = decode_mail(raw, max_attachment_bytes=4096)
    assert mail.attachments == ()
    assert mail.oversized == (("现场照片.jpg", 5000),)
    assert mail.message_id.startswith("sha256:") and decode_mail(raw, max_attachment_bytes=1).message_id == (
        mail.message_id
    )


def test_html_becomes_text() -> None:
    html = "<html><head><style>p{}</style></head><body><p>暖气&nbsp;不热</p><p>第二段<br>换行</p>"
    html += "<script>x()</script><table><tr><td>a</td><td>b</td></tr></table></body></html>"
    assert html_to_text(html) == "暖气 不热\n\n第二段\n换行\n\na b"
    # A quoted original (HTML clients quote in <blockquote>) reads as "> " lines, as in a plain-text reply.
    assert html_to_text("<p>还是不热</p><blockquote><p>您好</p><blockquote>x</blockquote></blockquote>") == (
        "还是不热\n\n> 您好\n> > x"
    )


def test_a_reply_to_our_message_is_found_by_its_thread_headers() -> None:
    ours = f"<{uuid.uuid4()}.TS-20261205-000042@{DOMAIN}>"
    mail = decode_mail(html_reply(message_id="<r1@example.cn>", answers=ours), max_attachment_bytes=LIMIT)
    target = reply_target(mail, DOMAIN)
    assert target is not None and (target.reference_no, target.evidence) == ("TS-20261205-000042", "in_reply_to")
    assert mail.text.startswith("修了以后还是不热。\n谢谢")
    # Another domain's id of the same shape is not ours; a reference in the subject still counts.
    assert reply_target(mail, "other.example") is None
    subject = html_reply(message_id="<r2@x>", answers="<y@x>", subject="Re: 关于 ts-20261201-000007 的处理")
    found = reply_target(decode_mail(subject, max_attachment_bytes=LIMIT), DOMAIN)
    assert found is not None and (found.reference_no, found.evidence) == ("TS-20261201-000007", "subject")
    assert reply_target(decode_mail(gbk_complaint(message_id="<n@x>"), max_attachment_bytes=LIMIT), DOMAIN) is None


def test_the_quoted_original_is_cut_from_a_reply() -> None:
    text = "还是不热\n\n在 2026年12月5日 20:00，客服 写道：\n> 您的投诉已受理"
    assert without_quoted_original(text) == "还是不热"
    assert without_quoted_original("ok\n-----原始邮件-----\nFrom: x") == "ok"
    assert without_quoted_original("> only a quote") == "> only a quote"


def test_labelled_lines_give_address_district_phone_and_account() -> None:
    fields = labelled_fields("暖气不热\n地址：和平区五经路12号\n区县: 和平区\n电话：138 1234 5678\nAccount No: HX-1001")
    assert fields.address == "和平区五经路12号" and fields.district == "和平区"
    assert fields.phone == "13812345678" and fields.account_no == "HX-1001"
    assert labelled_fields("no labels here") == labelled_fields("")


def test_a_broken_encoded_word_and_a_raw_8bit_disposition_are_read_not_raised() -> None:
    """Neither is a link failure to the reader (which would fetch the same mail for ever): the subject is kept as
    written, the attachment still taken."""
    raw = (
        b"From: a@example.cn\r\nSubject: =?gbk?B?a?=\r\nMessage-ID: <broken@example.cn>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nno heat\r\n"
        b'--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: \xe9\x99\x84\xe4\xbb\xb6; filename="p.jpg"\r\n\r\n'
        b"JPEG\r\n--b--\r\n"
    )
    mail = decode_mail(raw, max_attachment_bytes=1000)
    assert (mail.subject, mail.text) == ("=?gbk?B?a?=", "no heat")
    assert [a.file_name for a in mail.attachments] == ["p.jpg"]
