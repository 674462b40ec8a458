"""The SMS adapters' pure parts: the vendors' documented status-report bodies read into receipts, the token that
authenticates those unsigned pushes, phone numbers, template lookup, and how the SDKs' errors are classed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.policy.retry import RetryPolicyContext
from tencentcloud.common.exception import TencentCloudSDKException

from services.notify.providers import aliyun_sms, tencent_sms
from services.notify.providers.base import Outgoing, PermanentError, ReceiptRefused, TransientError
from services.notify.providers.sms_common import template_for, to_e164

TOKEN = "unit-token"

# The sample of Aliyun's SmsReport page (https://help.aliyun.com/zh/sms/developer-reference/smsreport-2), with our
# OutId, and a failed one.
ALIYUN_REPORT = [
    {
        "phone_number": "13811111111",
        "send_time": "2017-01-01 00:00:00",
        "report_time": "2017-01-01 00:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "932702304080415357^0",
        "out_id": "6f1b7d2e-5f7c-4a55-9d8e-2f1d0c3b4a59",
    },
    {
        "phone_number": "13822222222",
        "send_time": "2017-01-01 00:00:00",
        "report_time": "2017-01-01 00:00:09",
        "success": False,
        "err_code": "MK:0001",
        "err_msg": "用户接收失败",
        "sms_size": "1",
        "biz_id": "932702304080415358^0",
        "out_id": "not-ours",
    },
]
# The sample of Tencent's 短信下发状态通知 page (cloud.tencent.com/document/product/382/52077), and a failed one.
TENCENT_REPORT = [
    {
        "user_receive_time": "2015-10-17 08:03:04",
        "nationcode": "86",
        "mobile": "13xxxxxxxxx",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "xxxxxxx",
    },
    {
        "user_receive_time": "2015-10-17 08:03:09",
        "nationcode": "86",
        "mobile": "13xxxxxxxxx",
        "report_status": "FAIL",
        "errmsg": "MK:0005",
        "description": "用户短信接收失败",
        "sid": "yyyyyyy",
    },
]


def test_aliyun_reports_become_receipts_keyed_by_our_out_id() -> None:
    parser = aliyun_sms.AliyunSmsReceipts(TOKEN)
    delivered, failed = parser.parse({}, {"token": TOKEN}, json.dumps(ALIYUN_REPORT).encode())

    assert delivered.status == "delivered"
    assert delivered.notification_id == uuid.UUID("6f1b7d2e-5f7c-4a55-9d8e-2f1d0c3b4a59")
    assert delivered.provider_message_id == "932702304080415357^0"
    assert delivered.at == datetime(2016, 12, 31, 16, 0, 5, tzinfo=UTC)  # Beijing time in the report
    assert (delivered.error_code, delivered.error_message) == (None, None)
    assert (failed.status, failed.notification_id, failed.error_code) == ("failed", None, "MK:0001")
    assert json.loads(parser.answer().body) == {"code": 0, "msg": "成功"}


def test_tencent_reports_become_receipts_keyed_by_the_serial_no() -> None:
    parser = tencent_sms.TencentSmsReceipts(TOKEN)
    delivered, failed = parser.parse({}, {"token": TOKEN}, json.dumps(TENCENT_REPORT).encode())

    assert (delivered.status, delivered.provider_message_id, delivered.notification_id) == (
        "delivered",
        "xxxxxxx",
        None,
    )
    assert delivered.at == datetime(2015, 10, 17, 0, 3, 4, tzinfo=UTC)
    assert (failed.status, failed.error_code, failed.error_message) == ("failed", "MK:0005", "用户短信接收失败")
    assert json.loads(parser.answer().body) == {"result": 0, "errmsg": "OK"}


@pytest.mark.parametrize("parser", [aliyun_sms.AliyunSmsReceipts(TOKEN), tencent_sms.TencentSmsReceipts(TOKEN)])
def test_an_unsigned_push_is_taken_only_with_the_callback_urls_token(parser: Any) -> None:
    body = json.dumps(ALIYUN_REPORT if parser.name == "aliyun_sms" else TENCENT_REPORT).encode()
    for query in ({}, {"token": ""}, {"token": TOKEN[:-1]}, {"token": TOKEN + "x"}, {"t": TOKEN}):
        with pytest.raises(ReceiptRefused) as refused:
            parser.parse({}, query, body)
        assert refused.value.status == 401
    for unreadable, status in ((b"not json", 400), (b'{"a": 1}', 422), (b"[1]", 422), (b'[{"sid": "x"}]', 422)):
        with pytest.raises(ReceiptRefused) as refused:
            parser.parse({}, {"token": TOKEN}, unreadable)
        assert refused.value.status == status


@pytest.mark.parametrize(
    ("parser", "body", "field"),
    [
        (aliyun_sms.AliyunSmsReceipts(TOKEN), b'[{"success": true, "biz_id": 932702304080415357}]', "biz_id"),
        (aliyun_sms.AliyunSmsReceipts(TOKEN), b'[{"success": true, "biz_id": "\\ud800"}]', "biz_id"),
        (
            aliyun_sms.AliyunSmsReceipts(TOKEN),
            b'[{"success": false, "biz_id": "b", "err_code": "\\u0000"}]',
            "err_code",
        ),
        (aliyun_sms.AliyunSmsReceipts(TOKEN), b'[{"success": false, "biz_id": "b", "err_msg": {"a": 1}}]', "err_msg"),
        (tencent_sms.TencentSmsReceipts(TOKEN), b'[{"report_status": "SUCCESS", "sid": "\\udfff"}]', "sid"),
        (tencent_sms.TencentSmsReceipts(TOKEN), b'[{"report_status": "FAIL", "sid": "s", "errmsg": 5}]', "errmsg"),
        (
            tencent_sms.TencentSmsReceipts(TOKEN),
            b'[{"report_status": "FAIL", "sid": "s", "description": []}]',
            "description",
        ),
    ],
)
def test_a_report_field_that_is_no_storable_text_is_refused_naming_it(parser: Any, body: bytes, field: str) -> None:
    """Found probing the receipts endpoint with the vendor's token: a number, an object, a NUL or a lone surrogate
    (JSON escapes) reached the database and failed there; now the push is a 422 naming the field."""
    with pytest.raises(ReceiptRefused) as refused:
        parser.parse({}, {"token": TOKEN}, body)
    assert refused.value.status == 422 and f"`{field}`" in str(refused.value)


def test_no_receipt_parser_without_a_token() -> None:
    assert aliyun_sms.receipts(aliyun_sms.Settings(receipt_token="")) is None
    assert tencent_sms.receipts(tencent_sms.Settings(receipt_token="")) is None


@pytest.mark.parametrize(
    ("address", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+85291234567", "+85291234567"),
    ],
)
def test_numbers_are_read_in_e164(address: str, e164: str) -> None:
    assert to_e164(address) == e164


@pytest.mark.parametrize("address", ["", "12345", "someone@example.cn", "2380013800"])
def test_what_is_not_a_number_is_permanent(address: str) -> None:
    with pytest.raises(PermanentError):
        to_e164(address)


def test_aliyun_wants_mainland_numbers_bare_and_others_without_plus() -> None:
    assert aliyun_sms.vendor_phone("+8613800138000") == "13800138000"
    assert aliyun_sms.vendor_phone("+85291234567") == "85291234567"


def test_a_template_falls_back_to_star_and_none_is_permanent() -> None:
    assert template_for({"a": "SMS_1", "*": "SMS_0"}, "a") == "SMS_1"
    assert template_for({"a": "SMS_1", "*": "SMS_0"}, "b") == "SMS_0"
    with pytest.raises(PermanentError) as refused:
        template_for({"a": "SMS_1"}, "b")
    assert refused.value.code == "template_not_configured"


def _unretryable(error: Exception) -> UnretryableException:
    return UnretryableException(RetryPolicyContext(retries_attempted=1, exception=error))


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        (ClientException(status_code=400, code="SignatureDoesNotMatch"), PermanentError, "SignatureDoesNotMatch"),
        (ClientException(status_code=404, code="InvalidAccessKeyId.NotFound"), PermanentError, None),
        (ClientException(status_code=400, code="Throttling.User"), TransientError, None),
        (ThrottlingException(status_code=400, code="Flow.Limit", retry_after=2), TransientError, None),
        (ServerException(status_code=503, code="ServiceUnavailable"), TransientError, None),
        (ServerException(status_code=500, code="InternalError"), TransientError, None),
        (_unretryable(RetryError("Connection refused")), TransientError, None),
    ],
)
def test_aliyun_sdk_errors_are_classed(error: Exception, kind: type[Exception], code: str | None) -> None:
    classed = aliyun_sms._classify(error)
    assert isinstance(classed, kind)
    if code:
        assert classed.code == code  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (TencentCloudSDKException("AuthFailure.SignatureFailure", "m"), PermanentError),
        (TencentCloudSDKException("AuthFailure.SecretIdNotFound", "m"), PermanentError),
        (TencentCloudSDKException("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "m"), PermanentError),
        (TencentCloudSDKException("InternalError", "m"), TransientError),
        (TencentCloudSDKException("RequestLimitExceeded", "m"), TransientError),
        (TencentCloudSDKException("ServerNetworkError", b"502 Bad Gateway"), TransientError),
        (httpx.ConnectError("refused"), TransientError),
        (httpx.ReadTimeout("slow"), TransientError),
    ],
)
def test_tencent_sdk_errors_are_classed(error: Exception, kind: type[Exception]) -> None:
    assert isinstance(tencent_sms._classify(error), kind)


class _TencentClient:
    """Stands for the SDK client where a response's shape is the point: what Tencent answers per number."""

    def __init__(self, send_code: str = "Ok", pulled: list[dict[str, Any]] | None = None) -> None:
        self.send_code = send_code
        self.pulled = pulled or []
        self.requests: list[Any] = []

    async def SendSms(self, request: Any) -> Any:
        self.requests.append(request)
        status = SimpleNamespace(Code=self.send_code, Message=self.send_code, SerialNo="2019:1")
        return SimpleNamespace(SendStatusSet=[status])

    async def PullSmsSendStatusByPhoneNumber(self, request: Any) -> Any:
        self.requests.append(request)
        return SimpleNamespace(PullSmsSendStatusSet=[SimpleNamespace(**row) for row in self.pulled])

    async def close(self) -> None:
        pass


