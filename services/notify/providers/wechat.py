"""WeChat official-account template messages (服务号模板消息) over WeChat's HTTP API, and their job-finish events.

Followed, from WeChat's official documentation (developers.weixin.qq.com):
- the access token: `POST /cgi-bin/stable_token` ("获取稳定版接口调用凭据",
  doc/service/api/base/api_getstableaccesstoken).
  Chosen over `GET /cgi-bin/token` because it is isolated from it and, in its normal mode (`force_refresh: false`),
  does not invalidate the token other callers hold: several notify processes sharing one AppID each fetch and cache
  the same token instead of revoking each other's (every `/cgi-bin/token` call replaces the previous token). The
  platform renews a stable token 5 minutes before it expires, so any token it hands out lives at least 300 s
  (`expires_in` ≥ 300). Force-refresh (limited to 20 a day, 30 s apart) is used only when the normal mode hands back
  the very token the API just refused.
- sending: `POST /cgi-bin/message/template/send?access_token=` ("发送模板消息",
  doc/service/api/notify/template/api_sendtemplatemessage) with `touser`, `template_id`, `data`
  (`{"keyword": {"value": "..."}}`) and `client_msg_id`, the "防重入id": "对于同一个openid + client_msg_id,
  只发送一条消息, 10分钟有效, 超过10分钟不保证效果" — for one openid and one client_msg_id only one message is sent,
  within 10 minutes.
  We pass our notification id. The answer carries `msgid`, which the job-finish event names as `MsgID`.
- to a customer who wrote to the account: first a customer-service message, `POST /cgi-bin/message/custom/send
  ?access_token=` ("客服消息", doc/service/api/customer/message/api_sendcustommessage) with `touser`,
  `msgtype: text` and `text.content` (our rendered message: the reference number in words the customer reads).
  WeChat allows it only within 48 hours of the customer's last message to the account; outside that window it
  answers 45015 ("response out of time limit"), and past the window's message count 45047: then the same message
  goes as the template message. The customer-service message has no `client_msg_id` and no delivery event: its
  `errcode: 0` is delivery into the customer's chat, so it is reported delivered at once. A crash between that call
  and recording its answer can send it twice within `find_sent`'s window (WeChat offers no key to dedupe it);
  `WECHAT_CUSTOMER_SERVICE=false` sends template messages only (an account without the customer-service API).
- errors (global return codes, "全局返回码"): 40001 invalid credential / 42001 access_token expired / 40014 invalid
  access_token → refresh once and retry; 43004 require subscribe, 40003 invalid openid, 40037 invalid template_id,
  47003 argument invalid → permanent; -1 system busy, 45009 api daily quota, 45047 out of response count limit,
  HTTP 5xx, timeouts → transient. A token that cannot be had because the AppID or AppSecret is wrong (40013, 40125,
  40164 IP not whitelisted) is permanent for this channel: no retry of this message can fix the configuration, so
  the message moves on to the next channel, and the error names the code for the operator.
- the delivery report: WeChat pushes `TEMPLATESENDJOBFINISH` (XML: `MsgID`, `Status` = `success` |
  `failed:user block` | `failed: system failed`) to the account's server URL, in plaintext mode signed with
  `signature = sha1(sort(token, timestamp, nonce))` in the query ("接入概述/验证消息的确来自微信服务器"), and expects
  `success` (or an empty body) back within 5 s, else it retries three times.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field

from services.notify.providers.base import (
    Outgoing,
    PermanentError,
    Receipt,
    ReceiptAnswer,
    ReceiptRefused,
    Sent,
    TransientError,
)
from services.notify.providers.dev_secrets import ProviderSettings
from shared.logging import get_logger

log = get_logger(__name__)

NAME = "wechat"
#: The token is refused: refresh it once and try again.
TOKEN_ERRORS = frozenset({40001, 42001, 40014})
#: This address or this template cannot receive: retrying cannot help.
PERMANENT_ERRORS = frozenset({43004, 40003, 40037, 47003})
#: The AppID, AppSecret or server IP is wrong: no message gets through until an operator fixes the configuration.
CONFIGURATION_ERRORS = frozenset({40013, 40125, 40164, 41002, 41004})
#: The customer-service window is closed (45015: 48 h since the customer's last message; 45047: its message count
#: is used up): the template message is the way to reach them.
WINDOW_CLOSED = frozenset({45015, 45047})
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
#: WeChat documents the client_msg_id dedupe for 10 minutes; we trust 9 to leave room for clock skew.
DEDUPE_WINDOW = timedelta(minutes=9)
#: Refresh this long before the token's own `expires_in`, so a token never expires between fetch and use.
TOKEN_MARGIN_S = 60.0
#: How old a callback's timestamp may be: the same 5 minutes as WeChat's own replay window for signed pushes.
CALLBACK_MAX_AGE_S = 300


class WechatTemplate(BaseModel):
    """One of our templates as a WeChat template: its `template_id` and which WeChat keyword carries which of
    our parameters. The pseudo-parameter `text` is the whole rendered message (for a `thing`/`remark` field)."""

    template_id: str
    fields: dict[str, str] = Field(default_factory=dict)


class Settings(ProviderSettings):
    """WECHAT_* variables: the official account's AppID/AppSecret, the template mapping, the callback token."""

    secrets: ClassVar[dict[str, str]] = {
        "WECHAT_APP_SECRET": "wechat_app_secret",
        "WECHAT_CALLBACK_TOKEN": "wechat_callback_token",
    }

    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    #: Our template id → WeChat template (JSON); key `*` is used for any template not listed.
    wechat_templates: dict[str, WechatTemplate] = Field(default_factory=dict)
    #: The Token configured on the official account's server settings (服务器配置); signs the pushed events.
    wechat_callback_token: str = ""
    wechat_timeout_s: float = Field(default=10.0, gt=0)
    #: Try a customer-service message (客服消息) before the template message; off for accounts without that API.
    wechat_customer_service: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.wechat_app_id and self.wechat_app_secret)


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic()


