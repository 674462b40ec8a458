"""Which providers this deployment has: each provider module's own `Settings()` says whether it is configured
(`enabled`: its credentials are present); a configured one is built with its receipt parser.

Modules are imported by name and tolerantly: a module that is not installed is a provider not configured, so a
deployment (or a build) without a vendor's adapter still runs. The console inbox is always there — staff notices
finally land in it — and stands in for itself with `InboxProvider` when its module is absent.

When both SMS vendors are configured, `NOTIFY_SMS_PROVIDER` picks the one that sends; the other stays in the
catalogue so messages it already took can still be checked (`find_sent`) and receive their receipts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Literal

from services.notify.providers.base import Channel, Outgoing, Provider, ReceiptParser, Sent
from shared.logging import get_logger

log = get_logger(__name__)

#: (module under services.notify.providers, the channel it sends on)
MODULES: tuple[tuple[str, Channel], ...] = (
    ("aliyun_sms", "sms"),
    ("tencent_sms", "sms"),
    ("wechat", "wechat"),
    ("email_smtp", "email"),
    ("console_inbox", "console"),
)
_SMS_VENDORS = {"aliyun": "aliyun_sms", "tencent": "tencent_sms"}


class InboxProvider:
    """The console inbox: a staff notice is its delivery row (`staff_id`), so acceptance is delivery."""

    name = "console"
    channel: Channel = "console"

    async def send(self, message: Outgoing) -> Sent:
        return Sent(provider_message_id=str(message.notification_id), delivered=True)

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        return None  # nothing left the building: "sending" again only marks it delivered

    async def aclose(self) -> None:
        return None


@dataclass
class Catalog:
    #: provider name → provider
    providers: dict[str, Provider] = field(default_factory=dict)
    #: provider name → its receipt parser (only providers with status reports)
    receipts: dict[str, ReceiptParser] = field(default_factory=dict)
    #: channel → the provider that sends on it
    channels: dict[str, str] = field(default_factory=dict)

    def add(self, provider: Provider, parser: ReceiptParser | None = None, *, sends: bool = True) -> None:
        self.providers[provider.name] = provider
        if parser is not None:
            self.receipts[provider.name] = parser
        if sends:
            self.channels.setdefault(provider.channel, provider.name)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            try:
                await provider.aclose()
            except Exception as exc:
                log.warning("provider did not close cleanly", provider=provider.name, error=type(exc).__name__)


Importer = Callable[[str], ModuleType]


def _module(name: str, importer: Importer) -> ModuleType | None:
    qualified = f"{__package__}.{name}"
    try:
        return importer(qualified)
    except ModuleNotFoundError as exc:
        if exc.name != qualified:
            raise  # the adapter exists but a dependency of it is missing: say so
        return None


def load(
    sms_vendor: Literal["aliyun", "tencent"] = "aliyun", *, importer: Importer = importlib.import_module
) -> Catalog:
    """Every configured provider, from each module's own settings (its environment variables)."""
    built: dict[str, tuple[Provider, ReceiptParser | None]] = {}
    for module_name, _channel in MODULES:
        module = _module(module_name, importer)
        if module is None:
            continue
        settings = module.Settings()
        if not getattr(settings, "enabled", False):
            continue
        built[module_name] = (module.build(settings), module.receipts(settings))
    catalog = Catalog()
    preferred = _SMS_VENDORS[sms_vendor]
    for module_name in sorted(built, key=lambda m: m != preferred):
        provider, parser = built[module_name]
        catalog.add(provider, parser)
    if "console" not in catalog.providers:
        catalog.add(InboxProvider())
    log.info("providers configured", providers=sorted(catalog.providers), channels=catalog.channels)
    return catalog


def fixed(*providers: Provider, receipts: Mapping[str, ReceiptParser] | None = None) -> Catalog:
    """A catalogue of the given providers (the first on a channel sends on it), plus the console inbox."""
    catalog = Catalog()
    for provider in providers:
        catalog.add(provider, (receipts or {}).get(provider.name))
    if "console" not in catalog.providers:
        catalog.add(InboxProvider())
    return catalog


__all__ = ["MODULES", "Catalog", "InboxProvider", "fixed", "load"]
