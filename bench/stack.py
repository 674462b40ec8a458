"""The platform under test, driven from inside the bench process so the bench can start and stop its services.

It reuses `embedded.platform.Platform` (Postgres, Apache Kafka, topics, migrations, the demo asset registry) of
the tree the bench runs in (PYTHONPATH / cwd), with four services: intake, dispatch, followup, reporting. No
identity provider (the bench posts with the channels' dev API keys; OIDC_ISSUER names an unreachable issuer so no
Keycloak JVM takes CPU), no notify or console. Services log at INFO, as in production.

`start(first=("intake",))` brings up only intake, so complaints can be pre-loaded onto Kafka with every consumer
stopped; `launch(...)` starts the others later, `halt(...)` stops them again (SIGTERM: they leave their groups).
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

SERVICES = ("intake", "dispatch", "followup", "reporting")
DOWNSTREAM = ("dispatch", "followup", "reporting")


class Stack:
    """Postgres + Kafka + the four services, each service a child process the bench can stop and start."""

    def __init__(self, log_level: str = "INFO") -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="uc-bench-"))
        os.environ.update(
            PLATFORM_DATA_DIR=str(self.workdir / "data"),
            LOG_LEVEL=log_level,
            OIDC_ISSUER="http://127.0.0.1:9/realms/bench-none",
            PLATFORM_DELIVERY_STANDINS="0",
        )
        for name in SERVICES:
            os.environ.pop(f"{name.upper()}_HTTP_PORT", None)
        from embedded.platform import Platform, PlatformConfig

        config = PlatformConfig.from_env()
        config.services = tuple(spec for spec in config.services if spec.name in SERVICES)
        self.platform = Platform(config, out=(self.workdir / "runner.out").open("w"))
        self.all = dict(self.platform.services)
        #: Further processes of a service (`add_replicas`), by label: "intake#2", ...
        self.replicas: dict[str, Any] = {}

    def start(self, first: Iterable[str] = SERVICES) -> None:
        """Infrastructure, migrations, the demo assets, then the `first` services only (ready on return)."""
        wanted = set(first)
        self.platform.services = {n: s for n, s in self.all.items() if n in wanted}
        self.platform.start()
        self.platform.services = dict(self.all)
        # The bench's own clients (the ceilings' producer and consumer) sign in as the broker's admin; a base tree
        # from before issue 25 (bench/compare.sh) has a plaintext broker and no such settings.
        security = getattr(self.platform.broker, "client_security", None)
        if security is not None:
            from shared.kafka.security import environment

            os.environ.update(environment(security()))
        #: CPU seconds each service spent starting (imports, pools, joining its groups) before any complaint: a
        #: drain restarts dispatch, followup and reporting, and this is subtracted from their window.
        self.startup = {n: v for n, v in self.cpu_seconds().items() if n in wanted}
        if "dispatch" not in wanted:
            self.platform._load_demo_assets()

    def launch(self, names: Iterable[str]) -> None:
        """Start these services (their consumers begin as soon as they are up; `await_ready` waits for /readyz)."""
        for name in names:
            self.platform._spawn(self.all[name])

    def add_replicas(self, name: str, count: int) -> None:
        """Run `count` processes of a service in all, as a deployment's replicas: each further one listens on a port of
        its own (the load generator spreads its connections over `urls(name)`, as a Service spreads them over pods)
        and is ready on return. Why: one process of a service uses at most one core, whatever the machine has."""
        from embedded.platform import _ServiceProcess

        primary = self.all[name]
        deadline = time.monotonic() + 90
        for n in range(2, count + 1):
            replica = _ServiceProcess(primary.spec, 0, self.workdir / f"{name}-{n}.log")
            self.platform._listen(replica)
            self.platform._spawn(replica)
            self.platform._await_ready(replica, deadline)
            self.replicas[f"{name}#{n}"] = replica

    def urls(self, name: str) -> list[str]:
        """Every process of the service: the first, then its replicas."""
        return [self.all[name].url, *(r.url for label, r in self.replicas.items() if label.split("#")[0] == name)]

    def await_ready(self, names: Iterable[str]) -> None:
        deadline = time.monotonic() + 90
        for name in names:
            self.platform._await_ready(self.all[name], deadline)

    def halt(self, names: Iterable[str]) -> None:
        """Stop these services as the platform does (SIGTERM, they finish in-flight work and leave their groups)."""
        for name in names:
            _terminate(self.all[name])

    @property
    def dsn(self) -> str:
        return self.platform.postgres.dsn

    @property
    def bootstrap(self) -> str:
        return self.platform.broker.bootstrap_servers

    def url(self, name: str) -> str:
        return self.all[name].url

    def pids(self) -> dict[str, int]:
        """The running services' process ids, replicas under their labels ("intake#2")."""
        running = {**self.all, **self.replicas}
        return {n: s.proc.pid for n, s in running.items() if s.proc is not None and s.proc.poll() is None}

    def postgres_log(self) -> Path:
        return self.platform.postgres.log_path

    def cpu_seconds(self) -> dict[str, float]:
        """CPU used so far by each service, the broker, Postgres (every backend, reaped ones too) and the bench
        process itself (the load generator)."""
        services = {pid: name.split("#")[0] for name, pid in self.pids().items()}  # a replica counts as its service
        me = psutil.Process()
        own = me.cpu_times()
        used: dict[str, float] = {"generator": own.user + own.system}
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cmd = child.cmdline()
                name = services.get(child.pid) or ("kafka" if "kafka.Kafka" in cmd else child.name())
                if name in (*SERVICES, "kafka", "postgres"):
                    t = child.cpu_times()
                    used[name] = used.get(name, 0.0) + t.user + t.system + t.children_user + t.children_system
        return used

    def postgres_processes_cpu(self) -> dict[int, float]:
        """CPU used so far by each live Postgres process (backends and background workers), by pid."""
        used: dict[int, float] = {}
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if child.name() == "postgres":
                    t = child.cpu_times()
                    used[child.pid] = t.user + t.system
        return used

    def stop(self) -> None:
        """Stop everything and delete the data folder."""
        import shutil

        for replica in self.replicas.values():  # the platform does not know them
            with contextlib.suppress(Exception):
                _terminate(replica)
            if replica.listener is not None:
                replica.listener.close()
        with contextlib.suppress(Exception):
            self.platform.shutdown()
        for svc in [*self.all.values(), *self.replicas.values()]:
            if svc.proc is not None and svc.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(svc.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _terminate(svc: Any) -> None:
    """One service process stopped as the platform stops it (SIGTERM, then the grace, then SIGKILL)."""
    from embedded._process import terminate_process

    if svc.proc is not None:
        terminate_process(svc.proc, timeout=15)
        svc.proc = None
