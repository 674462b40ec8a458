"""Stand-in for Aliyun's SMS API (Dysmsapi 2017-05-25): `SendSms` and `QuerySendDetails` as the SDK
`alibabacloud_dysmsapi20170525` 4.6.0 calls them, signature checked, and the SmsReport status push.

What the installed SDK sends (read in `alibabacloud_tea_openapi/client.py` `do_request_async`, the path taken when
no `signature_algorithm='v2'` is configured, and `utils.py` `get_authorization`): an RPC-style call as the V3
request of https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature —
`POST /?PhoneNumbers=...&SignName=...` with the action and version in `x-acs-action` / `x-acs-version`, the headers
`host`, `x-acs-date` (UTC, `%Y-%m-%dT%H:%M:%SZ`), `x-acs-signature-nonce`, `x-acs-content-sha256` (hex SHA-256 of
the body) and `Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;...>,Signature=<hex>`.

The check, as that page specifies it: the canonical request is
`METHOD \\n URI \\n sorted query (RFC 3986, values percent-encoded, `~` kept) \\n lowercase "name:value\\n" of each
signed header, sorted \\n signed header names \\n hex SHA-256 of the body`; the string to sign is
`ACS3-HMAC-SHA256 \\n hex SHA-256(canonical request)`; the signature is hex HMAC-SHA256(AccessKeySecret, string).
`host` and every `x-acs-*` header must be signed. Refusals use the gateway's codes and body shape
(`{"RequestId", "HostId", "Code", "Message", "Recommend"}`): `InvalidAccessKeyId.NotFound` (404),
`SignatureDoesNotMatch`, `IncompleteSignature`, `InvalidTimeStamp.Expired` (more than 15 minutes off),
`SignatureNonceUsed` (400), and `ServiceUnavailable` (503) while `down_for_s` lasts. Business answers are HTTP 200
with `Code` (`OK`, `isv.MOBILE_NUMBER_ILLEGAL`, `isv.SMS_TEMPLATE_ILLEGAL`, `isv.TEMPLATE_MISSING_PARAMETERS`, ...:
https://help.aliyun.com/zh/sms/developer-reference/api-error-codes); a missing parameter is `Missing<Name>` (400).

Status reports follow SmsReport (https://help.aliyun.com/zh/sms/developer-reference/smsreport-2): a JSON array
`[{phone_number, send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id}]` POSTed to
`ALIYUN_SMS_STANDIN_RECEIPT_URL` after `ALIYUN_SMS_STANDIN_REPORT_DELAY_S` (0.5), repeated until the receiver
answers `{"code": 0}`.

A customer's reply (SmsUp, https://help.aliyun.com/zh/sms/developer-reference/smsup-http): `POST /_standin/reply`
`{"phone", "text"}` pushes `[{phone_number, content, send_time, dest_code, sequence_id, sign_name}]` to
`ALIYUN_SMS_STANDIN_UPLINK_URL` until the receiver answers `{"code": 0}`.

Environment: `ALIYUN_SMS_STANDIN_KEYS` (JSON AccessKeyId → AccessKeySecret; default the dev pair below),
`ALIYUN_SMS_STANDIN_TEMPLATES` (optional JSON template code → its parameter names: then unknown codes and missing
parameters are refused like Aliyun does; otherwise any `SMS_<digits>` code is taken), `ALIYUN_SMS_STANDIN_RECEIPT_URL`,
`ALIYUN_SMS_STANDIN_REPORT_DELAY_S`, `ALIYUN_SMS_STANDIN_UPLINK_URL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from embedded.standins.serving import Received, parse_args, serve
from embedded.standins.sms_gateway import Faults, ReportPusher, add_control_surface, add_reply_surface, e164

NAME = "aliyun_sms"
HOST_ID = "dysmsapi.aliyuncs.com"
VERSION = "2017-05-25"
ALGORITHM = "ACS3-HMAC-SHA256"
DEV_KEYS = {"dev-only-aliyun-access-key-id": "dev-only-aliyun-access-key-secret"}
BEIJING = ZoneInfo("Asia/Shanghai")
MAX_SKEW_S = 15 * 60


class Refusal(Exception):
    """A gateway-level refusal: HTTP status, Aliyun's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def percent(value: str) -> str:
    return quote(value, safe="~")


def canonical_request(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, list[str]],
    signed: list[str],
    body: bytes,
) -> str:
    query_part = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(query))
    header_part = "".join(f"{name}:{','.join(sorted(v.strip() for v in headers.get(name, [])))}\n" for name in signed)
    return "\n".join([method, path or "/", query_part, header_part, ";".join(signed), hashlib.sha256(body).hexdigest()])


