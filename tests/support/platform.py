"""The platform as a real process tree, the one starter of the e2e and fault tiers: `python -m embedded` (what
`make run` starts) on a data folder of its own, every port free-picked; its processes found with psutil, killed,
frozen and restarted; stopped again gracefully (`stop_platform`: SIGINT, as Ctrl-C) or as a crash (`kill_platform`:
SIGKILL, and nothing it started may outlive it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil

from tests.support.ports import bound_socket, port_of

ROOT = Path(__file__).resolve().parents[2]
#: The services whose Kafka consumers must have started before a platform counts as up.
SERVICES = ("intake", "dispatch", "followup", "reporting")


# --- the platform ---------------------------------------------------------------------------------------


@dataclass
class Platform:
    """A running `python -m embedded` and what its ready file says."""

    workdir: Path
    proc: subprocess.Popen[bytes]
    info: dict[str, Any]
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return str(self.info["database_url"])

    @property
    def bootstrap(self) -> str:
        return str(self.info["kafka_bootstrap_servers"])

    def url(self, service: str) -> str:
        return str(self.info["services"][service])

    @property
    def services(self) -> dict[str, str]:
        """Service name → its base URL, as the ready file lists them."""
        return {name: str(url) for name, url in self.info["services"].items()}

    @property
    def gateways(self) -> dict[str, str]:
        """The vendors' stand-ins (sms, wechat, mail ...) → their base URL."""
        return {name: str(url) for name, url in self.info.get("gateways", {}).items()}

    @property
    def runner_path(self) -> Path:
        """Where the runner's own output goes (`runner.out`)."""
        return self.workdir / "runner.out"

    @property
    def logs_dir(self) -> Path:
        return Path(self.info["logs_dir"])

    @property
    def data_dir(self) -> Path:
        return Path(self.info["data_dir"])

    def _children(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=False)

    def service(self, name: str) -> psutil.Process | None:
        """The runner's child running `python -m services.<name>` (None while it is being restarted)."""
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                if child.cmdline()[-2:] == ["-m", f"services.{name}"] and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def kafka(self) -> psutil.Process | None:
        """The Apache Kafka node: the runner's Java child running `kafka.Kafka` (None while it is being
        restarted)."""
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                if "kafka.Kafka" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def broker(self) -> psutil.Process:
        """The Kafka node, which must be running."""
        node = self.kafka()
        if node is None:
            raise LookupError("no Kafka node (java ... kafka.Kafka) under the runner:\n" + self.output_tail())
        return node

    def postgres(self) -> psutil.Process | None:
        """The postmaster (the runner's child; its backends are the postmaster's children)."""
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                if child.name() == "postgres" and "-D" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def runner_output(self) -> str:
        return self.runner_path.read_text(errors="replace")

    def output_tail(self, chars: int = 4000) -> str:
        return self.runner_output()[-chars:]

    def log_tail(self, service: str, chars: int = 4000) -> str:
        path = self.logs_dir / f"{service}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def start_platform(
    timeout: float = 240.0,
    *,
    workdir: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    infrastructure_only: bool = False,
) -> Platform:
    """`python -m embedded` in a temporary data folder, default SLA policy, every port free-picked; returns
    once the ready file exists and every service's Kafka consumers have started.

    With `workdir` (the `workdir` of an earlier, stopped platform), it runs again on that folder's data:
    the same database, topics, events and committed offsets. The runner's output is appended to its
    `runner.out`. `extra_env` goes on top of the runner's environment: the session's identity provider
    (`IdentityProvider.platform_env()`), so that the runner does not start a Keycloak of its own.
    `infrastructure_only`: Postgres, Kafka and the stand-ins without any service, as an operator runs them to
    repair data no service may touch meanwhile (`operations.reconcile`)."""
    # Outside pytest's basetemp: as root the embedded Postgres runs as another user (see tests/conftest.py).
    reused = workdir is not None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="uc-test-platform-"))
    ready_file = workdir / "ready.json"
    env = {**os.environ, "PLATFORM_DATA_DIR": str(workdir / "data")}
    for var in (
        "DATABASE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "POSTGRES_PORT",
        "KAFKA_PORT",
        "EMBEDDED_SERVICES",
        "SLA_POLICY_PATH",
        "SLA_TIME_SCALE",
        "TIMER_POLL_MS",
        "OIDC_ISSUER",
        "OIDC_AUDIENCE",
        "CONSOLE_OIDC_CLIENT_ID",
        "CONSOLE_OIDC_CLIENT_SECRET",
        "KEYCLOAK_PORT",
    ):
        env.pop(var, None)
    # Serious cases resolve with the department's own analysis, as before issue 24, unless a drill switches the
    # leadership's approval on (tests/e2e/supervision/).
    env["DISPATCH_SERIOUS_APPROVAL"] = "false"
    env.update(extra_env or {})
    if infrastructure_only:
        env["EMBEDDED_SERVICES"] = "[]"
    for port_env in (
        "INTAKE_HTTP_PORT",
        "DISPATCH_HTTP_PORT",
        "FOLLOWUP_HTTP_PORT",
        "REPORTING_HTTP_PORT",
        "CONSOLE_HTTP_PORT",
        "NOTIFY_HTTP_PORT",
        "CHANNELS_HTTP_PORT",
    ):
        env[port_env] = "0"  # a free one each: never collide with a `make run` on 8000-8006
    with (workdir / "runner.out").open("ab") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "embedded", "--ready-file", str(ready_file)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out = (workdir / "runner.out").read_text(errors="replace")[-4000:]
            if not reused:
                shutil.rmtree(workdir, ignore_errors=True)
            raise AssertionError("platform did not become ready:\n" + out)
        time.sleep(0.2)
    platform = Platform(workdir, proc, json.loads(ready_file.read_text()))
    try:
        for name in () if infrastructure_only else SERVICES:
            wait_service_ready_sync(platform.url(name), deadline=deadline)
            assert_serves_its_port(platform, name)
    except BaseException:
        stop_platform(platform, keep_data=reused)
        raise
    return platform


