"""Writes per credential, on every service: past `WRITE_RATE_LIMIT_PER_CREDENTIAL` writes (POST, PUT, PATCH,
DELETE) a minute by one key or token, 429 with `Retry-After`.

Why on every service: many writes make the platform send a message (an outage notice texts every caller, a
resolved work order texts its customer, a callback outcome may text a survey) or fill a queue others must work
through; one leaked key must not be a pump. Notify's ceiling per number (`NOTIFY_NUMBER_DAILY_LIMIT`) bounds what
reaches one person whatever the path; this bounds what one credential can ask for. Only requests carrying a
credential count (a hash of it, never the key): vendors' callbacks and the customer's status page have no key and
their own guards (signatures, `services/channels/status/limiter.py`). Unset, 600 a minute outside dev/test and none
in dev and test; 0: none. Given the service's schema, the count is shared by its replicas through Postgres
(`shared.http.rate_counts`: counted in the process, synced in the background every `RATE_LIMIT_SYNC_SECONDS` by the
app's lifespan, never a round trip on the request); without one, per process.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.problems import PROBLEM_JSON
from shared.http.rate_counts import RateCounts, SharedLimit

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The limit's name in `rate_limit_counts`.
SCOPE = "writes per credential"


class WriteLimits:
    """ASGI middleware; the limit is read from the app's settings (`write_limit_per_minute`) at the first write and
    registered with the app's `RateCounts` (`app.state.rate_counts`, which syncs it; absent: counted per process)."""

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.time) -> None:
        self.app, self.clock = app, clock
        self._window: SharedLimit | None = None
        self._limit: int | None = None

    def _window_for(self, state: object) -> SharedLimit | None:
        if self._limit is None:
            self._limit = int(getattr(getattr(state, "settings", None), "write_limit_per_minute", 0) or 0)
            if self._limit:
                counts = getattr(state, "rate_counts", None) or RateCounts(None)
                self._window = counts.limit(SCOPE, self._limit, 60, wall=self.clock, monotonic=time.monotonic)
        return self._window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        credential = headers.get(b"authorization") or headers.get(b"x-api-key")
        window = self._window_for(scope["app"].state) if credential else None
        if credential is None or window is None:
            await self.app(scope, receive, send)
            return
        verdict = window.hit(hashlib.sha256(credential).hexdigest())
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        detail = f"writes per credential per minute: retry in {verdict.retry_after_s} s"
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Too Many Requests",
                "status": 429,
                "detail": detail,
                "instance": scope["path"],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(verdict.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