class SignatureCheck:
    """Aliyun's V3 (`ACS3-HMAC-SHA256`) check of one request, with the replay guards (date, nonce)."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = dict(keys)
        self._nonces: dict[str, float] = {}

    def verify(self, method: str, path: str, raw_query: str, headers: Mapping[str, list[str]], body: bytes) -> str:
        authorization = (headers.get("authorization") or [""])[0]
        match = re.fullmatch(
            rf"{ALGORITHM} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)", authorization.strip()
        )
        if not match:
            raise Refusal(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        key_id, signed_text, signature = match.groups()
        secret = self.keys.get(key_id)
        if secret is None:
            raise Refusal(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = signed_text.split(";")
        required = {"host"} | {name for name in headers if name.startswith("x-acs-")}
        if signed != sorted(signed) or not required <= set(signed):
            raise Refusal(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        try:
            stamp = datetime.strptime(headers["x-acs-date"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except (KeyError, ValueError) as error:
            raise Refusal(400, "MissingXAcsDate", "x-acs-date is mandatory for this action.") from error
        if abs(datetime.now(UTC).timestamp() - stamp.timestamp()) > MAX_SKEW_S:
            raise Refusal(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        query = parse_qsl(raw_query, keep_blank_values=True)
        expected_request = canonical_request(method, path, query, headers, signed, body)
        string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(expected_request.encode()).hexdigest()}"
        expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise Refusal(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        nonce = (headers.get("x-acs-signature-nonce") or [""])[0]
        now = time.monotonic()
        self._nonces = {n: t for n, t in self._nonces.items() if now - t < MAX_SKEW_S * 2}
        if not nonce or nonce in self._nonces:
            raise Refusal(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces[nonce] = now
        return key_id


@dataclass
class Message:
    """One accepted message as Aliyun keeps it (QuerySendDetails answers from these)."""

    phone: str  # as sent (PhoneNumbers item)
    e164: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str | None
    biz_id: str
    sent_at: datetime
    record: dict[str, Any] = field(default_factory=dict)
    status: int = 1  # 1 waiting for the report, 2 failed, 3 delivered
    err_code: str = ""
    received_at: datetime | None = None


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def new_biz_id() -> str:
    return f"{secrets.randbelow(10**18):018d}^0"


class Gateway:
    def __init__(
        self, received: Received, faults: Faults, pusher: ReportPusher, templates: Mapping[str, list[str]] | None
    ) -> None:
        self.received, self.faults, self.pusher = received, faults, pusher
        self.templates = templates
        self.messages: list[Message] = []
        #: SmsUp's `sequence_id` of the replies pushed (random start: two stand-in runs do not reuse one).
        self._sequence = secrets.randbelow(10**9) * 1000

    def send_sms(self, params: Mapping[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                raise Refusal(400, f"Missing{name}", f"{name} is mandatory for this action.")
        phones = [p.strip() for p in params["PhoneNumbers"].split(",") if p.strip()]
        if len(phones) > 1000:
            return business("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        normalised = [e164(p) for p in phones]
        if not phones or any(n is None or n in self.faults.invalid for n in normalised):
            return business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        code = params["TemplateCode"]
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not re.fullmatch(r"SMS_\d+", code) or (self.templates is not None and code not in self.templates):
            return business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        if self.templates is not None and any(name not in values for name in self.templates[code]):
            return business("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        biz_id = new_biz_id()
        now = datetime.now(UTC)
        for phone, number in zip(phones, normalised, strict=True):
            assert number is not None
            message = Message(
                phone=phone,
                e164=number,
                sign_name=params["SignName"],
                template_code=code,
                params=values,
                out_id=params.get("OutId") or None,
                biz_id=biz_id,
                sent_at=now,
            )
            message.record = self.received.add(
                {
                    "vendor": NAME,
                    "phone": number,
                    "sign_name": message.sign_name,
                    "template": code,
                    "params": values,
                    "idempotency_key": message.out_id,
                    "vendor_message_id": biz_id,
                    "status": "sent",
                }
            )
            self.messages.append(message)
            self.pusher.schedule(functools.partial(self.report, message))
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id()}

    def report(self, message: Message) -> dict[str, Any]:
        """The carrier's answer arrives: settle the message and give SmsReport's item for it."""
        failed = message.e164 in self.faults.failing
        message.status = 2 if failed else 3
        message.err_code = "UNDELIV" if failed else "DELIVERED"
        message.received_at = datetime.now(UTC)
        message.record["status"] = "failed" if failed else "delivered"
        return {
            "phone_number": message.phone,
            "send_time": beijing(message.sent_at),
            "report_time": beijing(message.received_at),
            "success": not failed,
            "err_code": message.err_code,
            "err_msg": "用户接收失败" if failed else "用户接收成功",
            "sms_size": "1",
            "biz_id": message.biz_id,
            "out_id": message.out_id or "",
        }

    def reply_item(self, number: str, text: str) -> dict[str, Any]:
        """A customer's reply to our SMS as Aliyun's SmsUp push carries it (a mainland number without +86)."""
        self._sequence += 1
        sign = next((m.sign_name for m in reversed(self.messages) if m.e164 == number), "")
        return {
            "phone_number": number.removeprefix("+86") if number.startswith("+86") else number.lstrip("+"),
            "content": text,
            "send_time": beijing(datetime.now(UTC)),
            "dest_code": "1234",
            "sequence_id": self._sequence,
            "sign_name": sign,
        }

    def query_send_details(self, params: Mapping[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not params.get(name):
                raise Refusal(400, f"Missing{name}", f"{name} is mandatory for this action.")
        number = e164(params["PhoneNumber"])
        if number is None:
            return business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        try:
            day = datetime.strptime(params["SendDate"], "%Y%m%d").date()
            size, page = int(params["PageSize"]), int(params["CurrentPage"])
        except ValueError:
            return business("isv.INVALID_PARAMETERS", "参数格式不正确")
        if not 1 <= size <= 50 or page < 1:
            return business("isv.INVALID_PARAMETERS", "PageSize 取值 1-50，CurrentPage 从 1 开始")
        rows = [
            m
            for m in self.messages
            if m.e164 == number
            and m.sent_at.astimezone(BEIJING).date() == day
            and (not params.get("BizId") or m.biz_id == params["BizId"])
        ]
        chosen = rows[(page - 1) * size : page * size]
        return {
            "Code": "OK",
            "Message": "OK",
            "RequestId": request_id(),
            "TotalCount": len(rows),
            "SmsSendDetailDTOs": {
                "SmsSendDetailDTO": [
                    {
                        "PhoneNum": m.phone,
                        "SendStatus": m.status,
                        "ErrCode": m.err_code,
                        "TemplateCode": m.template_code,
                        "Content": f"【{m.sign_name}】" + "，".join(f"{k}：{v}" for k, v in m.params.items()),
                        "SendDate": beijing(m.sent_at),
                        "ReceiveDate": beijing(m.received_at) if m.received_at else "",
                        "OutId": m.out_id or "",
                    }
                    for m in chosen
                ]
            },
        }


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def business(code: str, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, "RequestId": request_id()}


def refusal_response(refusal: Refusal) -> JSONResponse:
    return JSONResponse(
        {
            "RequestId": request_id(),
            "HostId": HOST_ID,
            "Code": refusal.code,
            "Message": refusal.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={refusal.code}&product=Dysmsapi",
        },
        status_code=refusal.status,
    )


def report_accepted(response: httpx.Response) -> bool:
    """Aliyun takes a report as received when the receiver answers `{"code": 0, ...}`."""
    try:
        return response.status_code == 200 and response.json().get("code") == 0
    except ValueError:
        return False


def create_app(environ: Mapping[str, str] | None = None, received: Received | None = None) -> FastAPI:
    environ = os.environ if environ is None else environ
    keys = json.loads(environ.get("ALIYUN_SMS_STANDIN_KEYS") or "null") or DEV_KEYS
    templates_text = environ.get("ALIYUN_SMS_STANDIN_TEMPLATES")
    templates = json.loads(templates_text) if templates_text else None
    received = received or Received(NAME, None)
    faults = Faults()
    pusher = ReportPusher(
        environ.get("ALIYUN_SMS_STANDIN_RECEIPT_URL") or None,
        float(environ.get("ALIYUN_SMS_STANDIN_REPORT_DELAY_S") or 0.5),
        report_accepted,
    )
    gateway = Gateway(received, faults, pusher, templates)
    check = SignatureCheck(keys)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pusher.start()
        yield
        await pusher.stop()

    app = FastAPI(title="Aliyun SMS stand-in", lifespan=lifespan)
    add_control_surface(app, received, faults)
    uplink_url = environ.get("ALIYUN_SMS_STANDIN_UPLINK_URL") or None
    add_reply_surface(app, uplink_url, gateway.reply_item, accepted=report_accepted, batched=True)

    @app.api_route("/", methods=["GET", "POST"])
    async def rpc(request: Request) -> JSONResponse:
        body = await request.body()
        headers = {name: request.headers.getlist(name) for name in request.headers}
        try:
            if faults.down:
                raise Refusal(
                    503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
                )
            check.verify(request.method, request.url.path, request.url.query, headers, body)
            params = dict(parse_qsl(request.url.query, keep_blank_values=True))
            if body and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode(), keep_blank_values=True))
            action = request.headers.get("x-acs-action", "")
            if request.headers.get("x-acs-version") != VERSION:
                raise Refusal(400, "InvalidVersion", "Specified parameter Version is not valid.")
            if action == "SendSms":
                answer = gateway.send_sms(params)
                if faults.latency_s:
                    await asyncio.sleep(faults.latency_s)  # taken already; the answer is what is late
                return JSONResponse(answer)
            if action == "QuerySendDetails":
                return JSONResponse(gateway.query_send_details(params))
            raise Refusal(
                404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
            )
        except Refusal as refusal:
            return refusal_response(refusal)

    return app


def main() -> None:
    args = parse_args(NAME)
    app = create_app(received=Received(NAME, args.data_dir))
    serve(app, NAME, args)


if __name__ == "__main__":
    main()
