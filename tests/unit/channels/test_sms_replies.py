"""SMS replies, pure: what a reply means ("2" a survey score, "还是不热" dissatisfied, anything else a note), and the
vendors' uplink pushes read in their documented formats, refused without the callback URL's secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.channels.sms.replies import classify, survey_score
from services.channels.sms.uplink import (
    ALIYUN,
    TENCENT,
    UplinkRefused,
    aliyun_uplink,
    check_token,
    tencent_uplink,
    to_e164,
)
from shared.errors import Invalid


@pytest.mark.parametrize(
    ("text", "score"),
    [("2", 2), ("２", 2), (" 5 ", 5), ("4分", 4), ("五星", 5), ("1。", 1), ("3 stars", 3), ("4!", 4)],
)
def test_a_bare_mark_is_a_survey_score(text: str, score: int) -> None:
    assert classify(text).kind == "survey_score"
    assert classify(text).score == score


@pytest.mark.parametrize("text", ["0", "6", "24", "2 但还是不热", "谢谢", "", "5 stars but still cold"])
def test_anything_more_than_a_mark_is_not_a_score(text: str) -> None:
    assert survey_score(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "不满意",
        "还是不热",
        "家里还是不热，温度只有16度",
        "還是不熱",
        "师傅来过了但是没修好",
        "问题依旧",
        "not fixed",
        "It is NOT fixed yet",
        "Still cold in the bedroom",
        "I am not satisfied",
        "2 但还是不热",
    ],
)
def test_not_fixed_or_not_satisfied_is_dissatisfied(text: str) -> None:
    assert classify(text).kind == "dissatisfied"
    assert classify(text).score is None


@pytest.mark.parametrize("text", ["谢谢，已经热了", "满意", "非常满意", "请明天上午来", "Thanks, all good now", "?"])
def test_anything_else_is_a_note(text: str) -> None:
    assert classify(text).kind == "note"


def test_tencent_reply_as_documented() -> None:
    body = {
        "extend": "",
        "mobile": "13800138000",
        "nationcode": "86",
        "sign": "热力公司",
        "text": "2",
        "time": 1764900000,
    }
    [reply] = tencent_uplink(json.dumps(body).encode())
    assert (reply.provider, reply.phone, reply.text) == (TENCENT, "+8613800138000", "2")
    assert reply.sent_at == datetime.fromtimestamp(1764900000, UTC)
    assert reply.raw == body
    again = tencent_uplink(json.dumps(body).encode())[0]
    assert again.provider_message_id == reply.provider_message_id  # a retried push is the same message
    later = tencent_uplink(json.dumps(body | {"time": 1764900060}).encode())[0]
    assert later.provider_message_id != reply.provider_message_id  # a second reply is another


def test_tencent_time_quoted_reads_the_same() -> None:
    body = {"mobile": "13800138000", "nationcode": "86", "sign": "s", "text": "2", "time": "1764900000"}
    assert tencent_uplink(json.dumps(body).encode())[0].sent_at == datetime.fromtimestamp(1764900000, UTC)


def test_tencent_reply_from_abroad_keeps_its_country_code() -> None:
    body = {"mobile": "91234567", "nationcode": "852", "sign": "s", "text": "not fixed", "time": 1764900000}
    assert tencent_uplink(json.dumps(body).encode())[0].phone == "+85291234567"


def test_aliyun_smsup_as_documented() -> None:
    body = [
        {
            "phone_number": "13800138000",
            "content": "还是不热",
            "send_time": "2026-12-05 20:01:02",
            "dest_code": "1234",
            "sequence_id": 1234567890,
            "sign_name": "热力公司",
        },
        {
            "phone_number": "8613900139000",
            "content": "4",
            "send_time": "2026-12-05 20:01:03",
            "dest_code": "1234",
            "sequence_id": "1234567891",
        },
    ]
    first, second = aliyun_uplink(json.dumps(body, ensure_ascii=False).encode())
    assert (first.provider, first.phone, first.text) == (ALIYUN, "+8613800138000", "还是不热")
    assert first.provider_message_id == "smsup:1234567890"
    assert first.sent_at == datetime(2026, 12, 5, 12, 1, 2, tzinfo=UTC)
    assert (second.phone, second.provider_message_id) == ("+8613900139000", "smsup:1234567891")


@pytest.mark.parametrize(
    ("parser", "body", "field"),
    [
        (aliyun_uplink, b"not json", None),
        (aliyun_uplink, b'{"phone_number": "13800138000"}', None),
        (aliyun_uplink, b'[{"content": "2", "sequence_id": 1}]', "phone_number"),
        (aliyun_uplink, b'[{"phone_number": "12", "content": "2", "sequence_id": 1}]', "phone_number"),
        (aliyun_uplink, b'[{"phone_number": "13800138000", "content": "2"}]', "sequence_id"),
        (tencent_uplink, b'{"mobile": "13800138000", "text": "2"}', "time"),
        (tencent_uplink, b'{"mobile": "13800138000", "text": "2", "time": "yesterday"}', "time"),
        (tencent_uplink, b'{"mobile": "13800138000", "text": "2", "time": 99999999999999999999}', "time"),
        (tencent_uplink, b'{"mobile": "13800138000", "text": "2", "time": NaN}', "time"),
        (tencent_uplink, b'{"mobile": "13800138000", "text": "2", "time": Infinity}', "time"),
        (tencent_uplink, b'{"text": "2", "time": 1}', "mobile"),
        (tencent_uplink, b'{"mobile": "13800138000", "text": "a\\u0000b", "time": 1}', "text"),
    ],
)
def test_a_malformed_push_is_refused_naming_the_field(parser, body: bytes, field: str | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as refused:
        parser(body)
    assert refused.value.field == field


def test_the_token_is_the_only_credential() -> None:
    check_token("s3cret", "s3cret")
    for given in (None, "", "S3CRET", "s3cret "):
        with pytest.raises(UplinkRefused):
            check_token(given, "s3cret")
    with pytest.raises(UplinkRefused):
        check_token("", "")  # no token configured: nothing is accepted


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+85291234567", "+85291234567"),
        ("abc", None),
        ("86123", None),
    ],
)
def test_numbers_in_e164(number: str, e164: str | None) -> None:
    assert to_e164(number) == e164
