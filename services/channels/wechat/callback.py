"""One push to the server URL, end to end of the protocol: check who sent it, open it (safe mode), read it; and
seal our answer the way it came (a safe-mode push gets an encrypted, signed reply).

Pure: no I/O. The route calls `open_push` before anything is stored, so a push that fails here leaves no trace.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from services.channels.settings import ChannelsSettings
from services.channels.wechat import signature
from services.channels.wechat.crypto import MessageCipher
from services.channels.wechat.messages import (
    UnreadableMessage,
    WechatMessage,
    encrypted_reply,
    read_envelope,
    read_message,
)


@dataclass(frozen=True)
class Account:
    """The official account's server settings: Token, and the cipher of its EncodingAESKey (None: plaintext)."""

    token: str
    cipher: MessageCipher | None

    @classmethod
    def from_settings(cls, settings: ChannelsSettings) -> Account:
        key = settings.wechat_aes_key
        return cls(settings.wechat_token, MessageCipher(key, settings.wechat_app_id) if key else None)


@dataclass(frozen=True)
class Push:
    message: WechatMessage
    #: The push came in safe mode: our answer must be encrypted too.
    safe: bool
    #: The XML as WeChat meant it (decrypted in safe mode): what is stored as the raw message.
    xml: bytes


def verify_url(account: Account, query: Mapping[str, str], now: float | None = None) -> str:
    """The server-URL check (`GET`): a valid `signature` is answered with `echostr`, as is."""
    _configured(account)
    signature.check(account.token, query, now=now)
    echo = query.get("echostr", "")
    if not echo:
        raise UnreadableMessage("echostr is required", field="echostr")
    return echo


def open_push(account: Account, query: Mapping[str, str], body: bytes, now: float | None = None) -> Push:
    """Check and read one push. `encrypt_type=aes` is safe mode: `msg_signature` over `<Encrypt>`, then AES.
    Otherwise plaintext mode and its `signature`. Both are read while a key is set: a change of mode on WeChat's
    console takes effect at once, and pushes already in flight (retries) still come the old way."""
    _configured(account)
    if query.get("encrypt_type", "raw") == "aes":
        if account.cipher is None:
            raise UnreadableMessage("safe mode is not configured (no EncodingAESKey)", field="encrypt_type")
        encrypted = read_envelope(body)
        signature.check(account.token, query, encrypted=encrypted, now=now)
        xml = account.cipher.decrypt(encrypted)
        return Push(message=read_message(xml), safe=True, xml=xml)
    signature.check(account.token, query, now=now)
    return Push(message=read_message(body), safe=False, xml=body)


def _configured(account: Account) -> None:
    """Without a Token anybody could sign (sha1 over an empty Token is no secret): WeChat is off, everything refused."""
    if not account.token:
        raise signature.SignatureRefused("WeChat is not configured here (WECHAT_CALLBACK_TOKEN)")


def seal(account: Account, push: Push, reply_xml: str, now: float | None = None) -> str:
    """Our passive reply as WeChat expects it: as is in plaintext mode; encrypted and signed in safe mode."""
    if not push.safe or account.cipher is None:
        return reply_xml
    timestamp, nonce = str(int(now if now is not None else time.time())), str(secrets.randbelow(10**10))
    encrypted = account.cipher.encrypt(reply_xml.encode())
    return encrypted_reply(encrypted, signature.sign(account.token, timestamp, nonce, encrypted), timestamp, nonce)