class WechatError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeChat errcode {code}: {message}")
        self.code = code
        self.message = message


class WechatTemplateMessages:
    """The `Provider` for channel `wechat`: template messages to an openid."""

    name = NAME
    channel = "wechat"

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.AsyncClient(
            base_url=settings.wechat_api_base.rstrip("/"), timeout=settings.wechat_timeout_s
        )
        self._token: _Token | None = None
        # One refresh at a time: concurrent sends that find the token stale wait for the one fetch in flight.
        self._refreshing = asyncio.Lock()

    async def send(self, message: Outgoing) -> Sent:
        """A customer-service message while WeChat's 48-hour window is open, else the template message."""
        if self._settings.wechat_customer_service:
            try:
                await self._call_with_token(CUSTOM_SEND, self._custom_body(message))
            except WechatError as exc:
                if exc.code not in WINDOW_CLOSED:
                    raise _classify(exc) from exc
                log.info("wechat customer-service window closed; sending a template message", errcode=exc.code)
            else:
                return Sent(provider_message_id=None, delivered=True)
        body = self._message_body(message)
        try:
            answer = await self._call_with_token(TEMPLATE_SEND, body)
        except WechatError as exc:
            raise _classify(exc) from exc
        msgid = answer.get("msgid")
        return Sent(provider_message_id=str(msgid) if msgid is not None else None)

    async def _call_with_token(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One API call with the cached token; a refused token is refreshed once and the call made again. WeChat's
        other refusals come out as `WechatError`, for the caller to judge."""
        token = await self._access_token()
        try:
            return await self._call_api(path, token, body)
        except WechatError as exc:
            if exc.code not in TOKEN_ERRORS:
                raise
            log.info("wechat access token refused; refreshing", errcode=exc.code)
        token = await self._access_token(refused=token)
        try:
            return await self._call_api(path, token, body)
        except WechatError as again:
            if again.code in TOKEN_ERRORS:
                raise TransientError(f"WeChat refused a freshly fetched token ({again.code})") from again
            raise

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        """WeChat has no query for template messages, but it sends only one message per openid + `client_msg_id`
        (our notification id) within 10 minutes. So within that window (9 minutes after the attempt was claimed,
        leaving room for skew) a resend is safe: the answer None lets the worker send again, and WeChat drops the
        duplicate. Later than that nothing can be asked and nothing is guaranteed: `NotImplementedError`."""
        if datetime.now(UTC) - since < DEDUPE_WINDOW:
            return None
        raise NotImplementedError("WeChat keeps client_msg_id for 10 minutes only and has no query for template sends")

    async def aclose(self) -> None:
        await self._client.aclose()

    def _message_body(self, message: Outgoing) -> dict[str, Any]:
        templates = self._settings.wechat_templates
        template = templates.get(message.template_id) or templates.get("*")
        if template is None:
            raise PermanentError(f"no WeChat template for {message.template_id}", code="no_template")
        values = {**message.params, "text": message.text}
        data = {key: {"value": values[ours]} for ours, key in template.fields.items() if ours in values}
        return {
            "touser": message.address,
            "template_id": template.template_id,
            "data": data,
            "client_msg_id": str(message.notification_id),
        }

    @staticmethod
    def _custom_body(message: Outgoing) -> dict[str, Any]:
        return {"touser": message.address, "msgtype": "text", "text": {"content": message.text}}

    async def _call_api(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", path, params={"access_token": token}, json=body)

    async def _access_token(self, refused: str | None = None) -> str:
        """The cached token, or a fresh one when it is missing, near its expiry, or the one the API just refused."""
        current = self._token
        if current is not None and current.value != refused and time.monotonic() < current.expires_at:
            return current.value
        async with self._refreshing:
            current = self._token  # another send may have refreshed it while we waited
            if current is not None and current.value != refused and time.monotonic() < current.expires_at:
                return current.value
            token = await self._fetch_token(force=False)
            if token.value == refused:
                # The normal mode hands back what the platform thinks is current; the API disagrees: force it.
                token = await self._fetch_token(force=True)
            self._token = token
            return token.value

    async def _fetch_token(self, *, force: bool) -> _Token:
        body = {
            "grant_type": "client_credential",
            "appid": self._settings.wechat_app_id,
            "secret": self._settings.wechat_app_secret,
            "force_refresh": force,
        }
        try:
            answer = await self._request("POST", "/cgi-bin/stable_token", json=body)
        except WechatError as exc:
            if exc.code in CONFIGURATION_ERRORS:
                log.error("wechat refuses our AppID/AppSecret", errcode=exc.code)
                raise PermanentError(f"WeChat access token refused: {exc.message}", code=str(exc.code)) from exc
            raise TransientError(f"WeChat access token not issued: {exc}") from exc
        try:
            value = str(answer["access_token"])
            expires_in = float(answer["expires_in"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError("WeChat token answer without access_token/expires_in") from exc
        lifetime = max(expires_in - TOKEN_MARGIN_S, expires_in / 2)
        return _Token(value=value, expires_at=time.monotonic() + lifetime)

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One call; WeChat answers errors as HTTP 200 with a non-zero `errcode`, raised here as `WechatError`."""
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(f"WeChat API timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"WeChat API unreachable ({type(exc).__name__})") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"WeChat API answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise PermanentError(f"WeChat API answered HTTP {response.status_code}", code=str(response.status_code))
        try:
            answer = response.json()
        except ValueError as exc:
            raise TransientError("WeChat API answered something that is not JSON") from exc
        if not isinstance(answer, dict):
            raise TransientError("WeChat API answered JSON that is not an object")
        code = int(answer.get("errcode") or 0)
        if code != 0:
            raise WechatError(code, str(answer.get("errmsg", "")))
        return answer


def _classify(exc: WechatError) -> Exception:
    if exc.code in PERMANENT_ERRORS or exc.code in CONFIGURATION_ERRORS:
        return PermanentError(str(exc), code=str(exc.code))
    # -1 system busy, 45009/45047 limits, and codes we do not know: worth another attempt (attempts are bounded).
    return TransientError(str(exc))


class WechatEvents:
    """The `ReceiptParser` for `POST /v1/receipts/wechat`: the `TEMPLATESENDJOBFINISH` events WeChat pushes to the
    official account's server URL (plaintext mode). Other events and user messages reach the same URL; they are
    acknowledged and yield no receipt."""

    name = NAME

    def __init__(self, settings: Settings) -> None:
        self._token = settings.wechat_callback_token

    def verify(self, query: Mapping[str, str]) -> None:
        """WeChat's check, exactly: sha1 over the sorted, concatenated token, timestamp and nonce equals
        `signature`; and the timestamp is within 5 minutes, so a captured push cannot be replayed later."""
        signature, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            raise ReceiptRefused("signature, timestamp and nonce are required")
        expected = hashlib.sha1("".join(sorted([self._token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
        if not hmac.compare_digest(expected, signature.lower()):
            raise ReceiptRefused("signature does not match")
        try:
            stamp = int(timestamp)
        except ValueError as exc:
            raise ReceiptRefused("timestamp is not a number") from exc
        if abs(int(time.time()) - stamp) > CALLBACK_MAX_AGE_S:  # in integers: any number of digits compares
            raise ReceiptRefused("timestamp is stale")

    def echo(self, query: Mapping[str, str]) -> str:
        """The server-URL check WeChat makes when the URL is configured (`GET` with `echostr`): verified, echo it."""
        self.verify(query)
        return query.get("echostr", "")

    def parse(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> list[Receipt]:
        self.verify(query)
        if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
            raise ReceiptRefused("a document type declaration is not allowed", status=400)
        try:
            # WeChat's pushes carry no DTD (refused above), so expat resolves no entity: nothing to expand.
            root = ElementTree.fromstring(body)  # noqa: S314
        except ElementTree.ParseError as exc:
            raise ReceiptRefused("the body is not XML", status=400) from exc
        if _text(root, "MsgType") != "event" or _text(root, "Event") != "TEMPLATESENDJOBFINISH":
            return []
        msg_id, status = _text(root, "MsgID"), _text(root, "Status")
        if not msg_id or not status:
            raise ReceiptRefused("TEMPLATESENDJOBFINISH without MsgID or Status", status=422)
        at = _moment(_text(root, "CreateTime"))
        if status == "success":
            return [Receipt(status="delivered", provider_message_id=msg_id, at=at)]
        reason = status.removeprefix("failed:").strip()
        code = reason.replace(" ", "_") or "failed"
        return [Receipt(status="failed", provider_message_id=msg_id, at=at, error_code=code, error_message=status)]

    def answer(self) -> ReceiptAnswer:
        return ReceiptAnswer(body=b"success", media_type="text/plain")


def _text(root: ElementTree.Element, tag: str) -> str:
    return (root.findtext(tag) or "").strip()


def _moment(created: str) -> datetime | None:
    """`CreateTime` (Unix seconds) as a moment; None when it is no decimal number or lies past any calendar."""
    if not (created.isascii() and created.isdigit()):
        return None
    try:
        return datetime.fromtimestamp(int(created), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def build(settings: Settings) -> WechatTemplateMessages:
    return WechatTemplateMessages(settings)


def receipts(settings: Settings) -> WechatEvents | None:
    return WechatEvents(settings) if settings.wechat_callback_token else None
