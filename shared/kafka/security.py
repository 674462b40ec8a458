"""How every Kafka client of the platform authenticates and encrypts: one settings class, one translation each
for aiokafka and FastStream.

Why one place: a client built without these options talks plaintext to a broker that refuses it, and the refusal
looks like a network fault. Every producer, consumer, admin client and FastStream broker (services, outbox relay,
dead-letter CLI, replay, rebuild, bench, tests) takes its options from `client_options` / `faststream_security`,
which read `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD` and
`KAFKA_SSL_CAFILE` from the environment unless a service hands in its own settings.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SASL_SSL"]
ScramMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]


class KafkaSecuritySettings(BaseSettings):
    """The client side of the broker's SASL_SSL listener. PLAINTEXT only for a developer's own bare broker."""

    # A refused setting never prints the values given (a password) in the error.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: ScramMechanism = "SCRAM-SHA-512"
    #: The principal (`User:<name>`) the broker's ACLs know this process by (`shared.kafka.principals`).
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    #: The CA that signed the broker's certificate (PEM); unset: the system's trust store.
    kafka_ssl_cafile: str | None = None

    @model_validator(mode="after")
    def _check_credentials(self) -> KafkaSecuritySettings:
        if self.kafka_security_protocol == "SASL_SSL" and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError("KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return self

    @property
    def kafka_secured(self) -> bool:
        return self.kafka_security_protocol == "SASL_SSL"


def refuse_plaintext_kafka(app_env: str, security: KafkaSecuritySettings) -> None:
    """Refuse to start outside dev and test unless Kafka is reached over SASL_SSL (SCRAM over verified TLS).

    Why: a production service on a PLAINTEXT listener sends `complaint.contact` in clear and authenticates as
    nobody, so the broker's ACLs cannot tell it from an intruder; TLS without SASL encrypts but still names no
    principal. Only SASL_SSL passes (other protocols are refused by `SecurityProtocol` in every environment)."""
    if app_env in ("dev", "test") or security.kafka_secured:
        return
    raise ValueError(
        f"refusing to start in {app_env!r}: KAFKA_SECURITY_PROTOCOL must be SASL_SSL (it is "
        f"{security.kafka_security_protocol}), with KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL_CAFILE "
        "(see deploy/README.md)"
    )


def from_environment() -> KafkaSecuritySettings:
    """The process's Kafka security, read afresh (a test session sets it once its broker is up)."""
    return KafkaSecuritySettings()


@functools.lru_cache(maxsize=8)
def tls_context(cafile: str | None) -> ssl.SSLContext:
    """A client TLS context that verifies the broker's certificate and host name against `cafile` (or the system
    trust store); cached, contexts are costly to build and safe to share."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_options(security: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client."""
    chosen = security if security is not None else from_environment()
    if not chosen.kafka_secured:
        return {}
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": chosen.kafka_sasl_mechanism,
        "sasl_plain_username": chosen.kafka_sasl_username,
        "sasl_plain_password": chosen.kafka_sasl_password,
        "ssl_context": tls_context(chosen.kafka_ssl_cafile),
    }


def faststream_security(security: KafkaSecuritySettings | None = None) -> BaseSecurity | None:
    """The same for FastStream's `KafkaBroker(security=...)`."""
    chosen = security if security is not None else from_environment()
    if not chosen.kafka_secured:
        return None
    scram = SASLScram512 if chosen.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(
        username=str(chosen.kafka_sasl_username),
        password=str(chosen.kafka_sasl_password),
        ssl_context=tls_context(chosen.kafka_ssl_cafile),
    )


def environment(security: KafkaSecuritySettings) -> dict[str, str]:
    """The environment variables that give a child process `security` (the runner's services, tools)."""
    values = {
        "KAFKA_SECURITY_PROTOCOL": security.kafka_security_protocol,
        "KAFKA_SASL_MECHANISM": security.kafka_sasl_mechanism,
        "KAFKA_SASL_USERNAME": security.kafka_sasl_username or "",
        "KAFKA_SASL_PASSWORD": security.kafka_sasl_password or "",
        "KAFKA_SSL_CAFILE": security.kafka_ssl_cafile or "",
    }
    return {name: value for name, value in values.items() if value}
