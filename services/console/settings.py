"""The console's settings (environment variables, prefix-free like the rest of the platform)."""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, model_validator

from shared.settings import IdentitySettings, ServiceSettings, refuse_dev_secrets

DEV_MARKER = "dev-only"


class ConsoleSettings(ServiceSettings, IdentitySettings):
    #: The live pages read the platform's topics (`live.py`), so the broker connection is held to SASL_SSL outside
    #: dev/test like every service's.
    uses_kafka: ClassVar[bool] = True

    console_http_host: str = "127.0.0.1"
    console_http_port: int = Field(default=8004, ge=0, le=65535)
    #: Where people's browsers reach the console: the provider sends them back to `<this>/auth/callback`, and an
    #: https URL makes the session cookie `Secure`.
    console_public_url: str = "http://127.0.0.1:8004"
    #: The console's own client at the identity provider (a confidential client: it has a secret).
    console_oidc_client_id: str = "console"
    console_oidc_client_secret: str = "dev-only-console-secret"  # noqa: S105 - refused outside dev and test
    #: The provider's discovery document, when not at `<issuer>/.well-known/openid-configuration`.
    console_oidc_discovery_url: str | None = None
    #: The services the console calls as the signed-in person.
    intake_url: str = "http://127.0.0.1:8000"
    dispatch_url: str = "http://127.0.0.1:8001"
    followup_url: str = "http://127.0.0.1:8002"
    reporting_url: str = "http://127.0.0.1:8003"
    #: Notify, for the person's staff notices (`/inbox`): CONSOLE_NOTIFY_URL, or NOTIFY_URL as `make run` sets it.
    notify_url: str = Field(  # type: ignore[pydantic-alias]
        default="http://127.0.0.1:8005", validation_alias=AliasChoices("console_notify_url", "notify_url")
    )
    #: The longest a session lives (a shift), however long the provider would refresh it.
    console_session_hours: float = Field(default=12, gt=0, le=24 * 7)
    #: Refresh the person's access token when it runs out within this many seconds.
    console_refresh_margin_s: int = Field(default=60, ge=0, le=3600)
    #: An unanswered sign-in (the person never came back from the provider) is forgotten after this.
    console_sign_in_minutes: int = Field(default=10, ge=1, le=120)
    #: Machine readers of the directory API (`GET /v1/staff`, `/v1/rota/now`): API key → system name.
    console_directory_credentials: dict[str, str] = Field(
        default_factory=lambda: {f"{DEV_MARKER}-directory-key": "directory-reader"}
    )
    #: A staff file (CSV or JSON) and a rota loaded when the directory is empty at start-up (`make run`: the
    #: demo city's); an operator's own import is never overwritten.
    console_seed_staff: str | None = None
    console_seed_rota: str | None = None
    #: Larger requests are refused with 413 before they are read (a crew's photo is the largest thing sent).
    console_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    #: Seconds the console waits for a service before it tells the person it is unavailable.
    console_upstream_timeout_s: float = Field(default=10, gt=0, le=120)
    #: The live pages (`live.py`): whether this replica reads the topics and serves `GET /live`; the most open
    #: change streams one process holds (a browser tab each; more are refused with 503 and the page falls back to
    #: reloads); the heartbeat comment that keeps proxies from closing an idle stream.
    console_live_enabled: bool = True
    console_live_max_streams: int = Field(default=500, ge=1, le=100_000)
    console_live_heartbeat_s: float = Field(default=15, gt=0, le=300)

    @model_validator(mode="after")
    def _check(self) -> ConsoleSettings:
        parts = urlsplit(self.console_public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("console_public_url: an http(s) URL, e.g. https://console.utility.example")
        secrets = {
            "console_oidc_client_secret": self.console_oidc_client_secret,
            **{
                f"console_directory_credentials[{name}]": key
                for key, name in self.console_directory_credentials.items()
            },
        }
        refuse_dev_secrets(self, secrets, DEV_MARKER)
        if not self.is_dev and parts.scheme != "https":
            raise ValueError(f"refusing to start in {self.app_env!r}: console_public_url must be https")
        return self

    @property
    def public_url(self) -> str:
        return self.console_public_url.rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/auth/callback"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @cached_property
    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url.rstrip("/"),
            "dispatch": self.dispatch_url.rstrip("/"),
            "followup": self.followup_url.rstrip("/"),
            "reporting": self.reporting_url.rstrip("/"),
            "notify": self.notify_url.rstrip("/"),
        }

    @property
    def issuer_origin(self) -> str | None:
        """The provider's origin, which the sign-out form is allowed to lead to (CSP form-action)."""
        if not self.oidc_issuer:
            return None
        parts = urlsplit(self.oidc_issuer)
        return f"{parts.scheme}://{parts.netloc}"
