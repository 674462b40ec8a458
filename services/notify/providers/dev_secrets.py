"""The providers' secrets refused at start-up when a production deployment still carries a development value.

Why: `make run` and the compose file configure every provider with well-known `dev-only-…` values (the stand-ins'
keys, the callback tokens in their report URLs). A copied `.env` reaching a real utility would then authenticate
anybody's forged delivery report with a public token, or send with keys every developer has. So, as
`shared.settings.refuse_dev_secrets` does for the services' machine keys, a provider's settings outside
`APP_ENV=dev`/`test` refuse any secret carrying the marker, naming the variables (never the values). Lengths are
not judged here: the vendors fix their own (WeChat's server token may be 3 characters).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.credentials import DEV_MARKER


class ProviderSettings(BaseSettings):
    """Base of each provider's `Settings`: reads `APP_ENV` (without the provider's own prefix) and refuses the
    fields named in `secrets` (environment variable → field) when one holds a development value outside dev/test."""

    #: `hide_input_in_errors`: a refusal (or any invalid field) must not print the input — every secret in it.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    app_env: Literal["dev", "test", "prod"] = Field(  # type: ignore[pydantic-alias]
        default="dev", validation_alias=AliasChoices("app_env", "APP_ENV")
    )
    #: Environment variable → the field holding that secret.
    secrets: ClassVar[dict[str, str]] = {}

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> ProviderSettings:
        if self.app_env in ("dev", "test"):
            return self
        weak = [variable for variable, name in self.secrets.items() if DEV_MARKER in _plain(getattr(self, name))]
        if weak:
            raise ValueError(f"refusing to start in {self.app_env!r}: development secrets for {sorted(weak)}")
        return self


def _plain(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")
