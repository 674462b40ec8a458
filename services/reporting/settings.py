"""Reporting's settings (environment variables)."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.reporting.model import HotspotRules
from shared.credentials import DEV_MARKER
from shared.settings import IdentitySettings, ServiceSettings, refuse_dev_secrets

Role = Literal["manager", "supervisor", "agent"]


class ReaderCredential(BaseModel):
    name: str
    role: Role


def _dev_credentials() -> dict[str, ReaderCredential]:
    return {
        f"{DEV_MARKER}-manager-key": ReaderCredential(name="operations-manager", role="manager"),
        f"{DEV_MARKER}-reporting-agent-key": ReaderCredential(name="hotline-agent", role="agent"),
    }


def _agents_only() -> list[Role]:
    return ["agent"]


def _supervisors_only() -> list[Role]:
    return ["supervisor"]


#: The lowest reader: reads a case with its contact (on the phone with the customer), never exports them in bulk.
LOWEST_READER: Role = "agent"


class ReportingSettings(ServiceSettings, IdentitySettings):
    """Readers' API keys, and (with `OIDC_ISSUER`) the provider of staff tokens."""

    reporting_http_host: str = "127.0.0.1"
    reporting_http_port: int = Field(default=8003, ge=0, le=65535)
    #: Token → reader (JSON in the environment): {"<token>": {"name": "...", "role": "manager"}}
    reporting_credentials: dict[str, ReaderCredential] = Field(default_factory=_dev_credentials)
    #: Credential roles that may see customers' real names and phone numbers (everyone else, and every signed-in
    #: person, gets them masked).
    reporting_contact_roles: list[Role] = Field(default_factory=_agents_only)
    #: Credential roles whose cases export (`/v1/cases.csv`) carries customers' real names and phone numbers: only
    #: roles above the lowest reader (an agent's key is refused here), and every such export is logged.
    reporting_contact_export_roles: list[Role] = Field(default_factory=_supervisors_only)
    reporting_consumer_group: str = "reporting"
    reporting_batch_size: int = Field(default=1000, ge=1)
    hotspot_surge_ratio: float = Field(default=3.0, gt=1)
    hotspot_min_count: int = Field(default=5, ge=1)
    #: The surge alert (`metrics.surge_sampler`, alert rules `ComplaintSurge*`): the last hour against the week
    #: before, so 30 complaints about one compound in 20 minutes flag it at the next scrape.
    hotspot_alert_window_hours: int = Field(default=1, ge=1, le=24)
    hotspot_alert_baseline_days: int = Field(default=7, ge=1, le=90)
    #: Where browsers reach the console: reporting's old dashboard addresses (`/`, `/dashboard/`) send them to its
    #: `/dashboard` (the managers' dashboard, behind the sign-in). Unset: those addresses answer 404.
    reporting_console_url: str | None = None

    @model_validator(mode="after")
    def _check_export_roles(self) -> ReportingSettings:
        if LOWEST_READER in self.reporting_contact_export_roles:
            raise ValueError(
                f"REPORTING_CONTACT_EXPORT_ROLES: the export of names and phones needs a role above {LOWEST_READER!r}"
            )
        return self

    @model_validator(mode="after")
    def _check_credentials(self) -> ReportingSettings:
        refuse_dev_secrets(self, [(c.name, token) for token, c in self.reporting_credentials.items()], DEV_MARKER)
        return self

    @cached_property
    def credential_by_token(self) -> dict[str, ReaderCredential]:
        return dict(self.reporting_credentials)

    @property
    def hotspot_rules(self) -> HotspotRules:
        return HotspotRules(self.hotspot_surge_ratio, self.hotspot_min_count)
