"""Outside dev and test a service refuses to start unless Kafka is reached over SASL_SSL (issue 25): a PLAINTEXT
listener, or TLS without SASL, is refused with an error naming `KAFKA_SECURITY_PROTOCOL`; dev and test keep their
developer's bare broker; the console (its live pages read the topics) is held to it like every service.

The environment is set explicitly in each test: the session's own (SASL_SSL, `tests/conftest.py`) must not decide
the outcome."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.console.settings import ConsoleSettings
from services.intake.settings import IntakeSettings
from shared.kafka.security import KafkaSecuritySettings, refuse_plaintext_kafka
from shared.settings import ServiceSettings

SECURED = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_USERNAME": "intake",
    "KAFKA_SASL_PASSWORD": "a-scram-password-of-the-intake-principal",
    "KAFKA_SSL_CAFILE": "/certs/kafka/ca.pem",
}


@pytest.fixture
def kafka_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_prod_refuses_a_plaintext_broker_naming_the_setting(kafka_env: pytest.MonkeyPatch) -> None:
    kafka_env.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL must be SASL_SSL") as refused:
        ServiceSettings(app_env="prod")
    assert "it is PLAINTEXT" in str(refused.value)
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL"):
        ServiceSettings(app_env="prod", kafka_security_protocol="PLAINTEXT")


def test_unset_is_plaintext_and_refused_in_prod(kafka_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL"):
        ServiceSettings(app_env="prod")


@pytest.mark.parametrize("protocol", ["SSL", "SASL_PLAINTEXT"])
def test_tls_without_sasl_or_sasl_without_tls_is_refused_in_every_environment(
    kafka_env: pytest.MonkeyPatch, protocol: str
) -> None:
    kafka_env.setenv("KAFKA_SECURITY_PROTOCOL", protocol)
    for env in ("prod", "dev"):
        with pytest.raises(ValidationError, match="kafka_security_protocol") as refused:
            ServiceSettings(app_env=env)
        assert "SASL_SSL" in str(refused.value)


def test_sasl_ssl_starts_in_prod_and_its_password_never_shows(kafka_env: pytest.MonkeyPatch) -> None:
    for name, value in SECURED.items():
        kafka_env.setenv(name, value)
    assert ServiceSettings(app_env="prod").kafka_secured
    kafka_env.delenv("KAFKA_SASL_USERNAME")
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME") as refused:
        ServiceSettings(app_env="prod")
    assert SECURED["KAFKA_SASL_PASSWORD"] not in str(refused.value)


def test_a_services_own_settings_inherit_the_refusal(kafka_env: pytest.MonkeyPatch) -> None:
    """Strong keys, so only the broker's security is wrong: intake (a service with its own settings) refuses too."""
    strong = {
        "intake_channel_credentials": {"web": "Zq3w8Xv1Lr6Tn0Yb5Kc9Md2Hf7Jg4Ps"},
        "intake_customer_hash_key": "Pn7Bv2Cx9Lk4Wq1Zr6Tm3Yd8Hs5Gf0Ja",
    }
    kafka_env.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL must be SASL_SSL"):
        IntakeSettings(app_env="prod", **strong)  # type: ignore[arg-type]
    for name, value in SECURED.items():
        kafka_env.setenv(name, value)
    assert IntakeSettings(app_env="prod", **strong).kafka_secured  # type: ignore[arg-type]


def test_dev_and_test_keep_a_plaintext_broker_and_the_console_is_held_to_it_too(kafka_env: pytest.MonkeyPatch) -> None:
    for env in ("dev", "test"):
        assert not ServiceSettings(app_env=env).kafka_secured
        refuse_plaintext_kafka(env, KafkaSecuritySettings())
    assert ConsoleSettings.uses_kafka is True  # its live pages read the topics (issue 24)
    with pytest.raises(ValueError, match="refusing to start in 'staging'"):
        refuse_plaintext_kafka("staging", KafkaSecuritySettings())