def assert_serves_its_port(platform: Platform, name: str) -> None:
    """The runner's own `name` process listens on the port of its URL. The runner picks free ports seconds
    before its services bind them; another process (say, a second test run on the machine) can take one
    meanwhile and would then answer in the service's place, with a /readyz that looks the same."""
    port = urlsplit(platform.url(name)).port
    child = platform.service(name)
    with contextlib.suppress(psutil.Error):
        if child is not None and any(
            c.status == psutil.CONN_LISTEN and _port_of(c.laddr) == port for c in child.net_connections("tcp")
        ):
            return
    holders = []
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and _port_of(conn.laddr) == port and conn.pid:
            with contextlib.suppress(psutil.Error):
                holders.append(f"pid {conn.pid} {' '.join(psutil.Process(conn.pid).cmdline())[:200]}")
    raise AssertionError(
        f"port {port} of {name} is not served by the runner's {name} process but by {holders or 'nobody'}:\n"
        + platform.output_tail()
    )


def _port_of(address: Any) -> int | None:
    """The port of a socket address psutil reports (an empty tuple for an unbound socket)."""
    return getattr(address, "port", None)


def wait_service_ready_sync(url: str, *, deadline: float) -> None:
    last = "no answer"
    with httpx.Client(timeout=3) as client:
        while True:
            try:
                response = client.get(f"{url}/readyz")
                body = response.json()
                if response.status_code == 200 and body.get("kafka") == "connected":
                    return
                last = f"{response.status_code} {body}"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} not ready with Kafka connected: {last}")
            time.sleep(0.2)


async def wait_service_ready(url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll /readyz until 200 with Kafka consumers started; returns the readiness body."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=3) as client:
        while True:
            try:
                response = await client.get(f"{url}/readyz")
                body = response.json()
                if response.status_code == 200 and body.get("kafka") == "connected":
                    return dict(body)
                last = f"{response.status_code} {body}"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} not ready with Kafka connected: {last}")
            await asyncio.sleep(0.2)


def stop_platform(platform: Platform, *, keep_data: bool = False) -> None:
    """Ctrl-C the runner (services, broker, Postgres stop in order); SIGKILL what is left after 60 s. The
    folder is deleted unless `keep_data` (to start the platform again on it: `start_platform(workdir=...)`)."""
    with contextlib.suppress(psutil.Error, LookupError):
        platform.broker().send_signal(signal.SIGCONT)  # a test that failed mid-outage left it frozen
    for extra in platform.extra:
        stop_process(extra)
    leftovers: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        leftovers = psutil.Process(platform.proc.pid).children(recursive=True)
    if platform.proc.poll() is None:
        platform.proc.send_signal(signal.SIGINT)
        try:
            platform.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(platform.proc.pid, signal.SIGKILL)
            platform.proc.wait(timeout=10)
    for child in leftovers:
        with contextlib.suppress(psutil.Error):
            child.kill()
    if not keep_data:
        shutil.rmtree(platform.workdir, ignore_errors=True)


