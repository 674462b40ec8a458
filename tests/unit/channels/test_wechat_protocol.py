"""WeChat's callback protocol, pure: both signatures, safe mode's WXBizMsgCrypt framing (checked against an
independent decoder built from `cryptography`'s own PKCS#7 with 256-bit blocks), the message XML and our replies."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import xml.etree.ElementTree as ElementTree

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.channels.settings import DEV_WECHAT_ENCODING_AES_KEY as DEV_ENCODING_AES_KEY
from services.channels.settings import ChannelsSettings
from services.channels.wechat import callback, signature
from services.channels.wechat.crypto import DecryptionRefused, MessageCipher, aes_key
from services.channels.wechat.messages import UnreadableMessage, read_message, text_reply

TOKEN = "dev-only-wechat-token"
DEV_APP_ID = "wx0123456789abcdef"
OPENID = "oia2TjuEGTNoeX76QEjQNrcURxG8"
TEXT = (
    "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[{content}]]></Content><MsgId>24000000000000001</MsgId></xml>"
)


def text_xml(content: str = "暖气不热, 室温 14 度") -> bytes:
    return TEXT.format(openid=OPENID, content=content).encode()


def independent_decrypt(encrypted: str, key: bytes) -> tuple[bytes, bytes]:
    """WeChat's framing read the other way round: unpad with PKCS#7(256), skip 16, length, message, appid."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    unpadder = padding.PKCS7(256).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()
    (length,) = struct.unpack("!I", plain[16:20])
    return plain[20 : 20 + length], plain[20 + length :]


def independent_encrypt(message: bytes, key: bytes, app_id: bytes) -> str:
    padder = padding.PKCS7(256).padder()
    padded = padder.update(b"R" * 16 + struct.pack("!I", len(message)) + message + app_id) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def test_the_signature_is_sha1_of_the_sorted_parts() -> None:
    expected = hashlib.sha1("".join(sorted([TOKEN, "1409304348", "xxxxxx"])).encode()).hexdigest()
    assert signature.sign(TOKEN, "1409304348", "xxxxxx") == expected
    four = hashlib.sha1("".join(sorted([TOKEN, "1409304348", "xxxxxx", "ENC"])).encode()).hexdigest()
    assert signature.sign(TOKEN, "1409304348", "xxxxxx", "ENC") == four


def test_wrong_missing_and_stale_signatures_are_refused() -> None:
    now = int(time.time())
    good = {"timestamp": str(now), "nonce": "42", "signature": signature.sign(TOKEN, str(now), "42")}
    signature.check(TOKEN, good)
    with pytest.raises(signature.SignatureRefused, match="does not match"):
        signature.check("another-token", good)
    with pytest.raises(signature.SignatureRefused, match="required"):
        signature.check(TOKEN, {**good, "signature": ""})
    with pytest.raises(signature.SignatureRefused, match="stale"):
        signature.check(TOKEN, good, now=now + 301)
    assert signature.SignatureRefused.status == 403


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 43, 44, 45, 1000])
def test_our_encryption_is_wechats_framing_both_ways(size: int) -> None:
    """Every padding length 1…32 occurs across these sizes (16 + 4 + size + 18-byte AppID)."""
    key = aes_key(DEV_ENCODING_AES_KEY)
    cipher = MessageCipher(DEV_ENCODING_AES_KEY, DEV_APP_ID)
    message = ("热" * size).encode()[:size]
    assert independent_decrypt(cipher.encrypt(message), key) == (message, DEV_APP_ID.encode())
    assert cipher.decrypt(independent_encrypt(message, key, DEV_APP_ID.encode())) == message


def test_a_whole_block_of_padding_is_read() -> None:
    """16 + 4 + 6 + 6 = 32 bytes: WeChat pads a full 32-byte block of 32s (AES's 16 would say 16)."""
    cipher = MessageCipher(DEV_ENCODING_AES_KEY, "wxabcd")
    sealed = cipher.encrypt(b"<xml/>")
    assert len(base64.b64decode(sealed)) == 64
    assert cipher.decrypt(sealed) == b"<xml/>"


def test_another_appid_a_wrong_key_and_garbage_are_refused() -> None:
    ours = MessageCipher(DEV_ENCODING_AES_KEY, DEV_APP_ID)
    sealed = MessageCipher(DEV_ENCODING_AES_KEY, "wx_someone_else").encrypt(text_xml())
    with pytest.raises(DecryptionRefused, match="another AppID"):
        ours.decrypt(sealed)
    other_key = base64.b64encode(b"k" * 32).decode().rstrip("=")
    with pytest.raises(DecryptionRefused):
        MessageCipher(other_key, DEV_APP_ID).decrypt(ours.encrypt(text_xml()))
    for junk in ("not base64 at all!", "", base64.b64encode(b"x" * 15).decode()):
        with pytest.raises(DecryptionRefused):
            ours.decrypt(junk)


