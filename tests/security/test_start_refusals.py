"""Issue 25, must-show 8, on the real entrypoints (`python -m services.<name>`): a service started without
`APP_ENV` refuses to start (there is no default to fall back to dev), and one started with `APP_ENV=prod` and a
development key refuses too, naming the credential and never printing the key."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys

import pytest
from pydantic import ValidationError

SERVICES = ("intake", "dispatch", "followup", "reporting", "console", "notify", "channels")
#: Far more than an import takes; a service that did start would be listening on its port by then.
DEADLINE_S = 60


async def _start(service: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"services.{service}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=DEADLINE_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{service} started (it ran {DEADLINE_S} s) instead of refusing")
    return process.returncode or 0, stderr.decode(errors="replace")


def _environment(**extra: str) -> dict[str, str]:
    # Nothing the test session set (its APP_ENV=test) leaks in; ports of 0 in case a refusal did not happen.
    env = {k: v for k, v in os.environ.items() if k != "APP_ENV" and not k.endswith("_CREDENTIALS")}
    return {**env, **{f"{s.upper()}_HTTP_PORT": "0" for s in SERVICES}, **extra}


async def test_a_service_started_without_app_env_refuses() -> None:
    code, stderr = await _start("intake", _environment())
    assert code != 0, "intake exited 0 without APP_ENV"
    assert "app_env" in stderr and "Field required" in stderr, stderr[-600:]


@pytest.mark.parametrize("service", SERVICES)
def test_no_services_settings_read_without_app_env(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entrypoint builds its settings first (`__main__.py`): the class refusing is the service refusing
    (one process above shows it; seven would cost the suite half a minute)."""
    monkeypatch.delenv("APP_ENV", raising=False)
    module = importlib.import_module(f"services.{service}.__main__")
    settings_class = next(
        v for k, v in vars(module).items() if k.endswith("Settings") and isinstance(v, type) and k != "BaseSettings"
    )
    with pytest.raises(ValidationError, match="app_env"):
        settings_class()


async def test_a_service_with_a_dev_key_in_prod_refuses_to_start_naming_it_not_printing_it() -> None:
    dev_key = "dev-only-supervisor-key"
    strong = "Zq3w8Xv1Lr6Tn0Yb5Kc9Md2Hf7Jg4Ps"
    credentials = (
        f'{{"{strong}": {{"name": "repair-desk", "role": "department", "department": "repair"}}, '
        f'"{dev_key}": {{"name": "duty-supervisor", "role": "supervisor"}}}}'
    )
    code, stderr = await _start("dispatch", _environment(APP_ENV="prod", DISPATCH_CREDENTIALS=credentials))
    assert code != 0
    assert "refusing to start in 'prod'" in stderr and "duty-supervisor (a development key)" in stderr, stderr[-600:]
    assert dev_key not in stderr and strong not in stderr
