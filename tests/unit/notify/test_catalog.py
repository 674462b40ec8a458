"""The provider catalogue: built from each module's own settings, tolerant of a module that is not there, the
console inbox always present, and NOTIFY_SMS_PROVIDER choosing between two configured SMS vendors."""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime

import pytest

from services.notify.providers.base import Outgoing, Sent
from services.notify.providers.catalog import InboxProvider, load


@dataclass
class _Provider:
    name: str
    channel: str

    async def send(self, message: Outgoing) -> Sent:
        return Sent("x")

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


def _module(name: str, channel: str, *, enabled: bool = True, parser: object = None) -> types.ModuleType:
    module = types.ModuleType(name)

    class Settings:
        def __init__(self) -> None:
            self.enabled = enabled

    module.Settings = Settings  # type: ignore[attr-defined]
    module.build = lambda settings: _Provider(name, channel)  # type: ignore[attr-defined]
    module.receipts = lambda settings: parser  # type: ignore[attr-defined]
    return module


def _importer(**modules: types.ModuleType):  # type: ignore[no-untyped-def]
    def importer(qualified: str) -> types.ModuleType:
        short = qualified.rsplit(".", 1)[-1]
        if short not in modules:
            raise ModuleNotFoundError(f"No module named {qualified!r}", name=qualified)
        return modules[short]

    return importer


def test_missing_modules_are_providers_not_configured_and_the_console_is_always_there() -> None:
    catalog = load(importer=_importer())
    assert list(catalog.providers) == ["console"] and isinstance(catalog.providers["console"], InboxProvider)
    assert catalog.channels == {"console": "console"} and catalog.receipts == {}


def test_only_enabled_providers_are_built_with_their_receipt_parsers() -> None:
    parser = object()
    catalog = load(
        importer=_importer(
            aliyun_sms=_module("aliyun_sms", "sms", parser=parser),
            wechat=_module("wechat", "wechat", enabled=False),
            email_smtp=_module("smtp", "email"),
        )
    )
    assert catalog.channels == {"sms": "aliyun_sms", "email": "smtp", "console": "console"}
    assert catalog.receipts == {"aliyun_sms": parser}


@pytest.mark.parametrize(("vendor", "sends"), [("aliyun", "aliyun_sms"), ("tencent", "tencent_sms")])
def test_the_sms_vendor_is_chosen_when_both_are_configured(vendor: str, sends: str) -> None:
    modules = {"aliyun_sms": _module("aliyun_sms", "sms"), "tencent_sms": _module("tencent_sms", "sms")}
    catalog = load(vendor, importer=_importer(**modules))  # type: ignore[arg-type]
    assert catalog.channels["sms"] == sends
    assert {"aliyun_sms", "tencent_sms"} <= set(catalog.providers), "the other still answers find_sent and receipts"


def test_a_broken_adapter_is_not_mistaken_for_a_missing_one() -> None:
    def importer(qualified: str) -> types.ModuleType:
        raise ModuleNotFoundError("No module named 'alibabacloud_x'", name="alibabacloud_x")

    with pytest.raises(ModuleNotFoundError):
        load(importer=importer)
