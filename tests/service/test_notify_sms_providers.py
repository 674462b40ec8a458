"""The Aliyun and Tencent SMS adapters, through the vendors' own SDKs, against the gateway stand-ins run as their own
processes over real HTTP: the stand-ins recompute each request's signature (ACS3-HMAC-SHA256, TC3-HMAC-SHA256) from
the secret they were configured with, and push their status reports to a real HTTP receiver that reads them with
the adapters' receipt parsers and answers what the vendor expects (so the stand-ins' retry-until-acknowledged runs
for real)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from embedded.standins.process import StandInProcess
from services.notify.providers import aliyun_sms, tencent_sms
from services.notify.providers.base import (
    Outgoing,
    PermanentError,
    Provider,
    Receipt,
    ReceiptParser,
    ReceiptRefused,
    TransientError,
)
from tests.support.ports import free_port

TOKEN = "test-sms-receipt-token"
SIGN_NAME = "城市水务"


class Receiver:
    """A real HTTP endpoint standing where notify's `POST /v1/receipts/{provider}` would be: it reads each push with
    the provider's parser and answers as notify would (the parser's acknowledgement, or the refusal's status);
    `refuse_next` makes it answer 503 a few times first, as a notify that is down."""

    def __init__(self, name: str, parser: ReceiptParser) -> None:
        self.bodies: list[bytes] = []
        self.receipts: list[Receipt] = []
        self.refuse_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.bodies.append(body)
                if receiver.refuse_next > 0:
                    receiver.refuse_next -= 1
                    return self._reply(503, b"down")
                try:
                    receipts = parser.parse(dict(self.headers), dict(parse_qsl(urlsplit(self.path).query)), body)
                except ReceiptRefused as refused:
                    return self._reply(refused.status, str(refused).encode())
                receiver.receipts.extend(receipts)
                self._reply(200, parser.answer().body)

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/receipts/{name}?token={TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Vendor:
    """One vendor's adapter wired to its running stand-in."""

    name: str
    standin: StandInProcess
    receiver: Receiver
    make: Callable[..., Provider]
    #: The vendor's codes for: a wrong secret, an unknown key id, an invalid number.
    bad_signature: str
    unknown_key: str
    invalid_number: str

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        if body is None:
            return httpx.get(f"{self.standin.url}/_standin/{path}").json()
        return httpx.post(f"{self.standin.url}/_standin/{path}", json=body).raise_for_status().json()

    def accepted(self, key: uuid.UUID) -> list[dict[str, Any]]:
        return [m for m in self.control("messages") if m["idempotency_key"] == str(key)]

    def receipts_for(self, message_id: str) -> list[Receipt]:
        return [r for r in self.receiver.receipts if r.provider_message_id == message_id]


def _host(standin: StandInProcess) -> str:
    return standin.url.removeprefix("http://")


def _aliyun(endpoint: str, **overrides: Any) -> Provider:
    settings = aliyun_sms.Settings(
        access_key_id=overrides.get("key_id", "test-aliyun-key-id"),
        access_key_secret=overrides.get("secret", "test-aliyun-key-secret"),
        endpoint=endpoint,
        protocol="HTTP",
        sign_name=SIGN_NAME,
        template_codes={"complaint_received": "SMS_480001", "*": "SMS_480000"},
        timeout_s=overrides.get("timeout_s", 5.0),
    )
    return aliyun_sms.build(settings)


def _tencent(endpoint: str, **overrides: Any) -> Provider:
    settings = tencent_sms.Settings(
        secret_id=overrides.get("key_id", "test-tencent-secret-id"),
        secret_key=overrides.get("secret", "test-tencent-secret-key"),
        endpoint=endpoint,
        protocol="HTTP",
        sdk_app_id="1400123456",
        sign_name=SIGN_NAME,
        templates={
            "complaint_received": {"id": "2100001", "params": ["reference_no", "hours"]},
            "*": {"id": "2100000", "params": ["reference_no"]},
        },
        timeout_s=overrides.get("timeout_s", 5.0),
    )
    return tencent_sms.build(settings)


