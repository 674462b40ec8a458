"""Stand-in for Tencent Cloud's SMS API (2021-01-11): `SendSms` and `PullSmsSendStatusByPhoneNumber` as
`tencentcloud-sdk-python-sms` calls them, signature checked, and the status callback.

What the installed SDK sends (`tencentcloud/common/abstract_client_async.py` `_build_req_with_tc3_signature` and
`_get_tc3_signature`; the sync client is the same): `POST /` with the parameters as a JSON body,
`Content-Type: application/json`, `Host`, `X-TC-Action`, `X-TC-Version`, `X-TC-Timestamp`, `X-TC-Region`, and
`Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/sms/tc3_request, SignedHeaders=content-type;host,
Signature=<hex>`.

The check follows 签名方法 v3 (https://cloud.tencent.com/document/api/382/52071): the canonical request is
`METHOD \\n / \\n query \\n "name:value\\n" of each signed header (names and values lowercase, trimmed) \\n signed
header names \\n hex SHA-256(body)` (or of `UNSIGNED-PAYLOAD` when `X-TC-Content-SHA256` says so); the string to
sign is `TC3-HMAC-SHA256 \\n timestamp \\n date/sms/tc3_request \\n hex SHA-256(canonical request)`; the key is
HMAC-SHA256 chained over `"TC3" + SecretKey`, the date, the service and `tc3_request`. `content-type` and `host` must
be signed, the credential's date must be the timestamp's UTC date and the timestamp within 5 minutes. Refusals are
HTTP 200 with `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` (the API 3.0 common errors,
https://cloud.tencent.com/document/api/382/52075): `AuthFailure.SecretIdNotFound`, `AuthFailure.SignatureFailure`,
`AuthFailure.SignatureExpire`, `AuthFailure.InvalidAuthorization`, `MissingParameter`, `InvalidAction`, and
`InternalError` while `down_for_s` lasts. Each number of a `SendSms` gets its own `SendStatus`: `Ok`, or e.g.
`InvalidParameterValue.IncorrectPhoneNumber` (https://cloud.tencent.com/document/product/382/59177).

Status callbacks follow 短信下发状态通知 (https://cloud.tencent.com/document/product/382/52077): a JSON array
`[{user_receive_time, nationcode, mobile, report_status, errmsg, description, sid}]` POSTed to
`TENCENT_SMS_STANDIN_RECEIPT_URL` after `TENCENT_SMS_STANDIN_REPORT_DELAY_S` (0.5), repeated until the receiver
answers `{"result": 0}`. `PullSmsSendStatusByPhoneNumber` lists a message once its status is in, with its
`SessionContext` (Tencent echoes it on accounts where that was enabled; this stand-in behaves as such an account).

A customer's reply (短信回复, https://cloud.tencent.com/document/product/382/52077): `POST /_standin/reply`
`{"phone", "text"}` pushes `{extend, mobile, nationcode, sign, text, time}` (one object; `sign` the signature of the
last message sent to that number) to `TENCENT_SMS_STANDIN_UPLINK_URL` until the receiver answers `{"result": 0}`.

Environment: `TENCENT_SMS_STANDIN_KEYS` (JSON SecretId → SecretKey; default the dev pair below),
`TENCENT_SMS_STANDIN_SDK_APP_ID` (the SMS application it knows, default `1400000000`),
`TENCENT_SMS_STANDIN_TEMPLATES` (optional JSON template id → its number of parameters: then unknown templates and a
wrong parameter count are refused; otherwise any numeric id is taken), `TENCENT_SMS_STANDIN_RECEIPT_URL`,
`TENCENT_SMS_STANDIN_REPORT_DELAY_S`, `TENCENT_SMS_STANDIN_UPLINK_URL`.
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
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from embedded.standins.serving import Received, parse_args, serve
from embedded.standins.sms_gateway import Faults, ReportPusher, add_control_surface, add_reply_surface, e164

NAME = "tencent_sms"
SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
DEV_KEYS = {"dev-only-tencent-secret-id": "dev-only-tencent-secret-key"}
DEV_SDK_APP_ID = "1400000000"
REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing"})
MAX_SKEW_S = 300
PULL_MAX_AGE_S = 7 * 24 * 3600
BEIJING = ZoneInfo("Asia/Shanghai")
#: Calling codes this stand-in splits off a number for the callback's `nationcode` (the rest are reported whole).
CALLING_CODES = ("86", "852", "853", "886", "1", "44", "60", "61", "65", "81", "82")


class Refusal(Exception):
    """A refusal of the whole call: Tencent's error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


