"""`make run`: the whole platform on one machine, no Docker.

Starts an embedded PostgreSQL, an embedded Apache Kafka node and the identity provider (an embedded
Keycloak with the demo city's staff, unless OIDC_ISSUER names the utility's own provider), applies the topics
and the migrations, then runs every service as its own OS process, as in production. All keep their data in
the data folder, so a stop and a start lose nothing. It restarts a service that dies, and on Ctrl-C /
SIGTERM stops everything in reverse order.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO

from embedded._process import (
    child_preexec,
    defer_if_spawning,
    find_free_port,
    log_tail,
    port_is_free,
    run_sync,
    signals_deferred,
    terminate_process,
)
from embedded.broker import EmbeddedBroker
from embedded.delivery_standins import DeliveryStandIns
from embedded.demo_realm import AUDIENCE, CONSOLE_CLIENT_ID, DEMO_PASSWORD, StaffMember, generate_realm, load_staff
from embedded.identity import EmbeddedKeycloak
from embedded.kafka_dist import kafka_version
from embedded.keycloak_dist import keycloak_version
from embedded.postgres import EmbeddedPostgres
from shared.kafka.principals import USERS as KAFKA_USERS
from shared.kafka.security import environment as kafka_environment
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The demo city's asset registry, loaded into an empty registry when the platform starts.
DEMO_ASSETS = REPO_ROOT / "deploy" / "demo-city" / "assets.csv"
LOCALHOST = "127.0.0.1"

#: A service may die this many times in a row (without a minute of uptime), and Postgres and Kafka this many times
#: in all, before we give up. `EMBEDDED_MAX_RESTARTS` raises it for a drill that kills the broker again and again
#: (tests/faults/test_broker_kills.py).
MAX_RESTARTS = int(os.environ.get("EMBEDDED_MAX_RESTARTS", "5"))
#: Uptime after which a service counts as healthy again and its restart count resets.
STABLE_AFTER_S = 60.0
#: Grace for a service to finish in-flight work on SIGTERM before it is killed (`PLATFORM_STOP_GRACE_S`).
SERVICE_STOP_GRACE_S = 10.0
#: What Kafka may take to answer, unless --ready-timeout allows longer (four platforms started at once on 2 cores).
KAFKA_START_S = 90.0


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service: `python -m <module>`, HTTP port taken from `port_env`.

    `optional` services are only run once `services/<name>/__main__.py` exists, so new services
    plug into `make run` by being written.
    """

    name: str
    module: str
    port_env: str
    default_port: int = 0
    optional: bool = False

    @property
    def host_env(self) -> str:
        """The bind-address variable next to the port one (INTAKE_HTTP_PORT -> INTAKE_HTTP_HOST)."""
        return self.port_env.removesuffix("_PORT") + "_HOST"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("intake", "services.intake", "INTAKE_HTTP_PORT", 8000),
    ServiceSpec("dispatch", "services.dispatch", "DISPATCH_HTTP_PORT", 8001, optional=True),
    ServiceSpec("followup", "services.followup", "FOLLOWUP_HTTP_PORT", 8002, optional=True),
    ServiceSpec("reporting", "services.reporting", "REPORTING_HTTP_PORT", 8003, optional=True),
    ServiceSpec("console", "services.console", "CONSOLE_HTTP_PORT", 8004, optional=True),
    ServiceSpec("notify", "services.notify", "NOTIFY_HTTP_PORT", 8005, optional=True),
    ServiceSpec("channels", "services.channels", "CHANNELS_HTTP_PORT", 8006, optional=True),
)


class PlatformError(RuntimeError):
    """The platform could not be configured or started."""


class _Shutdown(BaseException):
    """Raised from the SIGINT/SIGTERM handler to unwind start-up or supervision."""


def discover_services(
    root: Path = REPO_ROOT,
    specs: Sequence[ServiceSpec] = SERVICES,
    environ: Mapping[str, str] = os.environ,
) -> tuple[ServiceSpec, ...]:
    """Services to run: `EMBEDDED_SERVICES` (JSON list of ServiceSpec fields) replaces `specs`.

    The override exists to test the runner itself with stand-in services.
    """
    override = environ.get("EMBEDDED_SERVICES")
    if override:
        try:
            return tuple(ServiceSpec(**item) for item in json.loads(override))
        except (TypeError, ValueError) as exc:
            raise PlatformError(f"EMBEDDED_SERVICES is not a JSON list of service specs: {exc}") from exc
    return tuple(
        spec for spec in specs if not spec.optional or (root / Path(*spec.module.split("."), "__main__.py")).is_file()
    )


