"""The WeChat users of the WeChat API stand-in: a customer writing to the official account, pushed to the account's
server URL the way WeChat pushes it — in plaintext mode signed with `signature`, or in safe mode encrypted
(WXBizMsgCrypt: AES-256-CBC with the EncodingAESKey, PKCS#7 to 32-byte blocks, the AppID appended) and signed with
`msg_signature`. A stand-in, not WeChat: it is the other side the channels service's callback is tested against.

Its cryptography is written apart from the channels service's (`cryptography`'s own PKCS7(256) padder here, a
hand-written one there), so a test through it checks two readings of WeChat's documentation against each other.
It also checks the passive reply as WeChat would: in safe mode the `MsgSignature` over the reply's `Encrypt`, the
AppID inside; and it measures how long the server took (WeChat gives up after 5 seconds).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: Base64 of "devonly-wechat-aes-key-32-bytes!" without its "=": the dev EncodingAESKey of `make run`.
DEV_ENCODING_AES_KEY = "ZGV2b25seS13ZWNoYXQtYWVzLWtleS0zMi1ieXRlcyE"
DEV_SERVER_TOKEN = "dev-only-wechat-token"  # noqa: S105 - the issue's dev Token
#: A user's photo: a 1x1 PNG.
PICTURE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's algorithm


@dataclass(frozen=True)
class SafeMode:
    """The account's EncodingAESKey and AppID, as WeChat's side of safe mode holds them."""

    encoding_aes_key: str
    app_id: str

    @property
    def key(self) -> bytes:
        return base64.b64decode(self.encoding_aes_key + "=")

    def seal(self, message: bytes) -> str:
        padder = padding.PKCS7(256).padder()
        framed = secrets.token_bytes(16) + struct.pack("!I", len(message)) + message + self.app_id.encode()
        padded = padder.update(framed) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()

    def open(self, encrypted: str) -> tuple[bytes, str]:
        """The message and the AppID it was sealed for."""
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        padded = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
        unpadder = padding.PKCS7(256).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        (length,) = struct.unpack("!I", plain[16:20])
        return plain[20 : 20 + length], plain[20 + length :].decode()


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(account: str, openid: str, msg_id: str, body: dict[str, Any]) -> str:
    """A user's message as WeChat pushes it: `text` (content), `voice` (recognition), `image` (pic_url),
    `location` (latitude, longitude, label)."""
    kind = str(body.get("msg_type", "text"))
    fields = {
        "text": f"<Content>{_cdata(str(body.get('content', '')))}</Content>",
        "voice": f"<MediaId>{_cdata('media-' + msg_id)}</MediaId><Format>{_cdata('amr')}</Format>"
        f"<Recognition>{_cdata(str(body.get('recognition', '')))}</Recognition>",
        "image": f"<PicUrl>{_cdata(str(body.get('pic_url', '')))}</PicUrl>"
        f"<MediaId>{_cdata('media-' + msg_id)}</MediaId>",
        "location": f"<Location_X>{float(body.get('latitude', 0))}</Location_X>"
        f"<Location_Y>{float(body.get('longitude', 0))}</Location_Y><Scale>15</Scale>"
        f"<Label>{_cdata(str(body.get('label', '')))}</Label>",
    }[kind]
    return (
        f"<xml><ToUserName>{_cdata(account)}</ToUserName><FromUserName>{_cdata(openid)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{_cdata(kind)}</MsgType>{fields}"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


async def push(
    client: httpx.AsyncClient, url: str, token: str, xml: str, openid: str, safe: SafeMode | None
) -> dict[str, Any]:
    """Push one message and read the answer as WeChat would; the outcome for the test: status, the reply's XML (in
    safe mode decrypted, with `reply_signature_ok` and `reply_app_id`), and the seconds it took."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    query = {"signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": openid}
    content = xml
    if safe is not None:
        encrypted = safe.seal(xml.encode())
        query |= {"encrypt_type": "aes", "msg_signature": signature(token, timestamp, nonce, encrypted)}
        content = (
            f"<xml><ToUserName>{_cdata(_account_of(xml))}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
        )
    started = time.monotonic()
    response = await client.post(url, params=query, content=content.encode(), headers={"Content-Type": "text/xml"})
    outcome: dict[str, Any] = {
        "status": response.status_code,
        "elapsed_s": round(time.monotonic() - started, 4),
        "reply": response.text,
    }
    if safe is not None and response.status_code == 200 and response.text.startswith("<xml>"):
        outcome |= _open_reply(response.text, token, safe)
    return outcome


def _account_of(xml: str) -> str:
    return ElementTree.fromstring(xml).findtext("ToUserName") or ""  # noqa: S314 - our own XML


def _open_reply(text: str, token: str, safe: SafeMode) -> dict[str, Any]:
    root = ElementTree.fromstring(text)  # noqa: S314 - the server under test answers; no DTD is expanded by expat
    encrypted = root.findtext("Encrypt") or ""
    stamp, nonce = root.findtext("TimeStamp") or "", root.findtext("Nonce") or ""
    reply, app_id = safe.open(encrypted)
    return {
        "reply": reply.decode(),
        "reply_signature_ok": signature(token, stamp, nonce, encrypted) == (root.findtext("MsgSignature") or ""),
        "reply_app_id": app_id,
    }
