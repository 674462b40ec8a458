"""Notify's settings: the dev machine key and the providers' dev secrets are refused outside dev, bad quiet hours
and a lease shorter than a call are refused at start-up."""

from __future__ import annotations

from types import ModuleType

import pytest
from pydantic import ValidationError

from services.notify.providers import aliyun_sms, email_smtp, tencent_sms, wechat
from services.notify.settings import NotifySettings

STRONG_KEY = "Zq3w8Xv1Lr6Tn0Yb5Kc9Md2Hf7Jg4Ps"


def test_the_dev_key_works_in_dev_and_is_refused_in_prod() -> None:
    assert NotifySettings(app_env="dev").system_by_key == {"dev-only-notify-key": "notify-dev-client"}
    with pytest.raises(ValidationError, match="refusing to start"):
        NotifySettings(app_env="prod")
    prod = NotifySettings(app_env="prod", notify_credentials={STRONG_KEY: "reporting"})
    assert prod.system_by_key == {STRONG_KEY: "reporting"}


def test_bad_quiet_hours_and_a_short_lease_are_refused() -> None:
    with pytest.raises(ValidationError, match="quiet hours"):
        NotifySettings(notify_quiet_hours="nine to five")
    with pytest.raises(ValidationError, match="NOTIFY_LEASE_S"):
        NotifySettings(notify_send_timeout_s=30, notify_lease_s=10)
    assert NotifySettings(notify_quiet_hours="").notify_quiet_hours == ""


PROVIDER_SECRETS = [
    (aliyun_sms, "ALIYUN_SMS_ACCESS_KEY_SECRET"),
    (aliyun_sms, "ALIYUN_SMS_RECEIPT_TOKEN"),
    (tencent_sms, "TENCENT_SMS_SECRET_KEY"),
    (tencent_sms, "TENCENT_SMS_RECEIPT_TOKEN"),
    (wechat, "WECHAT_APP_SECRET"),
    (wechat, "WECHAT_CALLBACK_TOKEN"),
    (email_smtp, "NOTIFY_BOUNCE_TOKEN"),
    (email_smtp, "SMTP_PASSWORD"),
]


@pytest.mark.parametrize(("module", "variable"), PROVIDER_SECRETS)
def test_a_providers_dev_secret_is_refused_outside_dev_and_test(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, variable: str
) -> None:
    """Read from the environment, as the catalogue builds them: APP_ENV without the provider's prefix."""
    monkeypatch.setenv(variable, "dev-only-standin-token")
    for env in ("dev", "test"):
        monkeypatch.setenv("APP_ENV", env)
        assert module.Settings().app_env == env
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ValidationError, match=f"refusing to start in 'prod'.*{variable}") as refused:
        module.Settings()
    assert "dev-only-standin-token" not in str(refused.value), "the value is never repeated"
    monkeypatch.setenv(variable, "Zq8v1R2x-a-real-secret-of-the-vendor")
    assert module.Settings().app_env == "prod"


def test_production_without_provider_secrets_starts() -> None:
    """Nothing configured is no provider, not a refusal; short vendor-chosen values are the vendor's business."""
    for module in (aliyun_sms, tencent_sms, wechat, email_smtp):
        assert module.Settings(app_env="prod").app_env == "prod"
    assert wechat.Settings(app_env="prod", wechat_callback_token="tok").wechat_callback_token == "tok"
