"""Notify's settings: the dev machine key is refused outside dev, bad quiet hours and a lease shorter than a call
are refused at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.notify.settings import NotifySettings


def test_the_dev_key_works_in_dev_and_is_refused_in_prod() -> None:
    assert NotifySettings(app_env="dev").system_by_key == {"dev-only-notify-key": "notify-dev-client"}
    with pytest.raises(ValidationError, match="refusing to start"):
        NotifySettings(app_env="prod")
    prod = NotifySettings(app_env="prod", notify_credentials={"k" * 32: "reporting"})
    assert prod.system_by_key == {"k" * 32: "reporting"}


def test_bad_quiet_hours_and_a_short_lease_are_refused() -> None:
    with pytest.raises(ValidationError, match="quiet hours"):
        NotifySettings(notify_quiet_hours="nine to five")
    with pytest.raises(ValidationError, match="NOTIFY_LEASE_S"):
        NotifySettings(notify_send_timeout_s=30, notify_lease_s=10)
    assert NotifySettings(notify_quiet_hours="").notify_quiet_hours == ""
