"""SMS through Tencent Cloud (腾讯云短信, API 2021-01-11) with the vendor's own SDK, `tencentcloud-sdk-python-sms`.

The SDK signs every call with TC3-HMAC-SHA256 (see the stand-in's docstring). The installed SDK has an asyncio
client too (`tencentcloud.sms.v20210111.sms_client_async.SmsClient` on httpx, `tencentcloud-sdk-python-common`'s
`abstract_client_async`), so the calls run on the event loop rather than in a worker thread; each is bounded by
`TENCENT_SMS_TIMEOUT_S`. The SDK's retryer and region circuit breaker stay off (their defaults): the worker owns the
attempts, and the breaker would send calls to another endpoint than the configured one.

Sending: `SendSms` with `SessionContext` = our notification id and `TemplateParamSet` in the order the approved
template numbers its `{1}`, `{2}`, ... (`TENCENT_SMS_TEMPLATES` lists our parameter names in that order). The answer
carries one `SendStatus` per number: `Code` `Ok` with a `SerialNo`, or a reason
(https://cloud.tencent.com/document/product/382/59177): `LimitExceeded.*` (frequency limits) and `InternalError.*`
are worth retrying, the rest (`FailedOperation.*`, `InvalidParameterValue.IncorrectPhoneNumber`, ...) are not.
A refusal of the whole call comes as the SDK's `TencentCloudSDKException` with the vendor's code (`AuthFailure.*`:
permanent; `InternalError`, `RequestLimitExceeded`, `ServerNetworkError` (a non-200 answer): transient); a connection
failure or timeout as httpx's `TransportError`.

After a crash, `find_sent` pulls the number's delivery statuses (`PullSmsSendStatusByPhoneNumber`) and looks for our
`SessionContext`. Two limits of that API, which the worker must know: it lists a message only once its delivery
report is in (a message accepted seconds before the crash may not be there yet), and it echoes `SessionContext`
only on accounts where Tencent enabled that (the SDK model's note: "默认为空，如需开通请联系腾讯云短信小助手"). When
the records it returns carry no `SessionContext` at all, the API cannot tell, and `find_sent` raises
`NotImplementedError`.

Delivery reports: Tencent's status callback (短信下发状态通知, https://cloud.tencent.com/document/product/382/52077)
is a JSON array of `{user_receive_time, nationcode, mobile, report_status (SUCCESS|FAIL), errmsg, description, sid}`
keyed by `sid` = our `SerialNo`; it is **not signed**, so it is authenticated by the secret `token` query parameter
of the callback URL configured in Tencent's console (`TENCENT_SMS_RECEIPT_TOKEN`), compared in constant time.
Tencent expects `{"result": 0, "errmsg": "OK"}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

import httpx
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client_async import SmsClient

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
    check_token,
    json_array,
    template_for,
    to_e164,
    vendor_text,
    vendor_time,
)

NAME = "tencent_sms"

# The SDK logs whole requests and responses (phone numbers, template values) at DEBUG; personal data never goes to
# our logs, whatever the service's log level.
logging.getLogger("tencentcloud_sdk_common").setLevel(logging.WARNING)
#: Codes (of the call or of one number) worth another try later.
TRANSIENT_PREFIXES = (
    "LimitExceeded",
    "RequestLimitExceeded",
    "InternalError",
    "ServerNetworkError",
    "ClientNetworkError",
    "ServiceUnavailable",
    "ResourceUnavailable",
)
#: Tencent keeps pulled statuses for 7 days.
PULL_MAX_AGE_S = 7 * 24 * 3600

T = TypeVar("T")


class Template(BaseModel):
    """An approved Tencent template: its id and our parameter names in the order of its `{1}`, `{2}`, ..."""

    id: str
    params: list[str] = Field(default_factory=list)


class Settings(ProviderSettings):
    """`TENCENT_SMS_*`: the API key pair, where the API is, the SMS application, sign name and templates."""

    model_config = SettingsConfigDict(env_prefix="TENCENT_SMS_", extra="ignore", frozen=True)

    secrets: ClassVar[dict[str, str]] = {
        "TENCENT_SMS_SECRET_KEY": "secret_key",
        "TENCENT_SMS_RECEIPT_TOKEN": "receipt_token",
    }

    secret_id: str = ""
    secret_key: SecretStr = SecretStr("")
    #: `host[:port]` of the SMS API.
    endpoint: str = "sms.tencentcloudapi.com"
    protocol: str = "HTTPS"
    region: str = "ap-guangzhou"
    sdk_app_id: str = ""
    sign_name: str = ""
    #: Our template id → `{"id": "...", "params": [...]}`; `*` is the template for any other.
    templates: dict[str, Template] = Field(default_factory=dict)
    #: The `token` query parameter of the status-callback URL configured in Tencent's console.
    receipt_token: SecretStr = SecretStr("")
    timeout_s: float = Field(default=10.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.secret_id and self.secret_key.get_secret_value() and self.sdk_app_id and self.sign_name)


def _classify(error: Exception) -> TransientError | PermanentError:
    if isinstance(error, httpx.TransportError):
        return TransientError(f"tencent unreachable: {type(error).__name__}")
    if isinstance(error, TencentCloudSDKException):
        code = error.get_code() or ""
        if code.startswith(TRANSIENT_PREFIXES):
            return TransientError(f"tencent: {code}")
        return PermanentError(f"tencent refused the call: {error.get_message()}", code=code)
    return TransientError(f"tencent: {type(error).__name__}")


class TencentSms:
    """`Provider` for the `sms` channel through Tencent Cloud."""

    name = NAME
    channel: Channel = "sms"

    def __init__(self, settings: Settings, client: SmsClient | None = None) -> None:
        self._settings = settings
        self._client = client

    def client(self) -> SmsClient:
        """Made on first use, inside the event loop that will use its httpx client."""
        if self._client is None:
            settings = self._settings
            http = HttpProfile(
                protocol=settings.protocol.lower(), endpoint=settings.endpoint, reqTimeout=settings.timeout_s
            )
            self._client = SmsClient(
                Credential(settings.secret_id, settings.secret_key.get_secret_value()),
                settings.region,
                ClientProfile(httpProfile=http),
            )
        return self._client

    async def _call(self, call: Callable[[T], Awaitable[Any]], request: T) -> Any:
        try:
            async with asyncio.timeout(self._settings.timeout_s + 1):
                return await call(request)
        except TimeoutError as error:
            raise TransientError("tencent did not answer in time") from error
        except Exception as error:
            raise _classify(error) from error

    async def send(self, message: Outgoing) -> Sent:
        template = template_for(self._settings.templates, message.template_id)
        missing = [name for name in template.params if name not in message.params]
        if missing:
            raise PermanentError(f"template {template.id} needs {missing}", code="template_params_missing")
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [to_e164(message.address)]
        request.SmsSdkAppId = self._settings.sdk_app_id
        request.SignName = self._settings.sign_name
        request.TemplateId = template.id
        request.TemplateParamSet = [str(message.params[name]) for name in template.params]
        request.SessionContext = str(message.notification_id)
        response = await self._call(self.client().SendSms, request)
        statuses = response.SendStatusSet or []
        if not statuses:
            raise TransientError("tencent answered without a send status")
        status = statuses[0]
        if status.Code == "Ok":
            return Sent(provider_message_id=status.SerialNo)
        if (status.Code or "").startswith(TRANSIENT_PREFIXES):
            raise TransientError(f"tencent: {status.Code}")
        raise PermanentError(f"tencent refused the message: {status.Message}", code=status.Code)

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        now = int(datetime.now(UTC).timestamp())
        request = sms_models.PullSmsSendStatusByPhoneNumberRequest()
        request.BeginTime = max(int(since.timestamp()), now - PULL_MAX_AGE_S + 60)
        request.EndTime = now
        request.Offset = 0  # "目前固定设置为0": one page of at most 100, the newest
        request.Limit = 100
        request.PhoneNumber = to_e164(message.address)
        request.SmsSdkAppId = self._settings.sdk_app_id
        response = await self._call(self.client().PullSmsSendStatusByPhoneNumber, request)
        rows = response.PullSmsSendStatusSet or []
        wanted = str(message.notification_id)
        for row in rows:
            if row.SessionContext == wanted:
                return cast(str | None, row.SerialNo)
        if rows and not any(row.SessionContext for row in rows):
            raise NotImplementedError("this Tencent account does not echo SessionContext in pulled statuses")
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class TencentSmsReceipts:
    """`ReceiptParser` for Tencent's status callback (unsigned: authenticated by the callback URL's token)."""

    name = NAME

    def __init__(self, token: str) -> None:
        self._token = token

    def parse(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> list[Receipt]:
        check_token(query, self._token)
        receipts = []
        for item in json_array(body):
            status, sid = item.get("report_status"), item.get("sid")
            if status not in ("SUCCESS", "FAIL") or not isinstance(sid, str) or not sid:
                raise ReceiptRefused("a report without `report_status` SUCCESS|FAIL and a `sid`", status=422)
            sid = vendor_text(item, "sid")
            delivered = status == "SUCCESS"
            receipts.append(
                Receipt(
                    status="delivered" if delivered else "failed",
                    provider_message_id=sid,
                    at=vendor_time(item.get("user_receive_time")),
                    error_code=None if delivered else vendor_text(item, "errmsg"),
                    error_message=None if delivered else vendor_text(item, "description"),
                )
            )
        return receipts

    def answer(self) -> ReceiptAnswer:
        return ReceiptAnswer(body=json.dumps({"result": 0, "errmsg": "OK"}).encode())


def build(settings: Settings) -> Provider:
    return TencentSms(settings)


def receipts(settings: Settings) -> ReceiptParser | None:
    """None without a token: an unsigned callback we cannot authenticate is not accepted at all."""
    token = settings.receipt_token.get_secret_value()
    return TencentSmsReceipts(token) if token else None
