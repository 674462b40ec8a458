"""SMS through Aliyun (阿里云短信服务, Dysmsapi 2017-05-25) with the vendor's own SDK, `alibabacloud_dysmsapi20170525`.

The SDK signs every call with Aliyun's V3 signature (`ACS3-HMAC-SHA256`, see the stand-in's docstring) and its async
methods (`send_sms_with_options_async`, `query_send_details_with_options_async`) run on aiohttp, so no thread is
needed. The SDK's own retries stay off (no `retry_options`): the worker owns the attempts.

Sending: `SendSms` with `OutId` = our notification id, so the vendor's records name the message as we do.
The answer is HTTP 200 with `Code`: `OK` and a `BizId`, or a business code (`isv.*`, `isp.*`) saying why not
(https://help.aliyun.com/zh/sms/developer-reference/api-error-codes). A gateway-level refusal (bad signature,
unknown key, throttling, a 5xx) comes back as the SDK's `ClientException` / `ServerException` /
`ThrottlingException` (all `TeaException`s carrying the vendor's `Code`), and a connection or read failure as the
SDK's `UnretryableException` wrapping the I/O error.

After a crash, `find_sent` asks `QuerySendDetails` (the records of one number on one day, Beijing time) for a row
with our `OutId`. Those rows carry no `BizId` (the SDK's `SmsSendDetailDTO` has `OutId`, `PhoneNum`, `SendStatus`,
`ErrCode`, `TemplateCode`, `Content`, `SendDate`, `ReceiveDate`), so what it returns for a message it finds is
`OutId:<notification id>` (`model.FOUND_BY_OUR_ID`); the reports that follow are matched on `out_id`, and the
first one's `biz_id` replaces it (a report is never refused as another attempt's for not matching it).

Delivery reports: Aliyun's HTTP batch push (SmsReport, https://help.aliyun.com/zh/sms/developer-reference/smsreport-2)
is a JSON array of `{phone_number, send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id}`
and is **not signed**: it is authenticated by the secret `token` query parameter of the callback URL configured in
Aliyun's console (`ALIYUN_SMS_RECEIPT_TOKEN`), compared in constant time. Aliyun expects `{"code": 0, "msg": ...}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as openapi_models
from alibabacloud_tea_openapi.exceptions import ThrottlingException
from darabonba.runtime import RuntimeOptions
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from Tea.exceptions import TeaException, UnretryableException

from services.notify.model import FOUND_BY_OUR_ID
from services.notify.providers.base import (
    Channel,
    Outgoing,
    PermanentError,
    Provider,
    Receipt,
    ReceiptAnswer,
    ReceiptParser,
    ReceiptRefused,
    Sent,
    TransientError,
)
from services.notify.providers.dev_secrets import ProviderSettings
from services.notify.providers.sms_common import (
    VENDOR_TZ,
    check_token,
    json_array,
    notification_id,
    template_for,
    to_e164,
    vendor_text,
    vendor_time,
)

NAME = "aliyun_sms"

# The SDK's HTTP core logs whole request URLs (our query parameters: phone numbers, template values) at DEBUG when
# the environment has DEBUG set; personal data never goes to our logs.
logging.getLogger("darabonba-core").setLevel(logging.WARNING)

#: Business codes worth another try later: the vendor's own faults and its per-number flow control.
TRANSIENT_CODES = frozenset(
    {
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "isp.UNKNOWN",
        "isv.BUSINESS_LIMIT_CONTROL",
        "BUSINESS_LIMIT_CONTROL_MINUTE",
        "isv.BUSINESS_LIMIT_HOUR",
    }
)
#: Gateway codes (HTTP 4xx) that are about load, not about us.
TRANSIENT_GATEWAY_PREFIXES = ("Throttling", "ServiceUnavailable", "InternalError", "LastOperationNotFinished")


class Settings(ProviderSettings):
    """`ALIYUN_SMS_*`: the AccessKey pair, where the API is, the approved sign name and template codes."""

    model_config = SettingsConfigDict(env_prefix="ALIYUN_SMS_", extra="ignore", frozen=True)

    secrets: ClassVar[dict[str, str]] = {
        "ALIYUN_SMS_ACCESS_KEY_SECRET": "access_key_secret",
        "ALIYUN_SMS_RECEIPT_TOKEN": "receipt_token",
    }

    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")
    #: `host[:port]` of the Dysmsapi endpoint.
    endpoint: str = "dysmsapi.aliyuncs.com"
    protocol: str = "HTTPS"
    sign_name: str = ""
    #: Our template id → Aliyun's approved template code (`SMS_123456789`); `*` is the code for any other.
    template_codes: dict[str, str] = Field(default_factory=dict)
    #: The `token` query parameter of the status-report URL configured in Aliyun's console.
    receipt_token: SecretStr = SecretStr("")
    timeout_s: float = Field(default=10.0, gt=0)
    #: QuerySendDetails: how many days back `find_sent` looks at most (the API keeps 30).
    find_sent_max_days: int = Field(default=2, ge=1, le=30)

    @property
    def enabled(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret.get_secret_value() and self.sign_name)


def vendor_phone(e164: str) -> str:
    """Aliyun wants mainland numbers as their 11 digits and others as country code + number, without `+`."""
    return e164[3:] if e164.startswith("+86") else e164[1:]


def _classify(error: Exception) -> TransientError | PermanentError:
    if isinstance(error, UnretryableException):  # the SDK's wrapper of an I/O error: refused, reset, timed out
        return TransientError(f"aliyun unreachable: {type(error.inner_exception).__name__}")
    if isinstance(error, ThrottlingException):  # the gateway said when to come back (x-acs-retry-after)
        return TransientError(f"aliyun throttled: {error.code}")
    if isinstance(error, TeaException):
        code = str(getattr(error, "code", "") or "")
        status = getattr(error, "status_code", None) or getattr(error, "statusCode", None)
        if (isinstance(status, int) and status >= 500) or code.startswith(TRANSIENT_GATEWAY_PREFIXES):
            return TransientError(f"aliyun {status}: {code}")
        if status is None:  # not an HTTP answer: an unreadable body, say
            return TransientError(f"aliyun: {code or type(error).__name__}")
        return PermanentError(f"aliyun refused the call ({status})", code=code)
    return TransientError(f"aliyun: {type(error).__name__}")


class AliyunSms:
    """`Provider` for the `sms` channel through Aliyun."""

    name = NAME
    channel: Channel = "sms"

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client or Client(
            openapi_models.Config(
                access_key_id=settings.access_key_id,
                access_key_secret=settings.access_key_secret.get_secret_value(),
                endpoint=settings.endpoint,
                protocol=settings.protocol.upper(),
                connect_timeout=int(min(settings.timeout_s, 5.0) * 1000),
                read_timeout=int(settings.timeout_s * 1000),
            )
        )

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            async with asyncio.timeout(self._settings.timeout_s + 1):
                return await method(request, RuntimeOptions())
        except TimeoutError as error:
            raise TransientError("aliyun did not answer in time") from error
        except (TransientError, PermanentError):
            raise
        except Exception as error:
            raise _classify(error) from error

    async def send(self, message: Outgoing) -> Sent:
        code = template_for(self._settings.template_codes, message.template_id)
        request = sms_models.SendSmsRequest(
            phone_numbers=vendor_phone(to_e164(message.address)),
            sign_name=self._settings.sign_name,
            template_code=code,
            template_param=json.dumps(dict(message.params), ensure_ascii=False),
            out_id=str(message.notification_id),
        )
        response = await self._call(self._client.send_sms_with_options_async, request)
        body = response.body
        if body.code == "OK":
            return Sent(provider_message_id=body.biz_id)
        if body.code in TRANSIENT_CODES or not body.code:
            raise TransientError(f"aliyun: {body.code or 'an answer without a Code'}")
        raise PermanentError(f"aliyun refused the message: {body.message}", code=body.code)

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        phone = vendor_phone(to_e164(message.address))
        out_id = str(message.notification_id)
        today = datetime.now(VENDOR_TZ).date()
        first = max(since.astimezone(VENDOR_TZ).date(), today - timedelta(days=self._settings.find_sent_max_days - 1))
        day = first
        while day <= today:
            page, seen = 1, 0
            while True:
                request = sms_models.QuerySendDetailsRequest(
                    phone_number=phone, send_date=day.strftime("%Y%m%d"), page_size=50, current_page=page
                )
                response = await self._call(self._client.query_send_details_with_options_async, request)
                body = response.body
                if body.code != "OK":
                    raise TransientError(f"aliyun QuerySendDetails: {body.code}")
                rows = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
                if any(row.out_id == out_id for row in rows):
                    return f"{FOUND_BY_OUR_ID}{out_id}"
                seen += len(rows)
                if not rows or seen >= int(body.total_count or 0):
                    break
                page += 1
            day += timedelta(days=1)
        return None

    async def aclose(self) -> None:
        """Nothing held: the SDK opens an aiohttp session per call."""


class AliyunSmsReceipts:
    """`ReceiptParser` for Aliyun's SmsReport HTTP push (unsigned: authenticated by the callback URL's token)."""

    name = NAME

    def __init__(self, token: str) -> None:
        self._token = token

    def parse(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> list[Receipt]:
        check_token(query, self._token)
        receipts = []
        for item in json_array(body):
            if not isinstance(item.get("success"), bool):
                raise ReceiptRefused("a report without a boolean `success`", status=422)
            delivered = item["success"]
            receipts.append(
                Receipt(
                    status="delivered" if delivered else "failed",
                    notification_id=notification_id(item.get("out_id")),
                    provider_message_id=vendor_text(item, "biz_id"),
                    at=vendor_time(item.get("report_time")),
                    error_code=None if delivered else vendor_text(item, "err_code"),
                    error_message=None if delivered else vendor_text(item, "err_msg"),
                )
            )
        return receipts

    def answer(self) -> ReceiptAnswer:
        return ReceiptAnswer(body=json.dumps({"code": 0, "msg": "成功"}, ensure_ascii=False).encode())


def build(settings: Settings) -> Provider:
    return AliyunSms(settings)


def receipts(settings: Settings) -> ReceiptParser | None:
    """None without a token: an unsigned push we cannot authenticate is not accepted at all."""
    token = settings.receipt_token.get_secret_value()
    return AliyunSmsReceipts(token) if token else None
