"""A stand-in for WeChat's official-account API (api.weixin.qq.com): access tokens, template messages, and the
`TEMPLATESENDJOBFINISH` events pushed back to the account's server URL.

Followed (developers.weixin.qq.com, 服务号 docs):
- `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=` (getAccessToken): every call issues a new token
  and the previous one stays usable for 5 more minutes; `POST /cgi-bin/stable_token` (getStableAccessToken): isolated
  from the former; normal mode hands back the current token while it has more than 5 minutes to live (WeChat renews
  it 5 minutes early), `force_refresh: true` replaces it. Answers `{"access_token", "expires_in"}`, or an error:
  40013 invalid appid, 40125 invalid appsecret, 40002 invalid grant_type.
- `POST /cgi-bin/message/template/send?access_token=` (sendTemplateMessage): 41001 access_token missing, 40001
  invalid credential, 42001 access_token expired, 40003 invalid openid, 43004 require subscribe, 40037 invalid
  template_id; success is `{"errcode": 0, "errmsg": "ok", "msgid": N}`. `client_msg_id`: "对于同一个openid +
  client_msg_id, 只发送一条消息, 10分钟有效": a repeat within 10 minutes sends nothing. What WeChat answers to the
  repeat is not documented for template messages; this stand-in answers success with the first message's `msgid`
  (as the mass-send API's 45065 "clientmsgid exist" carries the existing msg_id).
- `POST /cgi-bin/message/custom/send?access_token=` (客服消息, sendCustomMessage): `touser`, `msgtype` (`text`
  with `text.content`; other types 40008 here), to a user who wrote to the account within the last 48 hours, else
  45015 "response out of time limit or subscription is canceled"; success is `{"errcode": 0, "errmsg": "ok"}` (no
  msgid, no job-finish event).
- errors are HTTP 200 with `errcode`/`errmsg`; "system busy" is `-1` (the global return codes).
- users: `POST /_standin/user_messages` makes a user write to the account: the message is pushed to the account's
  server URL (`WECHAT_STANDIN_SERVER_URL`, or `url` in the body) signed with the Token, in plaintext or safe mode
  (`embedded.standins.wechat_users`), and the user's 48-hour window opens as it does on WeChat.
- the push: `POST <server URL>?signature=&timestamp=&nonce=&openid=` with the XML event, `signature =
  sha1(sort(token, timestamp, nonce))` (plaintext mode); WeChat waits 5 s for `success` and retries (here: while
  the receiver refuses or fails, for `WECHAT_STANDIN_REPORT_RETRY_S`).

Environment: `WECHAT_STANDIN_APP_ID`, `WECHAT_STANDIN_APP_SECRET` (the credentials it accepts),
`WECHAT_STANDIN_TOKEN_TTL_S` (7200), `WECHAT_STANDIN_CALLBACK_URL` (notify's `/v1/receipts/wechat`),
`WECHAT_STANDIN_CALLBACK_TOKEN` (the Token of the account's server settings), `WECHAT_STANDIN_REPORT_DELAY_S` (0.5),
`WECHAT_STANDIN_ACCOUNT` (the account's original id, `ToUserName` of the events), `WECHAT_STANDIN_SERVER_URL` (where
users' messages are pushed: the channels service's `/wechat/callback`), `WECHAT_STANDIN_SERVER_TOKEN`
(`dev-only-wechat-token`), `WECHAT_STANDIN_ENCODING_AES_KEY` (the dev key) for safe mode.

Controls (`/_standin/`, not WeChat's): `GET messages` (every template message accepted, newest last, with `msgid` and
our `client_msg_id`), `GET stats` (token calls, tokens issued, sends, duplicates), `GET events` (pushes and their
answers), `POST faults` with any of `{"down_for_s": 30}` (every API answers `-1` system busy), `{"expire_tokens":
true}` (every token issued so far answers 42001), `{"invalid_openids": [...]}` (40003), `{"unsubscribed_openids":
[...]}` (43004), `{"blocked_openids": [...]}` (accepted, then `failed:user block`), `{"invalid_templates": [...]}`
(40037), `{"interacted_openids": [...]}` (these users wrote just now: their 48-hour window opens), `{"reset": true}`.
`GET messages` holds customer-service messages too (`kind: custom`, `text`), beside template ones (`kind:
template`). `POST user_messages` with `{"openid", "msg_type": "text"|"voice"|"image"|"location", "content",
"recognition", "pic_url", "latitude", "longitude", "label", "msg_id" (default: a fresh one), "safe": bool, "token"
(default the server Token: another one forges the signature), "url"}` answers the push's outcome: `status`,
`reply` (decrypted in safe mode, with `reply_signature_ok` and `reply_app_id`), `elapsed_s`, `msg_id`; an image
without `pic_url` points at `GET /_standin/pictures/<MsgId>.png` (a small PNG, as WeChat serves the user's photo).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from embedded.standins import wechat_users
from embedded.standins.serving import Received, parse_args, post_until_taken, serve

NAME = "wechat_api"
DEV_APP_ID = "wx0123456789abcdef"
DEV_APP_SECRET = "dev-only-wechat-app-secret"  # noqa: S105 - the dev default, refused by nothing real
OPENID = re.compile(r"^o[A-Za-z0-9_-]{27}$")
DEDUPE_S = 600.0
#: How long after a user's message the account may send them customer-service messages.
WINDOW_S = 48 * 3600.0
#: getAccessToken's grace for the previous token; getStableAccessToken's early renewal.
OVERLAP_S = 300.0


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"})


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The request's body when it is a JSON object; None is what WeChat answers with 47001 "data format error"."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@dataclass
class Faults:
    down_until: float = 0.0
    invalid_openids: set[str] = field(default_factory=set)
    unsubscribed_openids: set[str] = field(default_factory=set)
    blocked_openids: set[str] = field(default_factory=set)
    invalid_templates: set[str] = field(default_factory=set)


@dataclass
class Stats:
    token_calls: int = 0
    stable_token_calls: int = 0
    tokens_issued: int = 0
    sends: int = 0
    duplicates: int = 0


class WechatStandIn:
    """The state behind the app: tokens with their expiry, the dedupe table, what was sent, pending pushes."""

    def __init__(self, received: Received) -> None:
        self.app_id = os.environ.get("WECHAT_STANDIN_APP_ID", DEV_APP_ID)
        self.app_secret = os.environ.get("WECHAT_STANDIN_APP_SECRET", DEV_APP_SECRET)
        self.ttl = float(os.environ.get("WECHAT_STANDIN_TOKEN_TTL_S", "7200"))
        self.callback_url = os.environ.get("WECHAT_STANDIN_CALLBACK_URL", "")
        self.callback_token = os.environ.get("WECHAT_STANDIN_CALLBACK_TOKEN", "")
        self.delay = float(os.environ.get("WECHAT_STANDIN_REPORT_DELAY_S", "0.5"))
        self.retry_for = float(os.environ.get("WECHAT_STANDIN_REPORT_RETRY_S", "600"))
        self.account = os.environ.get("WECHAT_STANDIN_ACCOUNT", "gh_0123456789ab")
        self.server_url = os.environ.get("WECHAT_STANDIN_SERVER_URL", "")
        self.server_token = os.environ.get("WECHAT_STANDIN_SERVER_TOKEN", wechat_users.DEV_SERVER_TOKEN)
        self.safe_mode = wechat_users.SafeMode(
            os.environ.get("WECHAT_STANDIN_ENCODING_AES_KEY", wechat_users.DEV_ENCODING_AES_KEY), self.app_id
        )
        self.last_written: dict[str, float] = {}  # openid → when the user last wrote to the account (time.time())
        self.user_msg_ids = itertools.count(24_000_000_000_000_000 + secrets.randbelow(10**15))
        self.received = received
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # token → expires at (time.time())
        self.stable: str | None = None
        self.latest_plain: str | None = None
        self.sent_by_key: dict[tuple[str, str], tuple[int, float]] = {}  # (openid, client_msg_id) → (msgid, at)
        self.msgids = itertools.count(2_002_283_320 + secrets.randbelow(1_000_000))
        self.faults = Faults()
        self.stats = Stats()
        self.events: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def check_credentials(self, appid: str, secret: str, grant_type: str) -> JSONResponse | None:
        if grant_type != "client_credential":
            return _error(40002, "invalid grant_type")
        if appid != self.app_id:
            return _error(40013, "invalid appid")
        if secret != self.app_secret:
            return _error(40125, "invalid appsecret")
        return None

    def issue(self, lifetime: float) -> str:
        token = f"{secrets.token_urlsafe(96)}"
        self.tokens[token] = time.time() + lifetime
        self.stats.tokens_issued += 1
        return token

    def token_state(self, token: str) -> int:
        """0 valid, 42001 expired, 40001 unknown."""
        expires = self.tokens.get(token)
        if expires is None:
            return 40001
        return 0 if time.time() < expires else 42001

    def busy(self) -> bool:
        return time.monotonic() < self.faults.down_until

    def push_later(self, event: dict[str, Any]) -> None:
        if not self.callback_url:
            return
        task = asyncio.get_running_loop().create_task(self._push(event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _push(self, event: dict[str, Any]) -> None:
        await asyncio.sleep(self.delay)
        body = _event_xml(self.account, event).encode()

        async with httpx.AsyncClient(timeout=5.0) as client:

            def signed_push() -> Awaitable[httpx.Response]:
                """WeChat signs each push with a fresh timestamp and nonce, so a retry is signed anew."""
                timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
                query = {
                    "signature": signature(self.callback_token, timestamp, nonce),
                    "timestamp": timestamp,
                    "nonce": nonce,
                    "openid": event["openid"],
                }
                return client.post(self.callback_url, params=query, content=body, headers={"Content-Type": "text/xml"})

            outcome = await post_until_taken(signed_push, give_up_s=self.retry_for)
        with self.lock:
            self.events.append({**event, "answer": outcome})


def signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's push signature: sha1 over the lexicographically sorted, concatenated token, timestamp and nonce."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


def _event_xml(account: str, event: dict[str, Any]) -> str:
    def cdata(value: str) -> str:
        return f"<![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]>"

    return (
        "<xml>"
        f"<ToUserName>{cdata(account)}</ToUserName>"
        f"<FromUserName>{cdata(event['openid'])}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata('TEMPLATESENDJOBFINISH')}</Event>"
        f"<MsgID>{escape(str(event['msgid']))}</MsgID>"
        f"<Status>{cdata(event['status'])}</Status>"
        "</xml>"
    )


def create_app(received: Received) -> FastAPI:
    state = WechatStandIn(received)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(state.tasks):
            task.cancel()

    app = FastAPI(title="WeChat official-account API stand-in", lifespan=lifespan)
    app.state.standin = state
    _add_token_routes(app, state)
    _add_template_send(app, state)
    _add_custom_send(app, state)
    _add_control_routes(app, state)
    _add_user_messages(app, state)
    return app


def _add_token_routes(app: FastAPI, state: WechatStandIn) -> None:
    """The two ways an official account gets its access token: the plain one and the stable one."""

    @app.get("/cgi-bin/token")
    async def get_token(grant_type: str = "", appid: str = "", secret: str = "") -> JSONResponse:
        with state.lock:
            state.stats.token_calls += 1
            if state.busy():
                return _error(-1, "system error")
            refused = state.check_credentials(appid, secret, grant_type)
            if refused is not None:
                return refused
            previous = state.latest_plain
            if previous is not None and previous in state.tokens:
                state.tokens[previous] = min(state.tokens[previous], time.time() + OVERLAP_S)
            state.latest_plain = state.issue(state.ttl)
            return JSONResponse({"access_token": state.latest_plain, "expires_in": int(state.ttl)})

    @app.post("/cgi-bin/stable_token")
    async def stable_token(request: Request) -> JSONResponse:
        body = await _json_object(request)
        if body is None:
            return _error(47001, "data format error")
        with state.lock:
            state.stats.stable_token_calls += 1
            if state.busy():
                return _error(-1, "system error")
            refused = state.check_credentials(
                str(body.get("appid", "")), str(body.get("secret", "")), str(body.get("grant_type", ""))
            )
            if refused is not None:
                return refused
            early = min(OVERLAP_S, state.ttl / 2)
            current = state.stable
            remaining = state.tokens.get(current, 0.0) - time.time() if current else 0.0
            if body.get("force_refresh") is True or remaining <= early:
                if current is not None and body.get("force_refresh") is True:
                    state.tokens.pop(current, None)  # force refresh: the previous token stops working
                state.stable = state.issue(state.ttl)
                remaining = state.ttl
            return JSONResponse({"access_token": state.stable, "expires_in": int(remaining)})


def _add_template_send(app: FastAPI, state: WechatStandIn) -> None:
    """Sending a template message, deduplicated by `client_msg_id`; its delivery is pushed back as an event."""

    @app.post("/cgi-bin/message/template/send")
    async def send_template(request: Request, access_token: str = "") -> JSONResponse:
        body = await _message_body(request, access_token)
        if isinstance(body, JSONResponse):
            return body
        with state.lock:
            refused = _sender_refusal(state, access_token)
            if refused is not None:
                return refused
            openid, template_id = str(body.get("touser", "")), str(body.get("template_id", ""))
            client_msg_id = str(body.get("client_msg_id") or "")
            refused = _template_refusal(state, openid, template_id, client_msg_id, body.get("data", {}))
            if refused is not None:
                return refused
            now = time.time()
            if client_msg_id:
                earlier = state.sent_by_key.get((openid, client_msg_id))
                if earlier is not None and now - earlier[1] < DEDUPE_S:
                    state.stats.duplicates += 1
                    return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": earlier[0]})
            msgid = next(state.msgids)
            if client_msg_id:
                state.sent_by_key[(openid, client_msg_id)] = (msgid, now)
            state.stats.sends += 1
            blocked = openid in state.faults.blocked_openids
        state.received.add(
            {
                "kind": "template",
                "msgid": msgid,
                "client_msg_id": client_msg_id or None,
                "touser": openid,
                "template_id": template_id,
                "data": body.get("data", {}),
                "url": body.get("url"),
            }
        )
        status = "failed:user block" if blocked else "success"
        state.push_later({"msgid": msgid, "openid": openid, "status": status})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": msgid})


def _add_custom_send(app: FastAPI, state: WechatStandIn) -> None:
    """Customer-service messages: only to a user who wrote within 48 hours; no dedupe key, no delivery event."""

    @app.post("/cgi-bin/message/custom/send")
    async def send_custom(request: Request, access_token: str = "") -> JSONResponse:
        body = await _message_body(request, access_token)
        if isinstance(body, JSONResponse):
            return body
        with state.lock:
            refused = _custom_refusal(state, access_token, body)
            if refused is not None:
                return refused
            state.stats.sends += 1
        state.received.add(
            {
                "kind": "custom",
                "msgid": None,
                "client_msg_id": None,
                "touser": body["touser"],
                "msgtype": "text",
                "text": body["text"]["content"],
            }
        )
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


async def _message_body(request: Request, access_token: str) -> dict[str, Any] | JSONResponse:
    """A message API's body, or what WeChat answers before reading it: a missing token, then a body not JSON."""
    if not access_token:
        return _error(41001, "access_token missing")
    body = await _json_object(request)
    return _error(47001, "data format error") if body is None else body


