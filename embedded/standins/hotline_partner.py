"""A stand-in for a partner hotline's ticket feedback API (the city's 12345 platform, State Grid's 95598): where the
utility tells the hotline what became of a ticket it handed over — 签收, 退单, 延期, 办结, 回访 — so the hotline's
own clock and callback see it. A stand-in: the real platforms cannot be reached from here.

There is no one national interface: each 12345 platform and 95598 publishes its own 工单反馈接口 to the units it
hands tickets to, all of the same shape — one signed JSON call per state, an idempotency key, a result code. This
stand-in speaks the shape the utility agreed with both hotlines (`services/channels/partners/client.py` sends it):

- `POST /{partner}/ticket-feedback` (`partner`: `12345` or `95598`), JSON body `{"ticket_id", "action", "seq",
  "occurred_at", "reference_no", ...}` with `action` one of `accept` (签收), `return` (退单: `reason`), `extend` (延期:
  `reason`, `new_deadline`), `reply` (办结: `resolution`, `department`), `visit` (回访: `result` satisfied /
  dissatisfied / unreachable, optional `scores`, `method`).
- Headers: `X-App-Key` (the unit's key at that hotline), `X-Timestamp` (Unix seconds, within 300 s), `X-Nonce`
  (not reused within 10 minutes), `X-Signature` = hex HMAC-SHA256 with the unit's secret over
  `app_key \\n timestamp \\n nonce \\n hex SHA-256(body)`, and `Idempotency-Key` (a UUID).
- Answers: HTTP 200 `{"code": 0, "message": "成功", "receipt_id"}`; the same `Idempotency-Key` again (same body)
  answers the first answer with `"duplicate": true` and records nothing new; HTTP 401 code 1001 (signature, key,
  timestamp or nonce), HTTP 400 code 1004 (a field missing or wrong), HTTP 409 code 1005 (a key reused for another
  body), HTTP 200 code 1003 when the state is out of order for the ticket, HTTP 503 code 5000 while down.
- Order per ticket: `accept` or `return` first; after `accept`: `extend`, `reply` or `return`; after `reply`:
  `visit`; after `visit`: `reply` again (a reopened case); nothing after `return`. `seq` must grow per ticket.

Environment: `HOTLINE_PARTNER_STANDIN_KEYS` (JSON partner → {app_key: secret}; default the dev keys below).

Controls (`/_standin/`, not the hotline's): `GET messages` (every state accepted, in order: partner, ticket, action,
body, idempotency key, receipt id), `GET attempts` (every call and its answer, refusals included), `POST faults`
with `{"down_for_s": 60}` (every call answers 503), `{"refuse_codes": {"<ticket_id>": 1003}}` (that ticket's calls
are refused with the code), `{"reset": true}`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from embedded.standins.serving import Received, parse_args, serve

NAME = "hotline_partner"
DEV_KEYS: dict[str, dict[str, str]] = {
    "12345": {"dev-only-12345-app-key": "dev-only-12345-secret"},
    "95598": {"dev-only-95598-app-key": "dev-only-95598-secret"},
}
MAX_SKEW_S = 300
NONCE_TTL_S = 600
ACTIONS = ("accept", "return", "extend", "reply", "visit")
#: What may follow each state of a ticket (None: nothing told yet).
NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"accept", "return"}),
    "accept": frozenset({"extend", "reply", "return"}),
    "extend": frozenset({"extend", "reply", "return"}),
    "reply": frozenset({"visit"}),
    "visit": frozenset({"reply"}),
    "return": frozenset(),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "accept": (),
    "return": ("reason",),
    "extend": ("reason", "new_deadline"),
    "reply": ("resolution",),
    "visit": ("result",),
}
VISIT_RESULTS = frozenset({"satisfied", "dissatisfied", "unreachable"})


class Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sign(secret: str, app_key: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The signature the hotline checks (the sender computes the same)."""
    text = f"{app_key}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _aware(value: Any, name: str) -> None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise Refusal(400, 1004, f"{name} 不是时间: {value!r}") from error
    if parsed.tzinfo is None:
        raise Refusal(400, 1004, f"{name} 缺少时区")


def check_body(body: Any) -> dict[str, Any]:
    """The fields every state needs and the ones its action needs."""
    if not isinstance(body, dict):
        raise Refusal(400, 1004, "body must be a JSON object")
    for name in ("ticket_id", "action", "seq", "occurred_at", "reference_no"):
        if body.get(name) in (None, ""):
            raise Refusal(400, 1004, f"缺少字段 {name}")
    if body["action"] not in ACTIONS:
        raise Refusal(400, 1004, f"未知操作 {body['action']!r}")
    if not isinstance(body["seq"], int):
        raise Refusal(400, 1004, "seq 必须是整数")
    _aware(body["occurred_at"], "occurred_at")
    for name in REQUIRED[body["action"]]:
        if not str(body.get(name) or "").strip():
            raise Refusal(400, 1004, f"缺少字段 {name}")
    if body["action"] == "extend":
        _aware(body["new_deadline"], "new_deadline")
    if body["action"] == "visit" and body["result"] not in VISIT_RESULTS:
        raise Refusal(400, 1004, f"回访结果无效 {body['result']!r}")
    return body