def _settings() -> tencent_sms.Settings:
    return tencent_sms.Settings(
        secret_id="id",
        secret_key="key",
        sdk_app_id="1400000000",
        sign_name="水务",
        templates={"*": {"id": "1", "params": ["b", "a"]}},
    )


def _message() -> Outgoing:
    return Outgoing(uuid.uuid4(), "sms", "13800138000", "any", {"a": "A", "b": "B"}, "text", "zh")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", TransientError),
        ("InternalError.Timeout", TransientError),
        ("InvalidParameterValue.IncorrectPhoneNumber", PermanentError),
        ("FailedOperation.PhoneNumberInBlacklist", PermanentError),
        ("FailedOperation.TemplateIncorrectOrUnapproved", PermanentError),
    ],
)
async def test_tencent_per_number_codes_are_classed(code: str, kind: type[Exception]) -> None:
    provider = tencent_sms.TencentSms(_settings(), client=_TencentClient(code))  # type: ignore[arg-type]
    with pytest.raises(kind):
        await provider.send(_message())


async def test_tencent_params_go_in_the_templates_order_with_our_id_as_session_context() -> None:
    client = _TencentClient()
    provider = tencent_sms.TencentSms(_settings(), client=client)  # type: ignore[arg-type]
    message = _message()
    assert (await provider.send(message)).provider_message_id == "2019:1"
    [request] = client.requests
    assert request.TemplateParamSet == ["B", "A"]
    assert request.SessionContext == str(message.notification_id)
    assert request.PhoneNumberSet == ["+8613800138000"]


async def test_tencent_find_sent_cannot_tell_when_the_account_echoes_no_session_context() -> None:
    row = {"SessionContext": "", "SerialNo": "2019:9", "ReportStatus": "SUCCESS"}
    provider = tencent_sms.TencentSms(_settings(), client=_TencentClient(pulled=[row]))  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        await provider.find_sent(_message(), datetime.now(UTC))
    empty = tencent_sms.TencentSms(_settings(), client=_TencentClient())  # type: ignore[arg-type]
    assert await empty.find_sent(_message(), datetime.now(UTC)) is None


def test_enabled_needs_the_credentials_and_the_sign_name() -> None:
    assert not aliyun_sms.Settings().enabled
    assert aliyun_sms.Settings(access_key_id="a", access_key_secret="b", sign_name="s").enabled
    assert not tencent_sms.Settings(secret_id="a", secret_key="b", sign_name="s").enabled  # no SdkAppId
    assert _settings().enabled