PROD: dict[str, object] = {
    "app_env": "prod",
    "channels_credentials": {"Zq3w8Xv1Lr6Tn0Yb5Kc9Md2Hf7Jg4Ps": "system"},
    "channels_contact_hash_key": "Hc4n9Rt2Wq7Lm1Zx6Vb3Ks8Pd5Fg0Jy",
    "channels_open311_keys": {},
}


def test_a_malformed_encoding_aes_key_fails_at_start_up_and_dev_secrets_outside_dev() -> None:
    with pytest.raises(ValueError, match="43"):
        ChannelsSettings(wechat_encoding_aes_key="short")
    with pytest.raises(ValueError, match="43"):
        ChannelsSettings(wechat_encoding_aes_key="!" * 43)
    for dev in ({"wechat_callback_token": TOKEN}, {"wechat_encoding_aes_key": DEV_ENCODING_AES_KEY}):
        with pytest.raises(ValueError, match="development secrets for WeChat"):
            ChannelsSettings(**PROD, **dev)  # type: ignore[arg-type]
    account = callback.Account.from_settings(ChannelsSettings())
    assert account.token == TOKEN and account.cipher is not None  # dev: the dev token and key
    unset = callback.Account.from_settings(ChannelsSettings(**PROD))  # type: ignore[arg-type]
    assert (unset.token, unset.cipher) == ("", None)  # elsewhere: off until configured
    forged = {"signature": signature.sign("", "1", "2"), "timestamp": "1", "nonce": "2", "echostr": "x"}
    with pytest.raises(signature.SignatureRefused, match="not configured"):
        callback.verify_url(unset, forged)


def test_messages_of_each_kind_are_read() -> None:
    text = read_message(text_xml())
    assert (text.msg_type, text.text, text.dedupe_id, text.openid) == (
        "text",
        "暖气不热, 室温 14 度",
        "24000000000000001",
        OPENID,
    )
    voice = read_message(
        b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>voice</MsgType><MediaId>m1</MediaId><Format>amr</Format>"
        b"<Recognition><![CDATA[\xe5\x81\x9c\xe6\xb0\xb4\xe4\xba\x86]]></Recognition><MsgId>7</MsgId></xml>"
    )
    assert (voice.text, voice.media_id) == ("停水了", "m1")
    location = read_message(
        b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>location</MsgType><Location_X>39.9042</Location_X><Location_Y>116.4074</Location_Y>"
        b"<Scale>15</Scale><Label><![CDATA[Dongcheng, 3 Bldg]]></Label><MsgId>8</MsgId></xml>"
    )
    assert (location.latitude, location.longitude, location.text) == (39.9042, 116.4074, "Dongcheng, 3 Bldg")
    event = read_message(
        b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>5</CreateTime>"
        b"<MsgType>event</MsgType><Event>subscribe</Event></xml>"
    )
    assert (event.carries_content, event.dedupe_id) == (False, "o1:5:subscribe")


@pytest.mark.parametrize(
    "body",
    [b"not xml", b"<other/>", b'<!DOCTYPE x [<!ENTITY a "b">]><xml/>', b"<xml><MsgType>text</MsgType></xml>"],
)
def test_what_is_not_wechats_xml_is_refused(body: bytes) -> None:
    with pytest.raises(UnreadableMessage):
        read_message(body)


def test_a_reply_swaps_sender_and_receiver_and_survives_cdata_breakers() -> None:
    reply = text_reply(read_message(text_xml()), "收到 ]]> 受理中", now=1700000001)
    parsed = read_message(reply.encode())
    assert (parsed.openid, parsed.account, parsed.text) == ("gh_0123456789ab", OPENID, "收到 ]]> 受理中")


def signed_query(token: str, encrypted: str | None = None, now: int | None = None) -> dict[str, str]:
    stamp = str(now or int(time.time()))
    query = {
        "timestamp": stamp,
        "nonce": "1320562132",
        "openid": OPENID,
        "signature": signature.sign(token, stamp, "1320562132"),
    }
    if encrypted is not None:
        query |= {"encrypt_type": "aes", "msg_signature": signature.sign(token, stamp, "1320562132", encrypted)}
    return query