def tc3_signature(secret_key: str, date: str, string_to_sign: str) -> str:
    key = ("TC3" + secret_key).encode()
    for part in (date, SERVICE, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class SignatureCheck:
    """Tencent's TC3-HMAC-SHA256 check of one request."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = dict(keys)

    def verify(self, method: str, raw_query: str, headers: Mapping[str, str], body: bytes) -> str:
        authorization = headers.get("authorization", "")
        match = re.fullmatch(
            rf"{ALGORITHM} Credential=([^/]+)/(\d{{4}}-\d{{2}}-\d{{2}})/([^/]+)/tc3_request, "
            r"SignedHeaders=([a-z0-9;\-]+), Signature=([0-9a-f]{64})",
            authorization.strip(),
        )
        if not match:
            raise Refusal("AuthFailure.InvalidAuthorization", "Authorization header does not follow TC3-HMAC-SHA256.")
        secret_id, date, service, signed_text, signature = match.groups()
        secret = self.keys.get(secret_id)
        if secret is None:
            raise Refusal(
                "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that it is correct."
            )
        signed = signed_text.split(";")
        if service != SERVICE or not {"content-type", "host"} <= set(signed):
            raise Refusal("AuthFailure.InvalidAuthorization", "Authorization header does not follow TC3-HMAC-SHA256.")
        timestamp = headers.get("x-tc-timestamp", "")
        if not timestamp.isdigit():
            raise Refusal("MissingParameter", "The request is missing a required parameter `X-TC-Timestamp`.")
        if abs(time.time() - int(timestamp)) > MAX_SKEW_S:
            raise Refusal("AuthFailure.SignatureExpire", "Signature expired. Timestamp differs by more than 5 minutes.")
        if datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d") != date:
            raise Refusal(
                "AuthFailure.SignatureFailure", "The provided credentials could not be validated (credential date)."
            )
        payload = b"UNSIGNED-PAYLOAD" if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD" else body
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed)
        canonical = "\n".join(
            [method, "/", raw_query, canonical_headers, ";".join(signed), hashlib.sha256(payload).hexdigest()]
        )
        string_to_sign = "\n".join(
            [ALGORITHM, timestamp, f"{date}/{SERVICE}/tc3_request", hashlib.sha256(canonical.encode()).hexdigest()]
        )
        if not hmac.compare_digest(tc3_signature(secret, date, string_to_sign), signature):
            raise Refusal(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return secret_id


def split_number(number: str) -> tuple[str, str]:
    digits = number.lstrip("+")
    for code in sorted(CALLING_CODES, key=len, reverse=True):
        if digits.startswith(code):
            return code, digits[len(code) :]
    return "", digits


@dataclass
class Message:
    """One accepted message (one number of a SendSms) as Tencent keeps it."""

    e164: str
    sign_name: str
    template_id: str
    params: list[str]
    session_context: str
    serial_no: str
    record: dict[str, Any] = field(default_factory=dict)
    report_status: str | None = None  # SUCCESS | FAIL once the report is in
    received_at: datetime | None = None


def request_id() -> str:
    return str(uuid.uuid4())


def new_serial_no() -> str:
    return f"{secrets.randbelow(9000) + 1000}:{secrets.token_hex(10)}"


class Gateway:
    def __init__(
        self,
        received: Received,
        faults: Faults,
        pusher: ReportPusher,
        sdk_app_id: str,
        templates: Mapping[str, int] | None,
    ) -> None:
        self.received, self.faults, self.pusher = received, faults, pusher
        self.sdk_app_id = sdk_app_id
        self.templates = templates
        self.messages: list[Message] = []

    def _app(self, params: Mapping[str, Any]) -> None:
        app_id = params.get("SmsSdkAppId")
        if not app_id:
            raise Refusal("MissingParameter", "The request is missing a required parameter `SmsSdkAppId`.")
        if app_id != self.sdk_app_id:
            raise Refusal("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败。")

    def send_sms(self, params: Mapping[str, Any]) -> dict[str, Any]:
        for name in ("PhoneNumberSet", "TemplateId"):
            if not params.get(name):
                raise Refusal("MissingParameter", f"The request is missing a required parameter `{name}`.")
        self._app(params)
        phones, template_id = params["PhoneNumberSet"], str(params["TemplateId"])
        values = params.get("TemplateParamSet") or []
        context = params.get("SessionContext") or ""
        if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
            raise Refusal("InvalidParameter", "PhoneNumberSet must be an array of strings.")
        if len(phones) > 200:
            raise Refusal("LimitExceeded.PhoneNumberCountLimit", "单次请求最多支持200个手机号。")
        if not params.get("SignName"):
            raise Refusal("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。")
        if not re.fullmatch(r"\d+", template_id) or (self.templates is not None and template_id not in self.templates):
            raise Refusal("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不合法。")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise Refusal("InvalidParameterValue.TemplateParameterFormatError", "验证码模板参数格式错误。")
        if self.templates is not None and len(values) != self.templates[template_id]:
            raise Refusal(
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "请求内容与审核通过的模板内容不匹配。"
            )
        if len(str(context).encode()) >= 512:
            raise Refusal("InvalidParameterValue.ContentLengthLimit", "SessionContext 长度需小于512字节。")
        statuses = []
        for phone in phones:
            number = e164(phone)
            if number is None or number in self.faults.invalid:
                statuses.append(self._status(phone, "", 0, context, "InvalidParameterValue.IncorrectPhoneNumber"))
                continue
            message = Message(
                e164=number,
                sign_name=params["SignName"],
                template_id=template_id,
                params=values,
                session_context=context,
                serial_no=new_serial_no(),
            )
            message.record = self.received.add(
                {
                    "vendor": NAME,
                    "phone": number,
                    "sign_name": message.sign_name,
                    "template": template_id,
                    "params": values,
                    "idempotency_key": context or None,
                    "vendor_message_id": message.serial_no,
                    "status": "sent",
                }
            )
            self.messages.append(message)
            self.pusher.schedule(functools.partial(self.report, message))
            statuses.append(self._status(number, message.serial_no, 1, context, "Ok"))
        return {"SendStatusSet": statuses, "RequestId": request_id()}

    @staticmethod
    def _status(phone: str, serial_no: str, fee: int, context: str, code: str) -> dict[str, Any]:
        messages = {"Ok": "send success", "InvalidParameterValue.IncorrectPhoneNumber": "手机号格式错误"}
        return {
            "SerialNo": serial_no,
            "PhoneNumber": phone,
            "Fee": fee,
            "SessionContext": context,
            "Code": code,
            "Message": messages.get(code, code),
            "IsoCode": "CN" if phone.startswith("+86") else "DEF",
        }

    def report(self, message: Message) -> dict[str, Any]:
        """The carrier's answer arrives: settle the message and give the callback's item for it."""
        failed = message.e164 in self.faults.failing
        message.report_status = "FAIL" if failed else "SUCCESS"
        message.received_at = datetime.now(UTC)
        message.record["status"] = "failed" if failed else "delivered"
        nation, mobile = split_number(message.e164)
        return {
            "user_receive_time": message.received_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "nationcode": nation,
            "mobile": mobile,
            "report_status": message.report_status,
            "errmsg": "UNDELIV" if failed else "DELIVRD",
            "description": "用户短信接收失败" if failed else "用户短信送达成功",
            "sid": message.serial_no,
        }

    def reply_item(self, number: str, text: str) -> dict[str, Any]:
        """A customer's reply to our SMS as Tencent's 短信回复 callback carries it."""
        nation, mobile = split_number(number)
        sign = next((m.sign_name for m in reversed(self.messages) if m.e164 == number), "")
        return {
            "extend": "",
            "mobile": mobile,
            "nationcode": nation,
            "sign": sign,
            "text": text,
            "time": int(time.time()),
        }

    def pull_by_phone(self, params: Mapping[str, Any]) -> dict[str, Any]:
        for name in ("BeginTime", "Offset", "Limit", "PhoneNumber"):
            if params.get(name) is None:
                raise Refusal("MissingParameter", f"The request is missing a required parameter `{name}`.")
        self._app(params)
        begin, end = int(params["BeginTime"]), int(params.get("EndTime") or time.time())
        if begin < time.time() - PULL_MAX_AGE_S:
            raise Refusal("InvalidParameterValue.BeginTimeVerifyFail", "BeginTime 最多为当前时间前7天。")
        if int(params["Offset"]) != 0:
            raise Refusal("InvalidParameterValue.OffsetVerifyFail", "Offset 目前固定设置为0。")
        limit = int(params["Limit"])
        if not 1 <= limit <= 100:
            raise Refusal("InvalidParameterValue.LimitVerifyFail", "Limit 最多100。")
        number = e164(str(params["PhoneNumber"]))
        rows = [
            m
            for m in reversed(self.messages)
            if m.e164 == number
            and m.report_status is not None
            and m.received_at is not None
            and begin <= m.received_at.timestamp() <= end + 1
        ][:limit]
        items = []
        for m in rows:
            assert m.received_at is not None
            nation, subscriber = split_number(m.e164)
            items.append(
                {
                    "UserReceiveTime": int(m.received_at.timestamp()),
                    "CountryCode": nation,
                    "SubscriberNumber": subscriber,
                    "PhoneNumber": m.e164,
                    "SerialNo": m.serial_no,
                    "ReportStatus": m.report_status,
                    "Description": "用户短信接收失败" if m.report_status == "FAIL" else "用户短信送达成功",
                    "SessionContext": m.session_context,
                }
            )
        return {"PullSmsSendStatusSet": items, "RequestId": request_id()}


def report_accepted(response: httpx.Response) -> bool:
    """Tencent takes a callback as received when the receiver answers `{"result": 0, ...}`."""
    try:
        return response.status_code == 200 and response.json().get("result") == 0
    except ValueError:
        return False


def answer(payload: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"Response": payload})


def _call(headers: Mapping[str, str], body: bytes, actions: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The action and the parameters of a signed call, or the `Refusal` Tencent Cloud answers a malformed one."""
    action = headers.get("x-tc-action", "")
    if action not in actions:
        raise Refusal("InvalidAction", f"The action `{action}` is not supported.")
    if headers.get("x-tc-version") != VERSION:
        raise Refusal("NoSuchVersion", f"The version `{headers.get('x-tc-version')}` is not supported.")
    if headers.get("x-tc-region") not in REGIONS:
        raise Refusal("UnsupportedRegion", "The region is not supported by SMS.")
    if not headers.get("content-type", "").startswith("application/json"):
        raise Refusal("InvalidParameter", "The body must be JSON.")
    try:
        params = json.loads(body or b"{}")
    except ValueError as error:
        raise Refusal("InvalidParameter", "The body is not valid JSON.") from error
    if not isinstance(params, dict):
        raise Refusal("InvalidParameter", "The body must be a JSON object.")
    return action, params


def create_app(environ: Mapping[str, str] | None = None, received: Received | None = None) -> FastAPI:
    environ = os.environ if environ is None else environ
    keys = json.loads(environ.get("TENCENT_SMS_STANDIN_KEYS") or "null") or DEV_KEYS
    templates_text = environ.get("TENCENT_SMS_STANDIN_TEMPLATES")
    templates = {str(k): int(v) for k, v in json.loads(templates_text).items()} if templates_text else None
    received = received or Received(NAME, None)
    faults = Faults()
    pusher = ReportPusher(
        environ.get("TENCENT_SMS_STANDIN_RECEIPT_URL") or None,
        float(environ.get("TENCENT_SMS_STANDIN_REPORT_DELAY_S") or 0.5),
        report_accepted,
    )
    gateway = Gateway(
        received, faults, pusher, environ.get("TENCENT_SMS_STANDIN_SDK_APP_ID") or DEV_SDK_APP_ID, templates
    )
    check = SignatureCheck(keys)
    actions = {"SendSms": gateway.send_sms, "PullSmsSendStatusByPhoneNumber": gateway.pull_by_phone}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pusher.start()
        yield
        await pusher.stop()

    app = FastAPI(title="Tencent Cloud SMS stand-in", lifespan=lifespan)
    add_control_surface(app, received, faults)
    uplink_url = environ.get("TENCENT_SMS_STANDIN_UPLINK_URL") or None
    add_reply_surface(app, uplink_url, gateway.reply_item, accepted=report_accepted, batched=False)

    @app.post("/")
    async def api(request: Request) -> JSONResponse:
        body = await request.body()
        headers = {name: request.headers[name] for name in request.headers}
        try:
            if faults.down:
                raise Refusal("InternalError", "内部错误。")
            check.verify(request.method, request.url.query, headers, body)
            action, params = _call(headers, body, actions)
            try:
                result = actions[action](params)
            except (ValueError, TypeError) as error:
                raise Refusal("InvalidParameterValue", f"A parameter has a wrong type or value: {error}") from error
            if action == "SendSms" and faults.latency_s:
                await asyncio.sleep(faults.latency_s)  # taken already; the answer is what is late
            return answer(result)
        except Refusal as refusal:
            return answer({"Error": {"Code": refusal.code, "Message": refusal.message}, "RequestId": request_id()})

    return app


def main() -> None:
    args = parse_args(NAME)
    app = create_app(received=Received(NAME, args.data_dir))
    serve(app, NAME, args)


if __name__ == "__main__":
    main()