class Hotline:
    """The hotlines' side: keys, nonces seen, tickets' states, answers by idempotency key, faults."""

    def __init__(self, keys: Mapping[str, Mapping[str, str]], received: Received) -> None:
        self.keys = {partner: dict(pairs) for partner, pairs in keys.items()}
        self.received = received
        self.attempts: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        self.down_until = 0.0
        self.refuse_codes: dict[str, int] = {}
        self.nonces: dict[str, float] = {}
        self.tickets: dict[tuple[str, str], tuple[str, int]] = {}  # (partner, ticket) -> (last action, last seq)
        self.answers: dict[str, tuple[str, dict[str, Any]]] = {}  # idempotency key -> (body hash, answer)
        self.receipts = itertools.count(1)

    def authenticate(self, partner: str, headers: Mapping[str, str], raw: bytes) -> str:
        keys = self.keys.get(partner)
        if keys is None:
            raise Refusal(404, 1002, f"unknown hotline {partner!r}")
        app_key, timestamp = headers.get("x-app-key", ""), headers.get("x-timestamp", "")
        nonce, signature = headers.get("x-nonce", ""), headers.get("x-signature", "")
        secret = keys.get(app_key)
        if secret is None:
            raise Refusal(401, 1001, "unknown X-App-Key")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
            raise Refusal(401, 1001, "X-Timestamp missing or more than 300 s off")
        if not hmac.compare_digest(sign(secret, app_key, timestamp, nonce, raw), signature):
            raise Refusal(401, 1001, "X-Signature does not match")
        now = time.monotonic()
        self.nonces = {n: t for n, t in self.nonces.items() if now - t < NONCE_TTL_S}
        if not nonce or nonce in self.nonces:
            raise Refusal(401, 1001, "X-Nonce missing or used before")
        self.nonces[nonce] = now
        return app_key

    def take(self, partner: str, headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
        """One call: the answer's JSON (a refusal raises)."""
        if time.monotonic() < self.down_until:
            raise Refusal(503, 5000, "系统维护中")
        app_key = self.authenticate(partner, headers, raw)
        key = headers.get("idempotency-key", "")
        try:
            uuid.UUID(key)
        except ValueError as error:
            raise Refusal(400, 1004, "Idempotency-Key must be a UUID") from error
        digest = hashlib.sha256(raw).hexdigest()
        if key in self.answers:
            first_digest, first = self.answers[key]
            if first_digest != digest:
                raise Refusal(409, 1005, "Idempotency-Key used for another body")
            return {**first, "duplicate": True}
        try:
            body = check_body(json.loads(raw or b"null"))
        except ValueError as error:
            raise Refusal(400, 1004, "body is not JSON") from error
        ticket = (partner, str(body["ticket_id"]))
        if body["ticket_id"] in self.refuse_codes:
            raise Refusal(200, self.refuse_codes[body["ticket_id"]], "工单不存在或已关闭")
        last, last_seq = self.tickets.get(ticket, (None, 0))
        if body["action"] not in NEXT[last] or body["seq"] <= last_seq:
            raise Refusal(200, 1003, f"工单状态不允许此操作: {last} -> {body['action']} (seq {body['seq']})")
        self.tickets[ticket] = (body["action"], body["seq"])
        answer = {"code": 0, "message": "成功", "receipt_id": f"HX-{partner}-{next(self.receipts):06d}"}
        self.answers[key] = (digest, answer)
        self.received.add(
            {
                "partner": partner,
                "app_key": app_key,
                "ticket_id": body["ticket_id"],
                "action": body["action"],
                "body": body,
                "idempotency_key": key,
                "receipt_id": answer["receipt_id"],
            }
        )
        return answer

    def faults(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("reset"):
            self.reset()
        if "down_for_s" in body:
            self.down_until = time.monotonic() + float(body["down_for_s"])
        self.refuse_codes.update({str(k): int(v) for k, v in (body.get("refuse_codes") or {}).items()})
        return {"down_for_s": max(0.0, round(self.down_until - time.monotonic(), 3)), "refuse_codes": self.refuse_codes}


def create_app(environ: Mapping[str, str] | None = None, received: Received | None = None) -> FastAPI:
    environ = os.environ if environ is None else environ
    keys = json.loads(environ.get("HOTLINE_PARTNER_STANDIN_KEYS") or "null") or DEV_KEYS
    hotline = Hotline(keys, received or Received(NAME, None))
    app = FastAPI(title="12345 / 95598 ticket feedback stand-in")

    @app.post("/{partner}/ticket-feedback")
    async def feedback(partner: str, request: Request) -> JSONResponse:
        raw = await request.body()
        headers = {name: request.headers[name] for name in request.headers}
        try:
            status, answer = 200, hotline.take(partner, headers, raw)
        except Refusal as refusal:
            status, answer = refusal.status, {"code": refusal.code, "message": refusal.message}
        hotline.attempts.append(
            {"partner": partner, "idempotency_key": headers.get("idempotency-key"), "status": status, **answer}
        )
        return JSONResponse(answer, status_code=status)

    @app.get("/_standin/messages")
    async def messages() -> list[dict[str, Any]]:
        return hotline.received.items

    @app.get("/_standin/attempts")
    async def attempts() -> list[dict[str, Any]]:
        return hotline.attempts

    @app.post("/_standin/faults")
    async def faults(request: Request) -> JSONResponse:
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "a JSON object"}, status_code=422)
        return JSONResponse(hotline.faults(body))

    return app


def main() -> None:
    args = parse_args(NAME)
    serve(create_app(received=Received(NAME, args.data_dir)), NAME, args)


if __name__ == "__main__":
    main()