def test_a_push_in_each_mode_is_opened_and_answered_the_same_way() -> None:
    cipher = MessageCipher(DEV_ENCODING_AES_KEY, DEV_APP_ID)
    account = callback.Account(token=TOKEN, cipher=cipher)
    plain = callback.open_push(account, signed_query(TOKEN), text_xml())
    assert not plain.safe and plain.message.msg_id == "24000000000000001"
    assert callback.seal(account, plain, "<xml>r</xml>") == "<xml>r</xml>"

    encrypted = cipher.encrypt(text_xml())
    envelope = (
        f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    safe = callback.open_push(account, signed_query(TOKEN, encrypted), envelope.encode())
    assert safe.safe and safe.message == plain.message and safe.xml == text_xml()

    answer = read_message_envelope(callback.seal(account, safe, "<xml>r</xml>"))
    assert signature.sign(TOKEN, answer["TimeStamp"], answer["Nonce"], answer["Encrypt"]) == answer["MsgSignature"]
    assert cipher.decrypt(answer["Encrypt"]) == b"<xml>r</xml>"


def test_safe_mode_refuses_a_body_the_msg_signature_does_not_cover() -> None:
    cipher = MessageCipher(DEV_ENCODING_AES_KEY, DEV_APP_ID)
    account = callback.Account(token=TOKEN, cipher=cipher)
    signed_for = cipher.encrypt(text_xml("one"))
    forged = cipher.encrypt(text_xml("two"))
    envelope = f"<xml><Encrypt><![CDATA[{forged}]]></Encrypt></xml>".encode()
    with pytest.raises(signature.SignatureRefused, match="msg_signature"):
        callback.open_push(account, signed_query(TOKEN, signed_for), envelope)
    with pytest.raises(UnreadableMessage, match="not configured"):
        callback.open_push(callback.Account(token=TOKEN, cipher=None), signed_query(TOKEN, forged), envelope)


def test_the_server_url_check_echoes_echostr() -> None:
    account = callback.Account(token=TOKEN, cipher=None)
    assert callback.verify_url(account, {**signed_query(TOKEN), "echostr": "5837397520"}) == "5837397520"
    with pytest.raises(signature.SignatureRefused):
        callback.verify_url(account, {**signed_query("wrong"), "echostr": "5837397520"})


def read_message_envelope(xml: str) -> dict[str, str]:
    root = ElementTree.fromstring(xml)
    return {child.tag: (child.text or "") for child in root}


LOCATION = (
    "<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>{created}</CreateTime>"
    "<MsgType>location</MsgType><Location_X>{x}</Location_X><Location_Y>{y}</Location_Y><Scale>{scale}</Scale>"
    "<Label>Dongcheng</Label><MsgId>9</MsgId></xml>"
)


@pytest.mark.parametrize(
    ("created", "x", "y", "refusal"),
    [
        ("9" * 5000, "39.9", "116.4", "CreateTime is not a time"),  # over Python's 4300-digit int limit
        ("99999999999999999999", "39.9", "116.4", "CreateTime is not a time"),  # past datetime's year 9999
        ("1", "nan", "116.4", "Location_X is not a coordinate"),
        ("1", "39.9", "-inf", "Location_Y is not a coordinate"),
        ("1", "1e999", "116.4", "Location_X is not a coordinate"),
        ("1", "91", "116.4", "Location_X is not a coordinate"),
        ("1", "39.9", "180.5", "Location_Y is not a coordinate"),
    ],
)
def test_a_signed_push_with_an_impossible_time_or_place_is_a_clear_422(
    created: str, x: str, y: str, refusal: str
) -> None:
    """Correctly signed, so only the message's own fields can refuse it: never an exception the app answers 500."""
    account = callback.Account(token=TOKEN, cipher=None)
    body = LOCATION.format(created=created, x=x, y=y, scale="NaN").encode()
    with pytest.raises(UnreadableMessage, match=refusal) as refused:
        callback.open_push(account, signed_query(TOKEN), body)
    assert refused.value.status == 422


def test_the_last_time_a_datetime_holds_reads_and_scale_is_not_read() -> None:
    message = read_message(LOCATION.format(created="253402300799", x="-90", y="180", scale="1e999").encode())
    assert (message.created, message.latitude, message.longitude) == (253402300799, -90.0, 180.0)


def test_a_signature_over_a_huge_timestamp_is_refused_as_stale() -> None:
    stamp = "9" * 5000
    query = {"timestamp": stamp, "nonce": "42", "signature": signature.sign(TOKEN, stamp, "42")}
    with pytest.raises(signature.SignatureRefused, match="stale"):
        signature.check(TOKEN, query)
