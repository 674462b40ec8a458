"""The partner hotlines' ticket feedback API, as the utility agreed it with 12345 and 95598: one signed JSON call
per state (`embedded/standins/hotline_partner.py` plays the hotline in tests and `make run`).

`POST <CHANNELS_PARTNER_<partner>_URL>` with the push's body (`pushes.wire_body`) and the headers `X-App-Key`,
`X-Timestamp` (Unix seconds), `X-Nonce` (fresh per call), `X-Signature` (hex HMAC-SHA256 with the secret over
`app_key \\n timestamp \\n nonce \\n hex SHA-256(body)`) and `Idempotency-Key` (the push's id: the hotline records a
state once however often it is sent). Every outcome is an `Answer` — no answer at all included — never an
exception: what to do with it is `pushes.after_attempt`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from types import TracebackType

import httpx

from services.channels.pushes import Answer, Push, wire_body


def signature(secret: str, app_key: str, timestamp: str, nonce: str, body: bytes) -> str:
    text = f"{app_key}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class PartnerClient:
    """Sends pushes to the configured hotlines (partner → (URL, app key, secret))."""

    def __init__(self, endpoints: Mapping[str, tuple[str, str, str]], *, timeout_s: float) -> None:
        self.endpoints = dict(endpoints)
        self._http = httpx.AsyncClient(timeout=timeout_s)

    async def __aenter__(self) -> PartnerClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._http.aclose()

    def request(self, push: Push) -> tuple[str, dict[str, str], bytes]:
        """The URL, headers and body of one attempt (a fresh timestamp and nonce each time)."""
        url, app_key, secret = self.endpoints[push.partner]
        body = json.dumps(wire_body(push), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Key": app_key,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature(secret, app_key, timestamp, nonce, body),
            "Idempotency-Key": str(push.push_id),
        }
        return url, headers, body

    async def send(self, push: Push) -> Answer:
        url, headers, body = self.request(push)
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return Answer(None, error=f"{type(error).__name__}: {error}"[:300])
        return Answer(response.status_code, response.text)
