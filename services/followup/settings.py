"""Followup's settings (environment variables)."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.settings import IdentitySettings, ServiceSettings, refuse_dev_secrets

DEV_MARKER = "dev-only"


class AgentCredential(BaseModel):
    name: str
    role: Literal["agent", "supervisor"]


def _dev_credentials() -> dict[str, AgentCredential]:
    return {
        f"{DEV_MARKER}-agent-key": AgentCredential(name="callback-agent", role="agent"),
        f"{DEV_MARKER}-followup-supervisor-key": AgentCredential(name="followup-supervisor", role="supervisor"),
    }


class FollowupSettings(ServiceSettings, IdentitySettings):
    """Callback agents' and supervisors' API keys, and (with `OIDC_ISSUER`) the provider of staff tokens."""

    followup_http_host: str = "127.0.0.1"
    followup_http_port: int = Field(default=8002, ge=0, le=65535)
    #: Token → callback agent or supervisor (JSON in the environment).
    followup_credentials: dict[str, AgentCredential] = Field(default_factory=_dev_credentials)
    followup_consumer_group: str = "followup"
    #: Shrinks every SLA clock; must match dispatch's (same variable) so deadlines and intervals agree.
    sla_time_scale: float = Field(default=1.0, gt=0)
    timer_batch_size: int = Field(default=200, ge=1)
    timer_poll_ms: int = Field(default=500, ge=10)
    callback_max_attempts: int = Field(default=3, ge=1)
    callback_retry_minutes: float = Field(default=120, gt=0)
    notification_locale: Literal["zh", "en"] = "zh"
    #: Hours after its event beyond which no customer message is sent for it (a new consumer group reading history,
    #: a followup that was down for days); 0: no horizon.
    followup_customer_message_horizon_hours: float = Field(default=24.0, ge=0)
    outbox_batch_size: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _check_credentials(self) -> FollowupSettings:
        refuse_dev_secrets(self, [(c.name, token) for token, c in self.followup_credentials.items()], DEV_MARKER)
        return self

    @cached_property
    def credential_by_token(self) -> dict[str, AgentCredential]:
        return dict(self.followup_credentials)

    @property
    def callback_retry_interval(self) -> timedelta:
        return timedelta(minutes=self.callback_retry_minutes)