def _sender_refusal(state: WechatStandIn, access_token: str) -> JSONResponse | None:
    """What every message API answers first: system busy, then an expired or unknown token. Called under the lock."""
    if state.busy():
        return _error(-1, "system error")
    token = state.token_state(access_token)
    if token == 42001:
        return _error(42001, "access_token expired")
    if token:
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    return None


def _custom_refusal(state: WechatStandIn, access_token: str, body: dict[str, Any]) -> JSONResponse | None:
    """WeChat's refusal of a customer-service message, or None when it is taken. Called under the lock."""
    refused = _sender_refusal(state, access_token)
    if refused is not None:
        return refused
    openid = str(body.get("touser", ""))
    if not OPENID.fullmatch(openid) or openid in state.faults.invalid_openids:
        return _error(40003, "invalid openid")
    if openid in state.faults.unsubscribed_openids:
        return _error(43004, "require subscribe")
    text = body.get("text")
    if body.get("msgtype") != "text" or not isinstance(text, dict) or not str(text.get("content") or ""):
        return _error(40008, "invalid message type")
    if time.time() - state.last_written.get(openid, float("-inf")) > WINDOW_S:
        return _error(45015, "response out of time limit or subscription is canceled")
    return None


def _add_user_messages(app: FastAPI, state: WechatStandIn) -> None:
    """A user writes to the account: WeChat pushes it to the server URL, and the user's 48-hour window opens."""

    @app.get("/_standin/pictures/{name}")
    async def picture(name: str) -> Response:
        """What a user's photo is at WeChat's `PicUrl`: a small PNG, the same for every name."""
        return Response(wechat_users.PICTURE, media_type="image/png")

    @app.post("/_standin/user_messages")
    async def user_message(request: Request) -> JSONResponse:
        body = await request.json()
        openid = str(body.get("openid", ""))
        url = str(body.get("url") or state.server_url)
        if not OPENID.fullmatch(openid) or not url:
            return JSONResponse({"error": "an openid (o + 27 characters) and a server URL are required"}, 400)
        msg_id = str(body.get("msg_id") or next(state.user_msg_ids))
        if body.get("msg_type") == "image" and not body.get("pic_url"):
            body["pic_url"] = f"{str(request.base_url).rstrip('/')}/_standin/pictures/{msg_id}.png"
        with state.lock:
            state.last_written[openid] = time.time()
        xml = wechat_users.message_xml(state.account, openid, msg_id, body)
        safe = state.safe_mode if body.get("safe") else None
        token = str(body.get("token") or state.server_token)
        async with httpx.AsyncClient(timeout=10.0) as client:
            outcome = await wechat_users.push(client, url, token, xml, openid, safe)
        return JSONResponse({**outcome, "msg_id": msg_id})