@pytest.fixture(scope="module")
def aliyun(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vendor]:
    parser = aliyun_sms.receipts(aliyun_sms.Settings(receipt_token=TOKEN))
    assert parser is not None
    with Receiver("aliyun_sms", parser) as receiver:
        env = {
            "ALIYUN_SMS_STANDIN_KEYS": '{"test-aliyun-key-id": "test-aliyun-key-secret"}',
            "ALIYUN_SMS_STANDIN_TEMPLATES": '{"SMS_480000": ["reference_no"], "SMS_480001": ["reference_no", "hours"]}',
            "ALIYUN_SMS_STANDIN_RECEIPT_URL": receiver.url,
            "ALIYUN_SMS_STANDIN_REPORT_DELAY_S": "0.05",
        }
        work = tmp_path_factory.mktemp("aliyun_sms")
        with StandInProcess("embedded.standins.aliyun_sms", work, env=env) as standin:
            yield Vendor(
                "aliyun_sms",
                standin,
                receiver,
                lambda **o: _aliyun(_host(standin), **o),
                bad_signature="SignatureDoesNotMatch",
                unknown_key="InvalidAccessKeyId.NotFound",
                invalid_number="isv.MOBILE_NUMBER_ILLEGAL",
            )


@pytest.fixture(scope="module")
def tencent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vendor]:
    parser = tencent_sms.receipts(tencent_sms.Settings(receipt_token=TOKEN))
    assert parser is not None
    with Receiver("tencent_sms", parser) as receiver:
        env = {
            "TENCENT_SMS_STANDIN_KEYS": '{"test-tencent-secret-id": "test-tencent-secret-key"}',
            "TENCENT_SMS_STANDIN_SDK_APP_ID": "1400123456",
            "TENCENT_SMS_STANDIN_TEMPLATES": '{"2100000": 1, "2100001": 2}',
            "TENCENT_SMS_STANDIN_RECEIPT_URL": receiver.url,
            "TENCENT_SMS_STANDIN_REPORT_DELAY_S": "0.05",
        }
        work = tmp_path_factory.mktemp("tencent_sms")
        with StandInProcess("embedded.standins.tencent_sms", work, env=env) as standin:
            yield Vendor(
                "tencent_sms",
                standin,
                receiver,
                lambda **o: _tencent(_host(standin), **o),
                bad_signature="AuthFailure.SignatureFailure",
                unknown_key="AuthFailure.SecretIdNotFound",
                invalid_number="InvalidParameterValue.IncorrectPhoneNumber",
            )


@pytest.fixture(params=["aliyun", "tencent"])
def vendor(request: pytest.FixtureRequest) -> Iterator[Vendor]:
    chosen: Vendor = request.getfixturevalue(request.param)
    yield chosen
    chosen.control("faults", {"reset": True})


def _phone() -> str:
    """A mainland number of this test's own (the stand-ins outlive a test)."""
    return f"139{uuid.uuid4().int % 10**8:08d}"


def _message(phone: str, template_id: str = "complaint_received") -> Outgoing:
    return Outgoing(
        notification_id=uuid.uuid4(),
        channel="sms",
        address=phone,
        template_id=template_id,
        params={"reference_no": "TS-20250301-000042", "hours": "12"},
        text="您的诉求已受理，受理号 TS-20250301-000042，12小时内答复。",
        locale="zh",
    )


async def _eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("not within the deadline")
        await asyncio.sleep(0.05)


async def test_a_send_arrives_with_our_idempotency_key_and_is_reported_delivered(vendor: Vendor) -> None:
    provider = vendor.make()
    message = _message(_phone())
    try:
        sent = await provider.send(message)
    finally:
        await provider.aclose()

    assert sent.provider_message_id and not sent.delivered
    [accepted] = vendor.accepted(message.notification_id)
    assert accepted["vendor_message_id"] == sent.provider_message_id
    assert accepted["phone"] == "+86" + message.address
    assert accepted["sign_name"] == SIGN_NAME
    if vendor.name == "aliyun_sms":
        assert (accepted["template"], accepted["params"]) == ("SMS_480001", dict(message.params))
    else:  # TemplateParamSet in the template's order
        assert (accepted["template"], accepted["params"]) == ("2100001", ["TS-20250301-000042", "12"])
    [receipt] = await _eventually(lambda: vendor.receipts_for(sent.provider_message_id))
    assert receipt.status == "delivered" and receipt.at is not None
    if vendor.name == "aliyun_sms":  # Aliyun's report carries our OutId; Tencent's only the SerialNo
        assert receipt.notification_id == message.notification_id


async def test_a_wrong_secret_or_unknown_key_is_refused_with_the_vendors_code(vendor: Vendor) -> None:
    """The stand-in recomputes the signature: a secret that differs in one character is caught."""
    message = _message(_phone())
    for overrides, code in (
        ({"secret": "test-aliyun-key-secreT" if vendor.name == "aliyun_sms" else "test-tencent-secret-keY"}, None),
        ({"key_id": "someone-else"}, vendor.unknown_key),
    ):
        provider = vendor.make(**overrides)
        try:
            with pytest.raises(PermanentError) as refused:
                await provider.send(message)
        finally:
            await provider.aclose()
        assert refused.value.code == (code or vendor.bad_signature)
    assert vendor.accepted(message.notification_id) == []


