"""Notify's settings (environment variables): its HTTP listener, machine keys, and the delivery rules — the daily
cap, quiet hours, retries and the sending worker's pace. Each provider reads its own variables
(`providers/<module>.py`); which SMS vendor sends, when both are configured, is chosen here."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from services.notify.model import QuietHours
from shared.settings import IdentitySettings, ServiceSettings, refuse_dev_secrets

DEV_MARKER = "dev-only"


def _dev_credentials() -> dict[str, str]:
    return {f"{DEV_MARKER}-notify-key": "notify-dev-client"}


class NotifySettings(ServiceSettings, IdentitySettings):
    """Machine keys (JSON key → system name) for the deliveries API; staff sign in with their tokens
    (`OIDC_ISSUER`)."""

    notify_http_host: str = "127.0.0.1"
    notify_http_port: int = Field(default=8005, ge=0, le=65535)
    notify_credentials: dict[str, str] = Field(default_factory=_dev_credentials)
    notify_consumer_group: str = "notify"
    #: Customer messages per customer per local day, over every channel; urgent ones go anyway (and count).
    notify_daily_cap: int = Field(default=3, ge=1)
    #: The ceiling no path passes: messages to one customer's number (else address, else openid) per local day,
    #: urgent ones included — over it a message is suppressed (`number_limit`), whatever asked for it.
    notify_number_daily_limit: int = Field(default=10, ge=1)
    #: Local time window (the utility's time zone) when routine customer SMS and WeChat wait; empty: none.
    notify_quiet_hours: str = "21:00-08:00"
    notify_retry_base_s: float = Field(default=2.0, gt=0)
    notify_retry_max_s: float = Field(default=300.0, gt=0)
    #: Provider calls per channel before moving on to the next channel.
    notify_max_attempts: int = Field(default=6, ge=1)
    #: The SMS vendor when both are configured (else whichever is).
    notify_sms_provider: Literal["aliyun", "tencent"] = "aliyun"
    #: How often the sending worker looks for due messages when nothing woke it.
    notify_poll_ms: int = Field(default=200, ge=10)
    #: Provider calls in flight at once, per process.
    notify_concurrency: int = Field(default=32, ge=1)
    #: A provider call's limit; past it the attempt is in doubt and the vendor is asked before any resend.
    notify_send_timeout_s: float = Field(default=20.0, gt=0)
    #: How long a claimed attempt belongs to its process; after it another process checks it (`find_sent`).
    notify_lease_s: float = Field(default=60.0, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1)

    @field_validator("notify_quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value, "UTC")
        return value

    @model_validator(mode="after")
    def _check(self) -> NotifySettings:
        refuse_dev_secrets(self, [(name, key) for key, name in self.notify_credentials.items()], DEV_MARKER)
        if self.notify_lease_s <= self.notify_send_timeout_s:
            raise ValueError("NOTIFY_LEASE_S must exceed NOTIFY_SEND_TIMEOUT_S: a call in flight keeps its lease")
        return self

    @cached_property
    def system_by_key(self) -> dict[str, str]:
        return dict(self.notify_credentials)
