"""Dispatch's settings (environment variables)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.contracts import Department
from shared.settings import IdentitySettings, ServiceSettings, refuse_dev_secrets

DEV_MARKER = "dev-only"


class CredentialConfig(BaseModel):
    """Who a token belongs to: a department (its staff desk or its own system) or a supervisor."""

    name: str
    #: outage_system: the utility's outage/SCADA system, which declares and updates outage notices only.
    role: Literal["department", "supervisor", "outage_system"]
    department: Department | None = None

    @model_validator(mode="after")
    def _department_role(self) -> CredentialConfig:
        if self.role == "department" and self.department is None:
            raise ValueError(f"credential {self.name!r}: a department credential names its department")
        return self


def _dev_credentials() -> dict[str, CredentialConfig]:
    creds = {
        f"{DEV_MARKER}-{d.value.replace('_', '-')}-key": CredentialConfig(
            name=f"{d.value}-desk", role="department", department=d
        )
        for d in Department
    }
    creds[f"{DEV_MARKER}-supervisor-key"] = CredentialConfig(name="supervisor", role="supervisor")
    creds[f"{DEV_MARKER}-outage-system-key"] = CredentialConfig(name="outage-system", role="outage_system")
    return creds


class DispatchSettings(ServiceSettings, IdentitySettings):
    """Departments' and supervisors' API keys, and (with `OIDC_ISSUER`) the provider whose tokens name the staff."""

    dispatch_http_host: str = "127.0.0.1"
    dispatch_http_port: int = Field(default=8001, ge=0, le=65535)
    #: Token → credential. JSON in the environment: {"<token>": {"name": "repair-desk", "role": "department",
    #: "department": "repair"}, "<token>": {"name": "duty-supervisor", "role": "supervisor"}}
    dispatch_credentials: dict[str, CredentialConfig] = Field(default_factory=_dev_credentials)
    #: Classification rules file (lexicons, weights, severity triggers); the shipped one by default.
    dispatch_rules_path: str | None = None
    #: Incident rules file (threshold, window, severity steps, families); the shipped one by default.
    dispatch_incident_rules_path: str | None = None
    #: Root-cause catalogue (per department, zh/en labels); the shipped root_causes.toml by default.
    dispatch_root_causes_path: str | None = None
    #: The crews (crew,department,name_zh,name_en CSV); the demo city's deploy/demo-city/crews.csv by default.
    dispatch_crews_path: str | None = None
    #: Where photos taken on site are kept: `local` (a folder: DISPATCH_PHOTO_DIR, by default
    #: <PLATFORM_DATA_DIR or .data>/photos) or `s3` (an S3-compatible bucket: the DISPATCH_S3_* settings).
    dispatch_photo_storage: Literal["local", "s3"] = "local"
    dispatch_photo_dir: str | None = None
    platform_data_dir: str | None = None
    #: The largest photo accepted (bytes); larger ones are refused with 413.
    dispatch_photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    dispatch_s3_endpoint: str | None = None
    dispatch_s3_bucket: str | None = None
    dispatch_s3_region: str = "us-east-1"
    dispatch_s3_access_key_id: str | None = None
    dispatch_s3_secret_access_key: str | None = None
    #: A folder inside the bucket, when the bucket is shared.
    dispatch_s3_prefix: str = "dispatch"
    dispatch_consumer_group: str = "dispatch"
    #: How often each replica checks which category model is promoted (seconds): a promotion reaches every replica
    #: within this long.
    dispatch_model_refresh_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: Retrain the category model from people's corrections every this many hours (0: only when a supervisor asks);
    #: a scheduled candidate waits for a supervisor to promote it, like any other.
    dispatch_retrain_every_hours: float = Field(default=0.0, ge=0)
    #: The frozen blind set the promotion gate scores on (JSONL); tests/data/complaints_blind.jsonl by default.
    dispatch_blind_set_path: str | None = None
    #: The seed training set a retrained model starts from (JSONL); the shipped learning/data/seed_train.jsonl.
    dispatch_seed_set_path: str | None = None
    #: A serious or emergency case's lead work order resolves only once leadership (or HR/administration) approved
    #: the cause analysis and corrective actions its department proposed (issue 24, seed 001). `false` keeps the
    #: older rule — the resolving department types them into the resolution — for a city whose department systems
    #: still resolve over the ingress before its leadership works in the console.
    dispatch_serious_approval: bool = True
    dispatch_batch_size: int = Field(default=500, ge=1)
    #: Shrinks SLA clock limits (0.001 = a minute becomes 60 ms) for drills and tests.
    sla_time_scale: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _check_credentials(self) -> DispatchSettings:
        refuse_dev_secrets(self, [(c.name, token) for token, c in self.dispatch_credentials.items()], DEV_MARKER)
        return self

    @model_validator(mode="after")
    def _check_photo_storage(self) -> DispatchSettings:
        s3 = (self.dispatch_s3_endpoint, self.dispatch_s3_bucket, self.dispatch_s3_access_key_id)
        if self.dispatch_photo_storage == "s3" and not (all(s3) and self.dispatch_s3_secret_access_key):
            raise ValueError(
                "DISPATCH_PHOTO_STORAGE=s3 needs DISPATCH_S3_ENDPOINT, DISPATCH_S3_BUCKET, DISPATCH_S3_ACCESS_KEY_ID "
                "and DISPATCH_S3_SECRET_ACCESS_KEY"
            )
        return self

    @property
    def photo_dir(self) -> Path:
        """DISPATCH_PHOTO_DIR, else `photos` in the platform's data folder (PLATFORM_DATA_DIR, else .data)."""
        if self.dispatch_photo_dir:
            return Path(self.dispatch_photo_dir)
        return Path(self.platform_data_dir or ".data") / "photos"

    @cached_property
    def credential_by_token(self) -> dict[str, CredentialConfig]:
        return dict(self.dispatch_credentials)
