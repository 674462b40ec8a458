"""`Idempotency-Key` on a service's POSTs: a retried request with the same key has one effect, and its answer is
the first one's again (`Idempotent-Replayed: true`).

Why a middleware and a table, not each use case: dispatch's and followup's POSTs (notes, corrective actions,
outage notices, callback outcomes, …) are many, and a client that timed out cannot tell whether its request
took effect; the key makes the retry safe for all of them at once. The key belongs to the credential that sent it
(a hash of the presented key or token), so one caller can never replay another's answer.

How, per (credential, key), in the service's own schema (`idempotency_keys`, one migration per service):
- the first request *reserves* the key (an insert that only one of two racing requests wins), runs, and stores
  its answer — a 5xx, 401, 408 or 429 answer, or a crash, releases the key instead, so the retry runs again;
- a retry with the same method, path and body gets the stored answer; with another body, 422 naming the header
  (the caller's bug, as at intake); while the first is still running, 409 with Retry-After;
- a reservation whose process died is taken over after `lease_s`; answers are kept `keep_hours` (24) and then
  the key may be used afresh.
What remains: the effect and the stored answer commit separately, so a process killed between the two leaves a
reservation that a retry takes over after the lease and runs again — the use cases' own checks (a step its status
no longer allows is 409) are the guard then.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import asyncpg
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import PROBLEM_JSON, problem_responses

HEADER = b"idempotency-key"
_KEY = re.compile(rb"^[\x21-\x7e]{1,128}$")
_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Bodies larger than this (photo uploads) are passed through unkeyed: their answer is not worth storing.
MAX_BODY = 256 * 1024
_KEPT_HEADERS = frozenset({b"content-type", b"location"})
#: Answers that say "not now" rather than what the request did: the key is released, a retry runs.
_RELEASED = frozenset({401, 408, 429})


#: How the header reads in the OpenAPI document of every POST, PUT and PATCH the middleware honours.
PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: a request repeated with the same key (by the same credential) has one effect. "
        "The same key and same method, path and body: the first request's answer again, with `Idempotent-Replayed: "
        "true` (answers 5xx, 401, 408 and 429 are not kept: the retry runs afresh). The same key, another body: 422 "
        "naming the header. While the first request with the key is still being handled: 409 with Retry-After. "
        "1-128 printable ASCII characters (a UUID will do); kept 24 hours. Bodies over 256 KiB (photos, files) "
        "are handled unkeyed."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
}
_STILL_RUNNING = "A request with this Idempotency-Key is still being handled; retry after the Retry-After seconds"


def document_idempotency_key(app: FastAPI) -> None:
    """Add the `Idempotency-Key` header (and the 409 of a retry racing its first request) to the OpenAPI document
    of each operation the middleware honours, so integrators learn the retry contract where they read the API."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if method.upper() in _METHODS:
                    _document(operation)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
        parameters.append(dict(PARAMETER))
    responses = operation.setdefault("responses", {})
    if "409" not in responses:
        responses["409"] = problem_responses(409, s409=_STILL_RUNNING)[409]