async def test_a_gateway_that_is_down_is_a_transient_error_and_then_takes_the_message(vendor: Vendor) -> None:
    vendor.control("faults", {"down_for_s": 30})
    provider = vendor.make()
    message = _message(_phone())
    try:
        with pytest.raises(TransientError):
            await provider.send(message)
        assert vendor.accepted(message.notification_id) == []
        vendor.control("faults", {"reset": True})
        sent = await provider.send(message)
    finally:
        await provider.aclose()
    assert [m["vendor_message_id"] for m in vendor.accepted(message.notification_id)] == [sent.provider_message_id]


async def test_an_unreachable_gateway_is_a_transient_error(vendor: Vendor) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    provider = _aliyun(endpoint) if vendor.name == "aliyun_sms" else _tencent(endpoint)
    try:
        with pytest.raises(TransientError):
            await provider.send(_message(_phone()))
    finally:
        await provider.aclose()


async def test_an_invalid_number_is_refused_at_once_as_permanent(vendor: Vendor) -> None:
    phone = _phone()
    vendor.control("faults", {"invalid_numbers": ["+86" + phone]})
    provider = vendor.make()
    message = _message(phone)
    try:
        with pytest.raises(PermanentError) as refused:
            await provider.send(message)
    finally:
        await provider.aclose()
    assert refused.value.code == vendor.invalid_number
    assert vendor.accepted(message.notification_id) == []


async def test_a_failing_number_is_accepted_then_reported_failed_and_the_report_is_retried(vendor: Vendor) -> None:
    """The receiver is down (503) for the first two pushes: the stand-in keeps pushing until acknowledged."""
    phone = _phone()
    vendor.control("faults", {"failing_numbers": ["+86" + phone]})
    vendor.receiver.refuse_next = 2
    pushes_before = len(vendor.receiver.bodies)
    provider = vendor.make()
    message = _message(phone)
    try:
        sent = await provider.send(message)
    finally:
        await provider.aclose()

    [receipt] = await _eventually(lambda: vendor.receipts_for(sent.provider_message_id))
    assert receipt.status == "failed" and receipt.error_code
    assert len(vendor.receiver.bodies) - pushes_before >= 3
    assert vendor.accepted(message.notification_id)[0]["status"] == "failed"


async def test_find_sent_finds_a_sent_message_and_not_an_unsent_one(vendor: Vendor) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    provider = vendor.make()
    phone = _phone()
    sent_message, unsent_message = _message(phone), _message(phone)
    try:
        sent = await provider.send(sent_message)
        # Tencent lists a message once its status report is in.
        await _eventually(lambda: vendor.receipts_for(sent.provider_message_id))
        found = await provider.find_sent(sent_message, since)
        missing = await provider.find_sent(unsent_message, since)
    finally:
        await provider.aclose()
    if vendor.name == "aliyun_sms":  # QuerySendDetails rows carry our OutId but no BizId
        assert found == f"OutId:{sent_message.notification_id}"
    else:
        assert found == sent.provider_message_id
    assert missing is None


async def test_a_receipt_with_a_wrong_token_is_refused(vendor: Vendor) -> None:
    parser = (aliyun_sms.receipts if vendor.name == "aliyun_sms" else tencent_sms.receipts)(
        (aliyun_sms.Settings if vendor.name == "aliyun_sms" else tencent_sms.Settings)(receipt_token=TOKEN)
    )
    assert parser is not None
    provider = vendor.make()
    try:
        sent = await provider.send(_message(_phone()))
    finally:
        await provider.aclose()
    await _eventually(lambda: vendor.receipts_for(sent.provider_message_id))
    [body] = [b for b in vendor.receiver.bodies if str(sent.provider_message_id).encode() in b]  # the real push
    assert parser.parse({}, {"token": TOKEN}, body)
    for query in ({}, {"token": TOKEN + "x"}, {"token": ""}):
        with pytest.raises(ReceiptRefused) as refused:
            parser.parse({}, query, body)
        assert refused.value.status == 401
    bad = f"{vendor.receiver.url.split('?')[0]}?token=wrong"
    assert httpx.post(bad, content=body).status_code == 401


def test_the_stand_ins_write_what_they_accepted_to_their_data_dir(aliyun: Vendor, tencent: Vendor) -> None:
    for vendor in (aliyun, tencent):
        lines = (Path(vendor.standin.work_dir) / f"{vendor.name}.jsonl").read_text().splitlines()
        assert len(lines) == len(vendor.control("messages"))