def kill_platform(platform: Platform, *, grace: float = 20.0) -> list[str]:
    """SIGKILL the runner's whole process group, as a crash would, and delete its folder. Returns the command lines
    of processes that still name the folder after `grace` seconds: everything the runner started (services,
    stand-ins, Postgres, Kafka) must die with it, so a caller asserts this is empty."""
    if platform.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(platform.proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        platform.proc.wait(timeout=10)
    left = left_behind(platform.workdir, timeout=grace)
    shutil.rmtree(platform.workdir, ignore_errors=True)
    return left


def left_behind(workdir: Path, timeout: float = 20.0) -> list[str]:
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


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30.0) -> int:
    """SIGTERM (a graceful leave: consumers commit and leave their groups), SIGKILL after `grace`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)


async def kill_and_await_restart(platform: Platform, service: str, timeout: float = 30.0) -> tuple[int, int, float]:
    """SIGKILL the service's process and wait until the runner started its successor (after its backoff).
    Returns (old pid, new pid, seconds until the successor existed). Not waiting for the successor to be
    ready: its consumers rejoin their groups only once the dead member's session expired, and that wait
    belongs in the stream (`wait_quiet` covers it)."""
    victim = platform.service(service)
    assert victim is not None, f"{service} is not running:\n{platform.output_tail()}"
    began = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    deadline = began + timeout
    while True:
        successor = platform.service(service)
        if successor is not None and successor.pid != victim.pid:
            return victim.pid, successor.pid, time.monotonic() - began
        if time.monotonic() > deadline:
            raise AssertionError(f"{service} was not restarted by the runner:\n{platform.output_tail()}")
        await asyncio.sleep(0.05)


async def restart_postgres(platform: Platform, timeout: float = 90.0) -> tuple[int, int, float]:
    """Fast shutdown of the postmaster (SIGINT, as `pg_ctl -m fast`); the runner sees it gone and starts
    it again on the same port and data. Returns (old pid, new pid, seconds until it accepted a connection)."""
    postmaster = platform.postgres()
    assert postmaster is not None
    began = time.monotonic()
    postmaster.send_signal(signal.SIGINT)
    deadline = began + timeout
    while True:
        successor = platform.postgres()
        if successor is not None and successor.pid != postmaster.pid:
            try:
                conn = await asyncpg.connect(platform.dsn, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                pass
            else:
                await conn.close()
                return postmaster.pid, successor.pid, time.monotonic() - began
        if time.monotonic() > deadline:
            raise AssertionError(f"postgres did not come back:\n{platform.output_tail()}")
        await asyncio.sleep(0.1)


async def kill_kafka_and_await_restart(platform: Platform, timeout: float = 120.0) -> tuple[int, int, float]:
    """SIGKILL the Kafka node, as a crash would (no flush, no clean-shutdown marker); the runner sees it gone
    and starts it again on the same ports and data folder, where Kafka recovers its logs. Returns (old pid,
    new pid, seconds until the runner reported the restart, which it does once the new node answered a metadata
    request listing a broker)."""
    victim = platform.broker()
    restarts = platform.runner_output().count("kafka restarted on its data")
    began = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    deadline = began + timeout
    while True:
        successor = platform.kafka()
        if (
            successor is not None
            and successor.pid != victim.pid
            and platform.runner_output().count("kafka restarted on its data") > restarts
        ):
            return victim.pid, successor.pid, time.monotonic() - began
        if time.monotonic() > deadline:
            raise AssertionError(f"kafka did not come back in {timeout}s:\n{platform.output_tail()}")
        await asyncio.sleep(0.2)


def start_replica(platform: Platform, service: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A second process of `service` with exactly the environment the runner gave the first one (same
    database, broker, consumer groups), on its own free HTTP port. Returns (process, url, log path)."""
    first = platform.service(service)
    assert first is not None
    env = dict(first.environ())
    # Its own socket, bound here and handed over as the runner does (the first one's descriptor means nothing here).
    listener = bound_socket()
    listener.listen(128)
    port = port_of(listener)
    env[f"{service.upper()}_HTTP_PORT"] = str(port)
    env["SERVICE_LISTEN_FD"] = str(listener.fileno())
    log_path = platform.workdir / f"{service}-replica-{port}.log"
    with log_path.open("wb") as out, listener:
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(listener.fileno(),),
        )
    platform.extra.append(proc)
    return proc, f"http://127.0.0.1:{port}", log_path


def log_lines(path: Path, message: str) -> list[dict[str, Any]]:
    """The JSON log lines of a service whose event is `message`."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        if f'"{message}"' not in line:
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("event") == message:
                found.append(record)
    return found


@contextlib.contextmanager
def crashed_after(extra_env: Mapping[str, str]) -> Iterator[Platform]:
    """The platform with `extra_env` for a test module or package; afterwards SIGKILLed like a crash, and everything
    it started (services, stand-ins, Postgres, Kafka) must have gone with it."""
    running = start_platform(extra_env=extra_env)
    try:
        yield running
    finally:
        left = kill_platform(running)
    assert not left, f"processes of the platform left running after the runner was killed: {left}"
