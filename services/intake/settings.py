"""Intake's settings (environment variables, prefix-free like the rest of the platform)."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, model_validator

from shared.contracts import Channel
from shared.settings import IdentitySettings, PlanCacheMode, ServiceSettings, refuse_dev_secrets

DEV_MARKER = "dev-only"
#: The development key of the phones' hashes that customers are matched by (refused outside development).
DEV_CUSTOMER_HASH_KEY = f"{DEV_MARKER}-customer-hash-key"


def _dev_credentials() -> dict[str, str]:
    return {channel.value: f"{DEV_MARKER}-{channel.value}-key" for channel in Channel}


class IntakeSettings(ServiceSettings, IdentitySettings):
    """Channels' API keys, and (with `OIDC_ISSUER`) the provider whose tokens name the agents who submit."""

    intake_http_host: str = "127.0.0.1"
    intake_http_port: int = Field(default=8000, ge=0, le=65535)
    #: Channel → API key / bearer token. JSON in the environment, e.g. {"web": "…", "app": "…"}.
    intake_channel_credentials: dict[str, str] = Field(default_factory=_dev_credentials)
    #: Requests larger than this are refused with 413 before they are parsed.
    intake_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    intake_consumer_group: str = "intake"
    #: Every statement of intake's is a keyed lookup or a write, and the submission's one statement was planned anew
    #: for each submission under `auto`: 1.36 → 0.76 ms of Postgres's CPU per submission (bench/README.md).
    database_plan_cache_mode: PlanCacheMode = "force_generic_plan"
    outbox_batch_size: int = Field(default=500, ge=1)
    #: The key of the keyed hashes of phones that customers are matched by (`customers.py`). Changing it makes
    #: every known phone unknown (customers are then found again by account or address, and learn it anew).
    intake_customer_hash_key: str = DEV_CUSTOMER_HASH_KEY
    #: Submissions per credential (a channel's key, a signed-in person) per minute, and per customer phone per hour
    #: (`limits.py`): past either, 429 with Retry-After. Unset: the production defaults outside dev/test, none in
    #: dev and test; 0: none.
    intake_rate_limit_per_credential: int | None = Field(default=None, ge=0)
    intake_rate_limit_per_phone: int | None = Field(default=None, ge=0)
    #: Days a customer's contact data is kept after their last case closed; then they are erased (issue 25).
    intake_contact_retention_days: int = Field(default=3 * 365, ge=1)
    #: How often the retention sweep looks for customers past their retention (seconds).
    intake_retention_sweep_seconds: float = Field(default=3600.0, gt=0)
    #: How often an erased customer's clear copies on the ingress topics are looked for, while any erasure waits
    #: for its scrub (seconds; `ingress_scrub.py`). Nothing is read from Kafka while none waits.
    intake_ingress_scrub_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _check_credentials(self) -> IntakeSettings:
        unknown = set(self.intake_channel_credentials) - {c.value for c in Channel}
        if unknown:
            raise ValueError(f"intake_channel_credentials names unknown channels: {sorted(unknown)}")
        tokens = list(self.intake_channel_credentials.values())
        if len(tokens) != len(set(tokens)):
            raise ValueError("intake_channel_credentials: each channel needs its own credential")
        refuse_dev_secrets(
            self,
            {**self.intake_channel_credentials, "intake_customer_hash_key": self.intake_customer_hash_key},
            DEV_MARKER,
        )
        return self

    @property
    def rate_limits(self) -> tuple[int, int]:
        """(per credential per minute, per phone per hour): a busy web front end stays far below the first, and no
        customer files more than a handful of complaints an hour."""
        default_credential, default_phone = (0, 0) if self.is_dev else (600, 10)
        return (
            default_credential
            if self.intake_rate_limit_per_credential is None
            else self.intake_rate_limit_per_credential,
            default_phone if self.intake_rate_limit_per_phone is None else self.intake_rate_limit_per_phone,
        )

    @cached_property
    def channel_by_token(self) -> dict[str, Channel]:
        return {token: Channel(channel) for channel, token in self.intake_channel_credentials.items()}