class IdempotencyKeys:
    """ASGI middleware; `app.state.pool` (set by the service's lifespan) holds the table `<schema>.idempotency_keys`."""

    def __init__(self, app: ASGIApp, *, schema: str, lease_s: int = 60, keep_hours: int = 24) -> None:
        self.app, self.table = app, f'"{schema}".idempotency_keys'
        self.lease_s, self.keep_hours = lease_s, keep_hours

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        key = headers.get(HEADER)
        declared = headers.get(b"content-length", b"0")
        if key is None or scope["method"] not in _METHODS or not declared.isdigit() or int(declared) > MAX_BODY:
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            await _problem(send, scope, 422, "Invalid request", "Idempotency-Key: 1-128 printable ASCII characters")
            return
        body, more = await _read_body(receive)
        if len(body) > MAX_BODY:
            await _problem(send, scope, 413, "Content Too Large", f"a keyed request's body exceeds {MAX_BODY} bytes")
            return
        caller = hashlib.sha256(headers.get(b"authorization") or headers.get(b"x-api-key") or b"").hexdigest()
        request = hashlib.sha256(b"\n".join([scope["method"].encode(), scope["path"].encode(), body])).hexdigest()
        pool: asyncpg.Pool = scope["app"].state.pool
        row = await self._reserve(pool, caller, key.decode(), request)
        if row is not None:
            await self._answer_retry(row, request, scope, send)
            return
        await self._run(pool, (caller, key.decode()), scope, _replay(body, more, receive), send)

    async def _reserve(self, pool: asyncpg.Pool, caller: str, key: str, request: str) -> asyncpg.Record | None:
        """None when this request holds the key now (new, expired or abandoned); else the row of the one that does.

        Two statements, not one: a racing request's insert, committed while ours waited on it, is visible only to
        a statement that starts after it (read committed)."""
        for _ in range(3):
            taken = await pool.fetchval(
                f"INSERT INTO {self.table} AS k (caller, key, request, locked_until) "
                "VALUES ($1, $2, $3, now() + make_interval(secs => $4)) "
                "ON CONFLICT (caller, key) DO UPDATE SET request = EXCLUDED.request, status = NULL, body = NULL, "
                "headers = NULL, created_at = now(), locked_until = EXCLUDED.locked_until "
                "WHERE k.created_at < now() - make_interval(hours => $5) "
                "OR (k.status IS NULL AND k.locked_until < now()) RETURNING true",
                caller,
                key,
                request,
                self.lease_s,
                self.keep_hours,
            )
            if taken:
                return None
            row = await pool.fetchrow(
                f"SELECT request, status, headers, body FROM {self.table} WHERE caller = $1 AND key = $2", caller, key
            )
            if row is not None:
                return row
            # The holder failed and released the key between our two statements: try again.
        raise RuntimeError("Idempotency-Key: could not reserve nor read the key")

    async def _answer_retry(self, row: asyncpg.Record, request: str, scope: Scope, send: Send) -> None:
        if row["request"] != request:
            await _problem(
                send, scope, 422, "Idempotency-Key reused", "this Idempotency-Key was used for a different request"
            )
        elif row["status"] is None:
            detail = "a request with this Idempotency-Key is still being handled"
            await _problem(send, scope, 409, "Conflict", detail, retry_after=1)
        else:
            stored = [(k.encode(), v.encode()) for k, v in json.loads(row["headers"])]
            await send(
                {
                    "type": "http.response.start",
                    "status": row["status"],
                    "headers": [
                        *stored,
                        (b"idempotent-replayed", b"true"),
                        (b"content-length", str(len(row["body"])).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": bytes(row["body"])})

    async def _run(self, pool: asyncpg.Pool, held: tuple[str, str], scope: Scope, receive: Receive, send: Send) -> None:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def keeping(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, keeping)
        except BaseException:
            await pool.execute(f"DELETE FROM {self.table} WHERE caller = $1 AND key = $2", *held)
            raise
        status = int(started.get("status", 500))
        if status >= 500 or status in _RELEASED:
            await pool.execute(f"DELETE FROM {self.table} WHERE caller = $1 AND key = $2", *held)
            return
        kept = [(k.decode(), v.decode()) for k, v in started.get("headers", []) if k.lower() in _KEPT_HEADERS]
        await pool.execute(
            f"UPDATE {self.table} SET status = $3, headers = $4, body = $5 WHERE caller = $1 AND key = $2",
            *held,
            status,
            json.dumps(kept),
            b"".join(chunks),
        )
        await pool.execute(
            f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {self.table} "
            "WHERE created_at < now() - make_interval(hours => $1) LIMIT 100))",
            self.keep_hours,
        )


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body (read no further than just past MAX_BODY), and whether the client disconnected."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts), True
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if not message.get("more_body", False) or size > MAX_BODY:
            return b"".join(parts), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """A `receive` giving the body already read, then what the client sends next (its disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return again


async def _problem(
    send: Send, scope: Scope, status: int, title: str, detail: str, *, retry_after: int | None = None
) -> None:
    payload: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    payload["instance"] = scope.get("path", "")
    if status == 422:
        payload["errors"] = [{"field": "Idempotency-Key", "message": detail}]
    body = json.dumps(payload).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