@dataclass
class PlatformConfig:
    """Everything the runner needs, resolved from the environment by `from_env`."""

    data_dir: Path
    postgres_port: int | None
    kafka_port: int | None
    service_ports: dict[str, int]
    services: tuple[ServiceSpec, ...]
    ready_file: Path | None = None
    apply_migrations: bool = True
    ready_timeout: float = 90.0
    notices: list[str] = field(default_factory=list)
    #: The utility's own OpenID Connect provider (OIDC_ISSUER); None = start the embedded Keycloak.
    oidc_issuer: str | None = None
    keycloak_port: int | None = None
    #: OIDC_ISSUER serves the demo realm of deploy/demo-city (a Keycloak kept running between runs, or the test
    #: suite's): its sign-ins are printed as the embedded provider's are (PLATFORM_DEMO_SIGN_INS=1).
    demo_sign_ins: bool = False
    #: The broker's CA, certificate and SCRAM passwords (PLATFORM_KAFKA_SECRETS_DIR); None: `<data>/kafka/security`.
    #: A test session shares its own, so that its admin client reaches the runner's broker too.
    kafka_secrets_dir: Path | None = None
    #: Seconds a service has on SIGTERM to finish its in-flight work before it is killed (PLATFORM_STOP_GRACE_S).
    stop_grace: float = SERVICE_STOP_GRACE_S

    @property
    def logs_dir(self) -> Path:
        """The services' logs, `<service>.log`, JSON lines only (infrastructure logs sit in data_dir)."""
        return self.data_dir / "logs"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        ready_file: Path | None = None,
        apply_migrations: bool = True,
        ready_timeout: float = 90.0,
    ) -> PlatformConfig:
        """Read PLATFORM_DATA_DIR, POSTGRES_PORT, KAFKA_PORT and each service's port variable."""
        default_root = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
        data_dir = Path(environ.get("PLATFORM_DATA_DIR") or default_root / ".data").expanduser().resolve()
        services = discover_services(environ=environ)
        notices: list[str] = []
        ports: dict[str, int] = {}
        for spec in services:
            ports[spec.name] = _service_port(spec, environ, notices, taken=set(ports.values()))
        return cls(
            data_dir=data_dir,
            postgres_port=_optional_port("POSTGRES_PORT", environ),
            kafka_port=_optional_port("KAFKA_PORT", environ),
            service_ports=ports,
            services=services,
            ready_file=ready_file,
            apply_migrations=apply_migrations,
            ready_timeout=ready_timeout,
            notices=notices,
            oidc_issuer=(environ.get("OIDC_ISSUER") or "").strip().rstrip("/") or None,
            keycloak_port=_optional_port("KEYCLOAK_PORT", environ),
            demo_sign_ins=environ.get("PLATFORM_DEMO_SIGN_INS", "").strip() == "1",
            kafka_secrets_dir=Path(environ["PLATFORM_KAFKA_SECRETS_DIR"]).expanduser().resolve()
            if environ.get("PLATFORM_KAFKA_SECRETS_DIR")
            else None,
            stop_grace=_stop_grace(environ),
        )


def _stop_grace(environ: Mapping[str, str]) -> float:
    """PLATFORM_STOP_GRACE_S: seconds, more than 0 and at most 600; unset means the default."""
    raw = environ.get("PLATFORM_STOP_GRACE_S", "").strip()
    if not raw:
        return SERVICE_STOP_GRACE_S
    try:
        grace = float(raw)
    except ValueError:
        raise PlatformError(f"PLATFORM_STOP_GRACE_S={raw!r} is not a number of seconds") from None
    if not 0 < grace <= 600:
        raise PlatformError(f"PLATFORM_STOP_GRACE_S={raw}: must be more than 0 and at most 600 seconds")
    return grace