def _template_refusal(
    state: WechatStandIn, openid: str, template_id: str, client_msg_id: str, data: object
) -> JSONResponse | None:
    """WeChat's refusal of a template message (in WeChat's order of checks), or None when it is taken."""
    if not OPENID.fullmatch(openid) or openid in state.faults.invalid_openids:
        return _error(40003, "invalid openid")
    if openid in state.faults.unsubscribed_openids:
        return _error(43004, "require subscribe")
    if not template_id or template_id in state.faults.invalid_templates:
        return _error(40037, "invalid template_id")
    if not isinstance(data, dict):
        return _error(47003, "argument invalid! data")
    if len(client_msg_id.encode()) > 64:
        return _error(45067, "clientmsgid size out of limit")
    return None


def _add_control_routes(app: FastAPI, state: WechatStandIn) -> None:
    """The stand-in's own surface for tests: what it received, its counters, its pushed events, its faults."""

    @app.get("/_standin/messages")
    async def messages() -> list[dict[str, Any]]:
        return list(state.received.items)

    @app.get("/_standin/stats")
    async def stats() -> dict[str, int]:
        return dict(state.stats.__dict__)

    @app.get("/_standin/events")
    async def events() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.events)

    @app.post("/_standin/faults")
    async def faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        with state.lock:
            if body.get("reset"):
                state.faults = Faults()
                state.stats = Stats()
                state.received.items.clear()
                state.events.clear()
                state.sent_by_key.clear()
                state.last_written.clear()
            if "down_for_s" in body:
                state.faults.down_until = time.monotonic() + float(body["down_for_s"])
            if body.get("expire_tokens"):
                past = time.time() - 1
                state.tokens = dict.fromkeys(state.tokens, past)
            for openid in body.get("interacted_openids", ()):
                state.last_written[str(openid)] = time.time()
            for name in ("invalid_openids", "unsubscribed_openids", "blocked_openids", "invalid_templates"):
                if name in body:
                    setattr(state.faults, name, set(body[name]))
            return {"ok": True}


def main() -> None:
    args = parse_args(NAME)
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    serve(create_app(Received(NAME, args.data_dir)), NAME, args)


if __name__ == "__main__":
    main()
