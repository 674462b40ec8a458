"""Settings common to every service, read from environment variables (pydantic-settings).

Each service subclasses `ServiceSettings`; insecure development defaults are refused outside `dev`/`test`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.credentials import DEV_MARKER, weakness
from shared.kafka.security import KafkaSecuritySettings, refuse_plaintext_kafka

Environment = Literal["dev", "test", "prod"]
PlanCacheMode = Literal["auto", "force_generic_plan", "force_custom_plan"]


class ServiceSettings(KafkaSecuritySettings):
    """Infrastructure every service needs. Environment variables win; nothing is read from files.

    The Kafka principal and TLS trust (`KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*`, `KAFKA_SSL_CAFILE`) come from
    `shared.kafka.security.KafkaSecuritySettings`; the services hand these settings to every client they build, and
    outside dev/test anything but SASL_SSL is refused at start-up."""

    # A refused setting never prints the values given (a database password, a key) in the error.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    #: Required, no default: a container started without it must not fall back to development (where the dev keys
    #: printed in the README are accepted). `make run` sets dev, the tests test, compose and k8s prod.
    app_env: Environment
    database_url: str = "postgresql://postgres@127.0.0.1:5432/utility"
    database_pool_min: int = Field(default=2, ge=1)
    database_pool_max: int = Field(default=10, ge=1)
    #: `plan_cache_mode` of the service's database sessions (DATABASE_PLAN_CACHE_MODE). Postgres's `auto` plans a
    #: prepared statement afresh on every run for as long as its generic plan is estimated dearer than the custom
    #: ones; that planning is what a statement run once per request costs most (intake, issue 27). A service whose
    #: statements are keyed lookups and writes gains by `force_generic_plan`; one that filters by ranges (reports)
    #: keeps `auto`, where a plan made for the parameters given can choose better.
    database_plan_cache_mode: PlanCacheMode = "auto"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    log_level: str = "INFO"
    #: Share of successful, fast requests whose access-log line is written; failed (4xx, 5xx) and slow requests
    #: are always logged (`shared.http.request_context.AccessLog`).
    access_log_sample_rate: float = Field(default=0.1, ge=0.0, le=1.0)
    #: Attempts of a consumer handler before the message is dead-lettered.
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    #: Time zone of the utility: reference numbers and "today" follow it.
    timezone: str = "Asia/Shanghai"
    #: Prometheus instrumentation of HTTP, consumers and publishes (`/metrics` answers either way; off only to
    #: measure what it costs, see bench/load.py --compare-metrics).
    metrics_enabled: bool = True
    #: OpenTelemetry traces: on when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, e.g.
    #: http://otel-collector:4318), or when TRACING_ENABLED=true with a tracer provider the process installed.
    tracing_enabled: bool = False
    otel_exporter_otlp_endpoint: str | None = None
    #: Whether `/docs`, `/redoc` and `/openapi.json` (EXPOSE_API_DOCS) and `/metrics` (EXPOSE_METRICS) are served
    #: (`shared.http.exposure`): unset, in dev and test yes, in prod no (a closed path is 404).
    expose_api_docs: bool | None = None
    expose_metrics: bool | None = None
    #: Writes (POST, PUT, PATCH, DELETE) per credential per minute (`shared.http.write_limits`): unset, 600 outside
    #: dev/test and none in dev and test; 0: none.
    write_rate_limit_per_credential: int | None = Field(default=None, ge=0)
    #: How often a process adds its rate-limit counts to its replicas' and reads theirs back (seconds;
    #: `shared.http.rate_counts`): a replica may overshoot a shared limit by what the others let through in one.
    rate_limit_sync_seconds: float = Field(default=1.0, gt=0)

    #: Whether the service has Kafka clients: only then is a plaintext broker connection refused outside dev/test
    #: (`shared.kafka.security.refuse_plaintext_kafka`). The console, which only calls the services over HTTP, says no.
    uses_kafka: ClassVar[bool] = True

    @model_validator(mode="after")
    def _refuse_plaintext_kafka(self) -> ServiceSettings:
        if self.uses_kafka:
            refuse_plaintext_kafka(self.app_env, self)
        return self

    @property
    def is_dev(self) -> bool:
        return self.app_env in ("dev", "test")

    @property
    def api_docs_exposed(self) -> bool:
        return self.is_dev if self.expose_api_docs is None else self.expose_api_docs

    @property
    def metrics_exposed(self) -> bool:
        return self.is_dev if self.expose_metrics is None else self.expose_metrics

    @property
    def write_limit_per_minute(self) -> int:
        if self.write_rate_limit_per_credential is not None:
            return self.write_rate_limit_per_credential
        return 0 if self.is_dev else 600


def refuse_dev_secrets(
    settings: ServiceSettings,
    secrets: Mapping[str, str] | Iterable[tuple[str, str]],
    dev_value_marker: str = DEV_MARKER,
) -> None:
    """Fail start-up when a production deployment still carries a development, placeholder or weak secret.

    Why: a copied `.env` with the well-known dev keys (or the README's placeholder) must never reach a real
    utility's network. Judged by each value (`shared.credentials.weakness`), whatever the variable's name; the
    error names the secrets, never their values. Pairs, not only a mapping: two keys configured under one name
    (two credentials called "supervisor") are both judged.
    """
    if settings.is_dev:
        return
    pairs = list(secrets.items()) if isinstance(secrets, Mapping) else list(secrets)
    refused = {
        f"{name} ({'a development key' if dev_value_marker in value else weakness(value)})"
        for name, value in pairs
        if dev_value_marker in value or weakness(value)
    }
    if refused:
        named = ", ".join(sorted(refused))
        raise ValueError(f"refusing to start in {settings.app_env!r}: {named}")


class IdentitySettings(BaseSettings):
    """Where persons' tokens come from: the utility's OpenID Connect provider (Keycloak in `make run`).

    Unset, a service accepts only its machine API keys. Mixed into each service's settings.
    """

    # A refused setting never prints the values given (a database password, a key) in the error.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    oidc_issuer: str | None = None
    oidc_audience: str = "utility-services"
    #: Only when the provider publishes its keys somewhere other than `<issuer>/protocol/openid-connect/certs`.
    oidc_jwks_url: str | None = None