def _parse_port(name: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise PlatformError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise PlatformError(f"{name}={port} is out of range")
    return port


def _optional_port(name: str, environ: Mapping[str, str]) -> int | None:
    """An explicit port, or None (= pick a free one) when unset or 0."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    port = _parse_port(name, raw)
    if port and not port_is_free(port, LOCALHOST):
        raise PlatformError(f"{name}={port}: that port is already in use")
    return port or None


def _service_port(spec: ServiceSpec, environ: Mapping[str, str], notices: list[str], taken: set[int]) -> int:
    """Explicit port (must be free; 0 = any), else the default, else a free one, said out loud."""
    raw = environ.get(spec.port_env, "").strip()
    if raw:
        port = _parse_port(spec.port_env, raw)
        if port == 0:
            return _free_port_not_in(taken)
        if port in taken or not port_is_free(port, LOCALHOST):
            raise PlatformError(f"{spec.port_env}={port}: that port is already in use")
        return port
    if spec.default_port and spec.default_port not in taken and port_is_free(spec.default_port, LOCALHOST):
        return spec.default_port
    port = _free_port_not_in(taken)
    if spec.default_port:
        notices.append(
            f"port {spec.default_port} is busy: {spec.name} listens on {port} instead (set {spec.port_env} to choose)"
        )
    return port


def _free_port_not_in(taken: set[int]) -> int:
    while True:
        port = find_free_port(LOCALHOST)
        if port not in taken:
            return port


@dataclass
class _ServiceProcess:
    """A running (or waiting-to-restart) service and its restart bookkeeping."""

    spec: ServiceSpec
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    #: The service's listening socket, bound by the runner and handed to every process of it (`_listen`).
    listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"


class Platform:
    """Owns the embedded Postgres, the broker and the service processes."""

    def __init__(self, config: PlatformConfig, out: TextIO | None = None) -> None:
        self.config = config
        self.out = out or sys.stdout
        self.postgres = EmbeddedPostgres(
            config.data_dir / "postgres",
            port=config.postgres_port,
            host=LOCALHOST,
            durable=True,
            log_path=config.data_dir / "postgres.log",
            die_with_parent=True,
        )
        self.broker = EmbeddedBroker(
            config.data_dir / "kafka",
            port=config.kafka_port,
            host=LOCALHOST,
            log_path=config.data_dir / "kafka.log",
            die_with_parent=True,
            secrets_dir=config.kafka_secrets_dir,
        )
        self.services: dict[str, _ServiceProcess] = {
            spec.name: _ServiceProcess(spec, config.service_ports[spec.name], config.logs_dir / f"{spec.name}.log")
            for spec in config.services
        }
        self._infra_failures = 0
        self._lock_file: TextIO | None = None
        #: The embedded provider (created on start, once the data folder is ours); None with OIDC_ISSUER.
        self.keycloak: EmbeddedKeycloak | None = None
        self.console_client_secret = ""
        #: The SMS, WeChat and mail gateways' stand-ins notify delivers to (None: no notify, or turned off).
        self.gateways: DeliveryStandIns | None = None
        if "notify" in self.services and os.environ.get("PLATFORM_DELIVERY_STANDINS", "1").strip() != "0":
            self.gateways = self._delivery_standins()

    def _delivery_standins(self) -> DeliveryStandIns:
        """The gateways' stand-ins, told notify's (and channels') address: where they send reports and replies."""
        channels = self.services["channels"].url if "channels" in self.services else None
        gateways_dir = self.config.data_dir / "gateways"
        return DeliveryStandIns(gateways_dir, self.services["notify"].url, os.environ, channels)

    def say(self, message: str = "") -> None:
        """Print for the person at the terminal (the services' own logs go to files)."""
        print(message, file=self.out, flush=True)

    # -- start-up --------------------------------------------------------------------------

    def start(self) -> None:
        """Bring up Postgres, the broker, topics, migrations, then every service; wait for /readyz."""
        self.lock_data_dir()
        if self.config.ready_file is not None:
            self.config.ready_file.unlink(missing_ok=True)
        for notice in self.config.notices:
            self.say(f"note: {notice}")
        for svc in self.services.values():  # every port bound before anyone (the gateways first) learns an address
            self._listen(svc)
        if self.gateways is not None and not any(p.is_running() for p in self.gateways.processes):
            self.gateways = self._delivery_standins()  # the addresses bound: a chosen port taken meanwhile moved

        identity_began = time.monotonic()
        self._launch_identity()  # the slowest to start: it comes up while Postgres and Kafka do
        gateways_began = time.monotonic()
        if self.gateways is not None:
            self.gateways.launch()  # so do the gateways' stand-ins (they need only notify's address, known already)
        # Kafka comes up while Postgres starts and is migrated: neither needs the other, and a platform is up some
        # seconds sooner. Both are spawned from this thread (each is asked to die with the thread that spawned it);
        # only the wait for Kafka and its topics runs beside.
        began = time.monotonic()
        self.broker.launch(timeout=max(KAFKA_START_S, self.config.ready_timeout))  # a longer --ready-timeout too
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-ready") as pool:
            kafka = pool.submit(self._kafka_ready, began)
            self._start_database()
            kafka.result()

        if self.keycloak is not None:
            self.keycloak.wait_ready(identity_began + self.config.ready_timeout + 90.0)
            self.say(f"identity  ready  {self.issuer}  ({_elapsed(identity_began)})")
        else:
            self.say(f"identity  {self.issuer}  (OIDC_ISSUER: the utility's own provider)")

        if self.gateways is not None:
            self.gateways.wait_ready()
            info = self.gateways.ready_info()
            self.say(
                f"gateways  ready  sms {info['sms']} ({info['sms_vendor']}, stand-in), wechat {info['wechat']} "
                f"(stand-in), mail smtp://127.0.0.1:{info['smtp_port']}  ({_elapsed(gateways_began)})"
            )

        for svc in self.services.values():
            self._spawn(svc)
        deadline = time.monotonic() + self.config.ready_timeout
        for svc in self.services.values():
            self._await_ready(svc, deadline)
            self.say(f"{svc.spec.name:<9} ready  {svc.url}")

        self._print_summary()
        if self.config.ready_file is not None:
            self._write_ready_file(self.config.ready_file)
        self.say("platform ready")

    def _start_database(self) -> None:
        began = time.monotonic()
        self.postgres.start()
        self.say(f"postgres  ready  {self.postgres.dsn}  ({_elapsed(began)})")
        if self.config.apply_migrations:
            self._migrate()
            if "dispatch" in self.services:
                self._load_demo_assets()

    def _kafka_ready(self, began: float) -> None:
        self.broker.wait_started()
        report = self.broker.create_topics(ALL_TOPICS, DEFAULT_PARTITIONS)
        self.say(
            f"kafka     ready  {self.broker.bootstrap_servers}  "
            f"({len(ALL_TOPICS)} topics x {DEFAULT_PARTITIONS} partitions, {len(report.created)} new, "
            f"{_elapsed(began)})"
        )

    @property
    def issuer(self) -> str:
        """The OpenID Connect issuer every service checks persons' tokens against."""
        if self.config.oidc_issuer:
            return self.config.oidc_issuer
        if self.keycloak is None:
            raise PlatformError("the identity provider has not been started")
        return self.keycloak.issuer

    def _launch_identity(self) -> None:
        """Start the embedded Keycloak (demo realm from deploy/demo-city/staff.csv) without waiting for it.

        With OIDC_ISSUER set, the utility's provider is used as it is and CONSOLE_OIDC_CLIENT_SECRET must name
        the console's secret there. Otherwise the console's secret is made once and kept in the data folder, so
        the realm (imported on the first start) and the console agree across restarts.
        """
        if self.config.oidc_issuer:
            self.console_client_secret = os.environ.get("CONSOLE_OIDC_CLIENT_SECRET", "")
            return
        if self.keycloak is None:
            home = self.config.data_dir / "keycloak"
            self.console_client_secret = _console_secret(home / "console-client-secret")
            self.keycloak = EmbeddedKeycloak(
                home,
                generate_realm(load_staff(), console_secret=self.console_client_secret),
                port=self.config.keycloak_port,
                host=LOCALHOST,
                log_path=self.config.data_dir / "keycloak.log",
                die_with_parent=True,
            )
        self.keycloak.launch()
        if self.keycloak.reimported:
            self.say("identity: deploy/demo-city/staff.csv changed; the demo realm is imported afresh")

    def lock_data_dir(self) -> None:
        """Refuse to share a data dir with another live runner (we would stop its Postgres)."""
        import fcntl

        if self._lock_file is not None:
            return
        self.config.logs_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.config.data_dir / ".runner.lock").open("a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "unknown"
            self._lock_file.close()
            self._lock_file = None
            raise PlatformError(
                f"another `python -m embedded` (pid {holder}) uses {self.config.data_dir}; "
                "stop it or set PLATFORM_DATA_DIR to another folder"
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def _migrate(self) -> None:
        from operations.migrations import apply_all

        applied = run_sync(lambda: apply_all(self.postgres.dsn))
        if applied:
            self.say(f"migrations applied: {', '.join(applied)}")
        else:
            self.say("migrations: database schema up to date")

    def _load_demo_assets(self) -> None:
        """The demo city's asset registry, so an address finds its station from the first complaint on; only into
        an empty registry (an operator's own import is never overwritten)."""
        result = subprocess.run(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "services.dispatch.load_assets", "load", str(DEMO_ASSETS), "--if-empty"],
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": self.postgres.dsn, "APP_ENV": "dev"},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"loading {DEMO_ASSETS} failed:\n{result.stderr}")
        summary = result.stdout.strip().splitlines()[-1]  # the command's answer, after its log lines
        self.say(f"{summary}  ({DEMO_ASSETS.relative_to(REPO_ROOT)})")

    def _service_env(self) -> dict[str, str]:
        """Environment of every service: ours plus where the infrastructure and the others are."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.postgres.dsn,
            KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap_servers,
            APP_ENV="dev",
            PYTHONUNBUFFERED="1",
            # Persons' tokens: who issues them, for whom, and the console's client at that provider.
            OIDC_ISSUER=self.issuer,
            OIDC_AUDIENCE=os.environ.get("OIDC_AUDIENCE") or AUDIENCE,
            CONSOLE_OIDC_CLIENT_ID=os.environ.get("CONSOLE_OIDC_CLIENT_ID") or CONSOLE_CLIENT_ID,
            CONSOLE_OIDC_CLIENT_SECRET=self.console_client_secret,
        )
        # Each service gets its own principal below; no one inherits ours (an operator's admin, say).
        for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
            env.pop(name, None)
        env["KAFKA_SSL_CAFILE"] = str(self.broker.secrets.ca_file)
        for svc in self.services.values():
            env[svc.spec.port_env] = str(svc.port)
            env[svc.spec.host_env] = LOCALHOST
            # The console calls each service as the signed-in person (INTAKE_URL, DISPATCH_URL, ...).
            env[f"{svc.spec.name.upper()}_URL"] = svc.url
        if "console" in self.services:
            # Where browsers reach it (the provider sends people back there), and the demo city's staff and rota
            # for an empty directory; an operator's own settings win.
            env.setdefault("CONSOLE_PUBLIC_URL", self.services["console"].url)
            # Reporting's old dashboard addresses send browsers to the console's /dashboard (behind its sign-in).
            env.setdefault("REPORTING_CONSOLE_URL", self.services["console"].url)
            env.setdefault("CONSOLE_SEED_STAFF", str(REPO_ROOT / "deploy" / "demo-city" / "staff.csv"))
            env.setdefault("CONSOLE_SEED_ROTA", str(REPO_ROOT / "deploy" / "demo-city" / "rota.csv"))
        if "channels" in self.services:
            # Where staff fetch the attachments customers sent (their URLs travel in complaint.received).
            env.setdefault("CHANNELS_PUBLIC_URL", self.services["channels"].url)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env.pop("EMBEDDED_SERVICES", None)
        return env

    def _listen(self, svc: _ServiceProcess) -> None:
        """Bind the service's port here and keep it: each process of the service (restarts included) is handed the
        socket (`SERVICE_LISTEN_FD`, `shared.runtime.serve`) instead of binding it itself. Why: a port found free and
        bound later by the child could be taken in between by anything else starting on the machine (four platforms
        started at once lost that race: "address already in use"). A port chosen by us that was taken since is
        replaced by one the kernel picks; a port the operator set must be free."""
        if svc.listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((LOCALHOST, svc.port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or os.environ.get(svc.spec.port_env, "").strip() not in ("", "0"):
                listener.close()
                raise PlatformError(f"{svc.spec.name} cannot listen on {svc.port}: {exc.strerror}") from None
            listener.bind((LOCALHOST, 0))
            self.say(f"port {svc.port} was taken meanwhile: {svc.spec.name} listens on {listener.getsockname()[1]}")
        listener.listen(1024)
        listener.set_inheritable(True)
        svc.port, svc.listener = listener.getsockname()[1], listener

    def _spawn(self, svc: _ServiceProcess) -> None:
        """Start `python -m <module>` in its own process group; output appended to its log file."""
        if svc.log_file is None:
            svc.log_file = svc.log_path.open("ab")
        env = self._service_env()
        if svc.spec.name in KAFKA_USERS:  # its principal (shared.kafka.principals), the console too
            env.update(kafka_environment(self.broker.client_security(svc.spec.name)))
        if svc.spec.name == "notify" and self.gateways is not None:
            env.update(self.gateways.notify_env())
        if svc.spec.name == "channels" and self.gateways is not None:
            env.update(self.gateways.channels_env())
        handed = () if svc.listener is None else (svc.listener.fileno(),)
        if handed:
            env["SERVICE_LISTEN_FD"] = str(handed[0])
        with signals_deferred():  # a Ctrl-C now must not leave the child unrecorded, so never stopped
            svc.proc = subprocess.Popen(  # noqa: S603 - our interpreter and a module name from our spec
                [sys.executable, "-m", svc.spec.module],
                stdin=subprocess.DEVNULL,
                stdout=svc.log_file,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                env=env,
                start_new_session=True,
                preexec_fn=child_preexec(signal.SIGTERM),
                pass_fds=handed,
            )
        svc.started_at = time.monotonic()
        svc.restart_at = None

    def _await_ready(self, svc: _ServiceProcess, deadline: float) -> None:
        """Poll GET /readyz until 200; fail early, with the log's tail, if the process dies."""
        url = f"{svc.url}/readyz"
        last = "no answer yet"
        while True:
            if svc.proc is None or svc.proc.poll() is not None:
                code = None if svc.proc is None else svc.proc.returncode
                raise PlatformError(
                    f"{svc.spec.name} exited during start-up (exit {code}); log {svc.log_path}:\n"
                    f"{log_tail(svc.log_path)}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our http URL
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            if time.monotonic() > deadline:
                raise PlatformError(
                    f"{svc.spec.name} not ready at {url} within {self.config.ready_timeout:.0f}s "
                    f"(last: {last}); log {svc.log_path}:\n{log_tail(svc.log_path)}"
                )
            time.sleep(0.2)

    def _print_summary(self) -> None:
        self.say()
        self.say("=" * 72)
        self.say(f"  Postgres        {self.postgres.dsn}")
        self.say(f"  Kafka           {self.broker.bootstrap_servers}  (Apache Kafka {kafka_version()}, KRaft)")
        self.say(
            f"                  SASL_SSL, SCRAM-SHA-512: CA {self.broker.secrets.ca_file}, "
            f"passwords in {self.broker.secrets_dir / 'passwords.json'}"
        )
        if self.keycloak is not None:
            self.say(
                f"  Identity        {self.issuer}  (Keycloak {keycloak_version()}, demo staff of deploy/demo-city)"
            )
        else:
            self.say(f"  Identity        {self.issuer}  (OIDC_ISSUER)")
        for svc in self.services.values():
            self.say(f"  {svc.spec.name:<15} {svc.url}   API docs: {svc.url}/docs   metrics: {svc.url}/metrics")
        self.say(
            "  Tracing         off (set OTEL_EXPORTER_OTLP_ENDPOINT to send OpenTelemetry spans over OTLP/HTTP)"
            if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            else f"  Tracing         OTLP/HTTP to {os.environ['OTEL_EXPORTER_OTLP_ENDPOINT']}"
        )
        if self.gateways is not None:
            info = self.gateways.ready_info()
            self.say(
                f"  Gateways        stand-ins: SMS {info['sms']}/_standin/messages, WeChat {info['wechat']}"
                f"/_standin/messages, mail {info['mail']}/_standin/messages (SMTP port {info['smtp_port']})"
            )
            if "notify" in self.services:
                self.say(f"  Messages sent   {self.services['notify'].url}/dev/outbox")
        self.say(f"  Service logs    {self.config.logs_dir}/<service>.log  (JSON lines)")
        infra_logs = [self.postgres.log_path, self.broker.log_path]
        if self.keycloak is not None:
            infra_logs.append(self.keycloak.log_path)
        self.say(f"  Infra logs      {', '.join(str(p) for p in infra_logs)}")
        self.say(f"  Data            {self.config.data_dir}  (database, topics and offsets survive a restart)")
        self.say("  Ctrl-C stops everything.")
        self.say("=" * 72)
        if self.keycloak is not None or self.config.demo_sign_ins:
            self._print_sign_ins()

    def _print_sign_ins(self) -> None:
        """The demo staff a person can sign in as (demo realm only: a utility's provider has its own people)."""
        where = f" at {self.services['console'].url}" if "console" in self.services else ""
        self.say(f"  Demo staff sign-ins{where} (password for all: {DEMO_PASSWORD})")
        for member in load_staff():
            self.say(f"    {member.staff_id:<14} {_describe(member)}")
        self.say("=" * 72)

    def ready_info(self) -> dict[str, Any]:
        """What tests and tools need to reach the running platform."""
        return {
            "database_url": self.postgres.dsn,
            "kafka_bootstrap_servers": self.broker.bootstrap_servers,
            # Where a test or tool finds the CA and passwords (admin: the super user) to reach the broker.
            "kafka_secrets_dir": str(self.broker.secrets_dir),
            "identity": self.issuer,
            "services": {svc.spec.name: svc.url for svc in self.services.values()},
            "gateways": self.gateways.ready_info() if self.gateways is not None else {},
            "logs_dir": str(self.config.logs_dir),
            "data_dir": str(self.config.data_dir),
            "pid": os.getpid(),
        }

    def _write_ready_file(self, path: Path) -> None:
        """Write atomically, so a reader polling for the file never sees half of it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.ready_info(), indent=2), encoding="utf-8")
        tmp.replace(path)

    # -- supervision -----------------------------------------------------------------------

    def supervise(self, poll_interval: float = 0.5) -> int:
        """Watch the processes until a signal arrives; restart what dies. Returns an exit status."""
        while True:
            time.sleep(poll_interval)
            now = time.monotonic()
            if not self._check_infrastructure():
                return 1
            for svc in self.services.values():
                if svc.proc is not None and svc.proc.poll() is None:
                    if svc.failures and now - svc.started_at > STABLE_AFTER_S:
                        svc.failures = 0
                    continue
                if svc.restart_at is None:
                    if not self._schedule_restart(svc, now):
                        return 1
                elif now >= svc.restart_at:
                    self.say(f"restarting {svc.spec.name} (attempt {svc.failures}/{MAX_RESTARTS})")
                    self._spawn(svc)

    def _schedule_restart(self, svc: _ServiceProcess, now: float) -> bool:
        """Note an unexpected exit and plan a restart with exponential backoff; False = give up."""
        code = None if svc.proc is None else svc.proc.returncode
        if svc.proc is not None:
            terminate_process(svc.proc, timeout=1)  # reap, and clear leftovers of its group
        svc.proc = None
        svc.failures += 1
        self.say(f"!! {svc.spec.name} exited unexpectedly (exit {code}); see {svc.log_path}")
        if svc.failures > MAX_RESTARTS:
            self.say(f"!! {svc.spec.name} keeps dying ({MAX_RESTARTS} restarts); stopping the platform")
            return False
        delay = min(2.0 ** (svc.failures - 1), 30.0)
        svc.restart_at = now + delay
        self.say(f"   restarting {svc.spec.name} in {delay:.0f}s")
        return True

    def _check_infrastructure(self) -> bool:
        """Restart Postgres, Kafka or Keycloak if one died; each recovers its data from the data folder."""
        components: list[tuple[str, EmbeddedPostgres | EmbeddedBroker | EmbeddedKeycloak]] = [
            ("postgres", self.postgres),
            ("kafka", self.broker),
        ]
        if self.keycloak is not None:
            components.append(("keycloak", self.keycloak))
        for name, component in components:
            if component.is_running():
                continue
            self._infra_failures += 1
            self.say(f"!! embedded {name} stopped unexpectedly; see {self.config.data_dir / (name + '.log')}")
            if self._infra_failures > MAX_RESTARTS:
                self.say("!! infrastructure keeps dying; stopping the platform")
                return False
            component.stop()  # reap and close its log before starting again on the same port
            component.start()
            self.say(f"   {name} restarted on its data")
        if self.gateways is not None:
            restarted = self.gateways.restart_stopped()
            if restarted:
                self.say(f"!! gateway stand-ins {', '.join(restarted)} stopped; restarted, and notify and channels too")
                # notify (and channels, which pushes to the hotline and takes WeChat's and SMS's pushes) learn the
                # new ports when the supervisor starts them again.
                for name in ("notify", "channels"):
                    service = self.services.get(name)
                    if service is not None and service.proc is not None:
                        terminate_process(service.proc, timeout=self.config.stop_grace)
        return True

    # -- shutdown --------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Services first (SIGTERM, then SIGKILL after the grace), then the broker, then Postgres."""
        began = time.monotonic()
        running = [svc for svc in self.services.values() if svc.proc is not None]
        for svc in running:  # all at once, so their graces overlap
            assert svc.proc is not None
            if svc.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(svc.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.config.stop_grace
        for svc in running:
            assert svc.proc is not None
            try:
                svc.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{svc.spec.name} did not stop within {self.config.stop_grace:g}s; killing it")
                terminate_process(svc.proc, sig=signal.SIGKILL, timeout=5)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(svc.proc.pid, signal.SIGKILL)  # leftovers of its process group, if any
            svc.proc = None
        for svc in self.services.values():
            if svc.log_file is not None:
                svc.log_file.close()
                svc.log_file = None
            if svc.listener is not None:
                svc.listener.close()
                svc.listener = None
        services_done = time.monotonic()
        if self.gateways is not None:
            self.gateways.stop()
        if self.keycloak is not None:
            self.keycloak.stop()
        self.broker.stop()
        broker_done = time.monotonic()
        self.postgres.stop()
        if self._lock_file is not None:  # only a runner that got going owns the ready file
            if self.config.ready_file is not None:
                self.config.ready_file.unlink(missing_ok=True)
            self._lock_file.close()  # releases the lock
            self._lock_file = None
        self.say(
            f"stopped: services {_elapsed(began, services_done)}, keycloak and kafka "
            f"{_elapsed(services_done, broker_done)}, "
            f"postgres {_elapsed(broker_done)}"
        )


def _console_secret(path: Path) -> str:
    """The console's client secret at the embedded provider: made on the first start, then kept (owner-only)."""
    if path.is_file():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(secret, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return secret


def _describe(member: StaffMember) -> str:
    """`dispatcher  repair / repair-crew-1  赵磊`: what a demo person is, for the sign-in list."""
    unit = " / ".join(part for part in (member.department, member.crew) if part) or "-"
    return f"{', '.join(member.roles):<19} {unit:<30} {member.display_name} ({member.display_name_en})"


def _elapsed(began: float, end: float | None = None) -> str:
    return f"{(time.monotonic() if end is None else end) - began:.1f}s"


def run(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m embedded`; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m embedded",
        description="Run the whole platform locally: embedded Postgres + Apache Kafka + services.",
    )
    parser.add_argument("--ready-file", type=Path, help="write connection details as JSON here once ready")
    parser.add_argument("--skip-migrations", action="store_true", help="do not apply database migrations")
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=90.0,
        help="seconds each service (and Kafka, if longer than 90) may take to become ready",
    )
    args = parser.parse_args(argv)

    try:
        config = PlatformConfig.from_env(
            ready_file=args.ready_file.resolve() if args.ready_file else None,
            apply_migrations=not args.skip_migrations,
            ready_timeout=args.ready_timeout,
        )
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    platform = Platform(config)
    try:
        platform.lock_data_dir()
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            platform.say(f"({signal.Signals(signum).name}: already shutting down, please wait)")
            return
        if defer_if_spawning(signum):  # raised again once the child being started is recorded
            return
        stopping = True
        raise _Shutdown(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        platform.start()
        status = platform.supervise()
    except _Shutdown:
        status = 0
    except Exception as exc:
        platform.say(f"error: {exc}")
        status = 1
    finally:
        stopping = True  # from here on, signals only print
        platform.say("stopping: services, then keycloak and kafka, then postgres ...")
        platform.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
