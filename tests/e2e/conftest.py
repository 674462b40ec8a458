"""The whole platform as `make run` starts it (`python -m embedded`), once per test module that asks for it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.identity import IdentityProvider

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, identity_provider: IdentityProvider) -> Iterator[dict[str, Any]]:
    """The platform, with the test module's `PLATFORM_ENV` (if any) on top of the SLA drill's settings.

    It uses the session's Keycloak (OIDC_ISSUER) rather than starting one per module: same realm, seconds saved.
    """
    # Outside pytest's private basetemp: the embedded Postgres runs as another user (see conftest.py).
    workdir = Path(tempfile.mkdtemp(prefix="uc-test-platform-"))
    ready_file = workdir / "ready.json"
    env = {
        **os.environ,
        "PLATFORM_DATA_DIR": str(workdir / "data"),
        "INTAKE_HTTP_PORT": str(_free_port()),
        # SLA drill: round limits, one minute lasting 60 ms, timers polled every 50 ms.
        "SLA_POLICY_PATH": str(Path(__file__).with_name("sla_drill_policy.toml")),
        "SLA_TIME_SCALE": "0.001",
        "TIMER_POLL_MS": "50",
        # Quiet hours off: every message goes at once, whatever the hour the suite runs (same work by day and night).
        "NOTIFY_QUIET_HOURS": "",
        **identity_provider.platform_env(),
    }
    env.update(getattr(request.module, "PLATFORM_ENV", {}))
    for var in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        env.pop(var, None)
    output = (workdir / "runner.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--ready-file", str(ready_file)],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("platform did not become ready:\n" + (workdir / "runner.out").read_text()[-4000:])
        time.sleep(0.2)
    info = json.loads(ready_file.read_text())
    info["process"] = proc
    info["runner_output"] = workdir / "runner.out"
    try:
        yield info
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        output.close()
        left = _left_behind(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
    # The runner SIGKILLed like a crash: everything it started (services, stand-ins, Postgres, Kafka) goes with it.
    assert not left, f"processes of the platform left running after the runner was killed: {left}"


def _left_behind(workdir: Path, timeout: float = 20.0) -> list[str]:
    """Processes still naming the platform's folder once they had `timeout` seconds to follow the runner."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for process in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                command = " ".join(process.info["cmdline"] or [])
                if str(workdir) in command and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(command[:160])
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
