"""WeChat's safe mode (安全模式): the message encryption of its WXBizMsgCrypt library, byte for byte.

From WeChat's "消息加解密说明" and its reference implementations:
- the key: `AESKey = Base64_Decode(EncodingAESKey + "=")`: the 43-character EncodingAESKey of the server settings
  is 32 bytes, so AES-256; the IV is the key's first 16 bytes; CBC mode.
- the plaintext: `random(16 bytes) + msg_len (4 bytes, network byte order) + msg + appid`, padded with PKCS#7 to
  a multiple of **32** bytes (not AES's 16: WeChat's own choice, and a padding of 17…32 must be read too).
- the result: Base64 of the ciphertext, carried in `<Encrypt>` and signed by `msg_signature`.
- on decryption the trailing appid must be our AppID (WXBizMsgCrypt's `ValidateAppid_Error`, -40005): a message
  encrypted for another account with the same key is refused.

Why our own code and not the SDK: the SDK is not on PyPI as a maintained package, pins PyCrypto, and is 150 lines;
`cryptography` (already here through PyJWT) gives AES-CBC, and the framing is what this module is.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.errors import Forbidden

#: WeChat pads to 32-byte blocks (PKCS#7 with k = 32).
BLOCK = 32
_RANDOM = 16
_LENGTH = struct.Struct(">I")


class DecryptionRefused(Forbidden):
    """The `Encrypt` text is not ours: bad Base64, a wrong key, broken padding or framing, another AppID. Answered
    403 like a bad signature: whoever sent it does not hold our key."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-character EncodingAESKey; a key of any other shape is a configuration error."""
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey is not Base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


class MessageCipher:
    """Encrypts our replies and decrypts WeChat's pushes for one official account (AppID and EncodingAESKey)."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        self._key = aes_key(encoding_aes_key)
        self._app_id = app_id.encode()

    def encrypt(self, message: bytes, *, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(_RANDOM)
        if len(prefix) != _RANDOM:
            raise ValueError("the random prefix is 16 bytes")
        plain = prefix + _LENGTH.pack(len(message)) + message + self._app_id
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

    def decrypt(self, encrypted: str) -> bytes:
        try:
            sealed = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptionRefused("Encrypt is not Base64") from exc
        if not sealed or len(sealed) % 16:
            raise DecryptionRefused("Encrypt is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(sealed) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptionRefused("bad padding: wrong EncodingAESKey?")
        content = plain[_RANDOM:-pad]
        if len(content) < _LENGTH.size:
            raise DecryptionRefused("too short for WeChat's framing")
        (length,) = _LENGTH.unpack_from(content)
        message, app_id = content[_LENGTH.size : _LENGTH.size + length], content[_LENGTH.size + length :]
        if len(message) != length:
            raise DecryptionRefused("the message length does not fit")
        if app_id != self._app_id:
            raise DecryptionRefused("encrypted for another AppID")
        return message

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))
