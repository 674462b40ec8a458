"""WeChat's two callback signatures, exactly as the official account's documentation defines them.

- `signature` (接入概述, "验证消息的确来自微信服务器"): sha1 over the lexicographically sorted, concatenated Token,
  `timestamp` and `nonce`. It signs the server-URL check (`GET` with `echostr`) and every push in plaintext mode.
- `msg_signature` (消息加解密, WXBizMsgCrypt): sha1 over the sorted Token, `timestamp`, `nonce` and the `Encrypt`
  text itself. In safe mode it is what binds the encrypted body to the Token; the plain `signature` is sent too,
  but it does not cover the body.

Both are checked in constant time, and a timestamp more than 5 minutes away from our clock is refused, so a
captured push cannot be replayed later (WeChat retries within 15 s; nothing it sends honestly is that old).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from shared.errors import Forbidden

#: How far a push's timestamp may be from our clock, either way.
MAX_AGE_S = 300
#: A timestamp (Unix seconds) longer than this is no time of ours (9999-12-31 has 12 digits).
MAX_TIMESTAMP_DIGITS = 12


class SignatureRefused(Forbidden):
    """The caller is not WeChat (or not our account): a missing, wrong or stale signature. Answered 403."""


def sign(token: str, timestamp: str, nonce: str, encrypted: str | None = None) -> str:
    """`signature` (three parts) or `msg_signature` (four, with the `Encrypt` text)."""
    parts = [token, timestamp, nonce] + ([encrypted] if encrypted is not None else [])
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's algorithm


def check(token: str, query: Mapping[str, str], *, encrypted: str | None = None, now: float | None = None) -> None:
    """Raise `SignatureRefused` unless `query` is signed by `token`: `msg_signature` over `encrypted` when given
    (safe mode), else the plain `signature`."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    name = "msg_signature" if encrypted is not None else "signature"
    given = query.get(name, "")
    if not (given and timestamp and nonce):
        raise SignatureRefused(f"{name}, timestamp and nonce are required")
    if not hmac.compare_digest(sign(token, timestamp, nonce, encrypted), given.lower()):
        raise SignatureRefused(f"{name} does not match")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureRefused("timestamp is not a number")
    if len(timestamp) > MAX_TIMESTAMP_DIGITS:  # never read as an int: Python refuses over 4300 digits (a 500)
        raise SignatureRefused("timestamp is stale")
    if abs(int(now if now is not None else time.time()) - int(timestamp)) > MAX_AGE_S:
        raise SignatureRefused("timestamp is stale")
