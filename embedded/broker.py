"""Apache Kafka for tests and `make run`: one KRaft node (broker and controller) as our child process.

The server is the one production runs (`apache/kafka` in docker-compose.yml, same version), fetched
from Maven Central by `embedded.kafka_dist`. Its log directory lives in the data folder it is given,
so topics, events and committed offsets survive a stop and a start on the same folder; storage is
formatted only the first time.

It listens only SASL_SSL (SCRAM-SHA-512 over TLS) for clients, and SASL_SSL with PLAIN for its own controller
link; the StandardAuthorizer denies what no ACL allows, and the ACLs are `shared.kafka.principals`'s, granted by
`create_topics`. The CA, the node's certificate and every principal's password are made on first start in its
secrets folder (`embedded.kafka_security`); the SCRAM credentials go into the metadata when storage is formatted
(`kafka-storage format --add-scram`), so the node authenticates from its first second.
"""

from __future__ import annotations

import base64
import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from embedded._process import (
    PORT_ATTEMPTS,
    ChildServer,
    child_preexec,
    find_free_port,
    listens_on,
    log_tail,
    port_accepts,
    port_is_free,
    run_sync,
)
from embedded.kafka_dist import class_archive, ensure_kafka, java_binary
from embedded.kafka_security import BrokerSecrets, ensure_secrets
from shared.kafka.admin import TopicsReport, apply_topics, wait_for_kafka
from shared.kafka.principals import ADMIN, USERS
from shared.kafka.security import KafkaSecuritySettings
from shared.topics import ALL_TOPICS, DEFAULT_PARTITIONS

#: Heap of the embedded node. Kafka's own scripts default to 1 GiB; a development node with a few
#: thousand events per minute stays well under 256 MiB, and the page cache does the real caching.
DEFAULT_HEAP_MB = 512
#: A clean shutdown of a single node (flush, close the logs, write the clean-shutdown marker) takes
#: 1-5 s; past this it is killed, and the next start recovers its logs instead.
STOP_GRACE_S = 30.0
#: The JVM's garbage collector and compiler settings, as Kafka's own scripts set them unless
#: `KAFKA_JVM_PERFORMANCE_OPTS` replaces them (kafka-run-class.sh reads the same variable). `make test` sets it: its
#: dozens of short-lived nodes spend more CPU compiling than running (tests/conftest.py).
DEFAULT_PERFORMANCE_OPTS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")

#: Settings of the single node. docker-compose.yml sets the same ones as KAFKA_* variables (a unit test
#: checks that they agree). Topic settings are not here: they come from shared.topics via apply_topics.
NODE_SETTINGS: dict[str, str] = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "inter.broker.listener.name": "PLAINTEXT",
    # Topics come only from shared/topics.py: a misspelled topic must fail, not appear.
    "auto.create.topics.enable": "false",
    # One node: the internal topics cannot have more copies than that.
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # A group's first member starts at once instead of waiting 3 s for others that are not coming.
    "group.initial.rebalance.delay.ms": "0",
    # The node is its own controller. Restarted after a crash, it is refused registration
    # (DUPLICATE_BROKER_REGISTRATION) until the controller expires the dead incarnation's session: at Kafka's 9 s
    # that wait was most of a restart (12.1 s, against 6.2 s at 4 s). Heartbeats every second (Kafka's 2 s) keep
    # three in a session.
    "broker.session.timeout.ms": "4000",
    "broker.heartbeat.interval.ms": "1000",
}

#: How the node is secured (issue 25), over NODE_SETTINGS' listeners: SASL_SSL everywhere, deny by default. Paths
#: and passwords are added per node by `_write_config`.
SECURITY_SETTINGS: dict[str, str] = {
    "listener.security.protocol.map": "CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL",
    "inter.broker.listener.name": "SASL_SSL",
    # Clients: SCRAM over TLS only. The controller link: PLAIN over TLS (a controller cannot check SCRAM, whose
    # credentials live in the metadata it serves).
    "sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
    "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
    "sasl.mechanism.controller.protocol": "PLAIN",
    # Deny by default: a principal touches only what shared.kafka.principals grants it.
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "false",
    "super.users": f"User:{ADMIN}",
    "ssl.keystore.type": "PEM",
    "ssl.truststore.type": "PEM",
    "ssl.client.auth": "none",
    "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
}


def performance_opts(environ: Mapping[str, str]) -> list[str]:
    """The collector and compiler options: `KAFKA_JVM_PERFORMANCE_OPTS` when set (split as a shell would), else
    Kafka's defaults."""
    given = environ.get("KAFKA_JVM_PERFORMANCE_OPTS", "").strip()
    return shlex.split(given) if given else list(DEFAULT_PERFORMANCE_OPTS)


def node_config(
    *,
    listener: str,
    advertised: str,
    controller: str,
    log_dirs: str,
    keystore: str,
    truststore: str,
    admin_password: str,
    controller_bind: str | None = None,
) -> dict[str, str]:
    """The whole server.properties of a secured single node: NODE_SETTINGS, SECURITY_SETTINGS, its listeners
    (`listener` bound, `advertised` to clients, `controller` the quorum's address, bound at `controller_bind` or
    there), its log folder, its PEM keystore and truststore, and the admin's credentials for its own links.

    The embedded node writes this; `operations.kafka_certificates` writes it for compose's broker, so the two run
    the same settings."""
    return {
        **NODE_SETTINGS,
        **SECURITY_SETTINGS,
        "controller.quorum.voters": f"{NODE_SETTINGS['node.id']}@{controller}",
        "listeners": f"SASL_SSL://{listener},CONTROLLER://{controller_bind or controller}",
        "advertised.listeners": f"SASL_SSL://{advertised}",
        "log.dirs": log_dirs,
        "ssl.keystore.location": keystore,
        "ssl.truststore.location": truststore,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" '
            f'password="{admin_password}";'
        ),
        "listener.name.controller.plain.sasl.jaas.config": (
            f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{ADMIN}" '
            f'password="{admin_password}" user_{ADMIN}="{admin_password}";'
        ),
    }


def scram_arguments(passwords: Mapping[str, str]) -> list[str]:
    """`kafka-storage format`'s `--add-scram` arguments: a SCRAM-SHA-512 credential for every user of
    `shared.kafka.principals` (KeyError naming a user without a password)."""
    return [arg for user in USERS for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={passwords[user]}]")]


_LOG4J2 = """\
status = warn
# Kafka logs its own shutdown from a JVM shutdown hook: log4j's hook must not close the log before that.
shutdownHook = disable
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
# Per-request and per-segment chatter, not news for whoever reads this log.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""


class EmbeddedBrokerError(RuntimeError):
    """The embedded Kafka could not be set up, started, reached or told to create topics."""


class EmbeddedBroker(ChildServer):
    """One Apache Kafka KRaft node on host:port, its data in `data_dir`, run as our child process (the JVM itself, so
    `kill` is a crash: no flush, no clean-shutdown marker)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        *,
        controller_port: int | None = None,
        heap_mb: int = DEFAULT_HEAP_MB,
        die_with_parent: bool = False,
        secrets_dir: Path | None = None,
        record_classes_to: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        #: Where the JVMs write the classes they loaded, at exit (`embedded.kafka_dist.record_class_archive`); a
        #: node that records does not read the archive it would replace.
        self.record_classes_to = record_classes_to
        #: CA, certificate and passwords: `<data_dir>/security` unless shared with other brokers (a test session).
        self.secrets_dir = Path(secrets_dir).expanduser().resolve() if secrets_dir else self.data_dir / "security"
        self.host = host
        self.log_path = Path(log_path).expanduser().resolve() if log_path else self.data_dir / "kafka.log"
        self.heap_mb = heap_mb
        self.die_with_parent = die_with_parent
        self._port = port
        self._controller_port = controller_port
        #: When a launched node must answer by (`launch`, `wait_started`).
        self._deadline = 0.0
        #: The ports this launch chose itself (attribute names): the ones changed when the node loses its port race.
        self._chosen: set[str] = set()
        self._attempt = 0
        self._java: tuple[Path, Path] | None = None

    # -- public API ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Client port; picked on first `start()` when none was given, then kept across restarts."""
        if self._port is None:
            raise EmbeddedBrokerError("port is chosen on start(); the broker has not been started")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """Value for KAFKA_BOOTSTRAP_SERVERS / aiokafka's bootstrap_servers."""
        return f"{self.host}:{self.port}"

    @property
    def secrets(self) -> BrokerSecrets:
        """The CA, the node's certificate and the principals' passwords (made on first use)."""
        return ensure_secrets(self.secrets_dir, hosts=(self.host, "localhost"))

    def client_security(self, principal: str = ADMIN) -> KafkaSecuritySettings:
        """Client settings authenticating as `principal` (`shared.kafka.principals`), trusting this node's CA."""
        return self.secrets.client(principal)

    @property
    def log_dirs(self) -> Path:
        """Kafka's `log.dirs`: the topics' partitions and the cluster metadata."""
        return self.data_dir / "data"

    def start(self, timeout: float = 90.0) -> None:
        """Format storage on first use, start the node and wait until it answers metadata requests."""
        self.launch(timeout)
        self.wait_started()

    def launch(self, timeout: float = 90.0) -> None:
        """The first half of `start`: format storage on first use and spawn the node, without waiting for it. Call
        it from the thread that lives as long as the node's supervisor (the node is asked to die with the thread
        that spawned it); `wait_started` may then run in any thread."""
        self._deadline = time.monotonic() + timeout
        if self.is_running():
            return
        self.stop()  # reap a crashed earlier run of ours and close its log file
        try:
            libs, java = ensure_kafka(), java_binary()  # the first fetch may take a while: not timed
        except RuntimeError as exc:
            raise EmbeddedBrokerError(str(exc)) from exc
        self._deadline = time.monotonic() + timeout  # the first fetch above is not timed
        self._chosen, self._attempt, self._java = set(), 1, (java, libs)
        self._pick_ports()
        config = self._write_config()
        if not (self.log_dirs / "meta.properties").is_file():
            self._format(java, libs, config)
        self._check_users()
        self._launch(java, libs, config)

    def wait_started(self) -> None:
        """The second half of `start`: wait until the launched node answers metadata requests (stopped if not).

        A node that lost the race for a port this launch chose (another process bound it first: a BindException,
        "Address already in use") is launched again on new ones, up to PORT_ATTEMPTS times in all.
        """
        try:
            while not self._await_listening(self._deadline):
                self._launch_again()
            self._wait_ready(self._deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        """SIGTERM (Kafka's controlled shutdown), SIGKILL if it has not exited after `timeout`."""
        self._stop_child(sig=signal.SIGTERM, timeout=timeout, group=True)

    def restart(self, timeout: float = 90.0) -> None:
        """Stop and start again on the same ports and data: every topic and record is still there."""
        self.stop()
        self.start(timeout=timeout)

    def create_topics(
        self,
        names: Iterable[str] = ALL_TOPICS,
        partitions: int = DEFAULT_PARTITIONS,
        *,
        timeout: float = 60.0,
    ) -> TopicsReport:
        """Apply the declared topics (see `shared.kafka.admin.apply_topics`); idempotent."""
        wanted, admin = list(names), self.client_security()
        return run_sync(
            lambda: apply_topics(self.bootstrap_servers, wanted, partitions, wait_seconds=timeout, security=admin)
        )

    async def acreate_topics(
        self,
        names: Iterable[str] = ALL_TOPICS,
        partitions: int = DEFAULT_PARTITIONS,
        *,
        wait_seconds: float = 60.0,
    ) -> TopicsReport:
        """`create_topics` for async callers (e.g. inside an async test)."""
        return await apply_topics(
            self.bootstrap_servers, list(names), partitions, wait_seconds=wait_seconds, security=self.client_security()
        )

    def __repr__(self) -> str:
        return f"EmbeddedBroker(data_dir={self.data_dir}, port={self._port}, running={self.is_running()})"

    # -- internals -------------------------------------------------------------------------

    def _choose_port(self) -> int:
        """A port free right now; the node binds it seconds later (`wait_started` copes with losing it meanwhile)."""
        return find_free_port(self.host)

    def _pick_ports(self) -> None:
        """Keep the ports of an earlier start; otherwise take the given ones (if free) or free ones."""
        for attr in ("_port", "_controller_port"):
            port = getattr(self, attr)
            if port is None or attr in self._chosen:
                taken = {self._port, self._controller_port}
                port = self._choose_port()
                while port in taken:
                    port = self._choose_port()
                setattr(self, attr, port)
                self._chosen.add(attr)
            elif not port_is_free(port, self.host):
                raise EmbeddedBrokerError(f"port {self.host}:{port} is already in use")

    def _launch_again(self) -> None:
        """After a lost port race: the ports this launch chose replaced, the node spawned again (from the lasting
        thread: `wait_started` may run in a thread that ends before the node)."""
        assert self._java is not None
        self._stop_child(sig=signal.SIGTERM, timeout=STOP_GRACE_S, group=True)  # reap it, close its log
        self._attempt += 1
        self._pick_ports()
        java, libs = self._java
        self._launch(java, libs, self._write_config(), lasting=True)

    def _write_config(self) -> Path:
        """server.properties and log4j2.properties in data_dir, rewritten each start (ports may change)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        controller = f"{self.host}:{self._controller_port}"
        secrets = self.secrets
        settings = node_config(
            listener=self.bootstrap_servers,
            advertised=self.bootstrap_servers,
            controller=controller,
            log_dirs=str(self.log_dirs),
            keystore=str(secrets.keystore_file),
            truststore=str(secrets.ca_file),
            admin_password=secrets.passwords[ADMIN],
        )
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
        config.chmod(0o600)  # the admin's password is in it
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2, encoding="utf-8")
        return config

    def _java_command(self, java: Path, libs: Path, main: str) -> list[str]:
        return [
            str(java),
            f"-Xms{min(256, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            *performance_opts(os.environ),
            *self._class_sharing(libs),
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            f"{libs}/*",
            main,
        ]

    def _class_sharing(self, libs: Path) -> list[str]:
        """Record the loaded classes, or map the recorded archive: a node's start 5.7 -> 3.9 CPU-s (client
        compiler) or 9.7 -> 6.2 (Kafka's defaults), measured. A Java other than the recording one ignores the
        archive and loads its classes as usual."""
        if self.record_classes_to is not None:
            return [f"-XX:ArchiveClassesAtExit={self.record_classes_to}"]
        archive = class_archive(libs)
        return [f"-XX:SharedArchiveFile={archive}"] if archive.is_file() else []

    def _format(self, java: Path, libs: Path, config: Path) -> None:
        """`kafka-storage.sh format` for a new node: a fresh cluster id, the metadata log bootstrapped."""
        # Base64url of a UUID, as kafka-storage.sh random-uuid makes; never with a leading "-", which the tool
        # would take for an option.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=").replace("-", "_")
        scram = scram_arguments(self.secrets.passwords)
        done = subprocess.run(  # noqa: S603 - our java and Kafka's storage tool
            [
                *self._java_command(java, libs, "kafka.tools.StorageTool"),
                *("format", "-t", cluster_id, "-c", str(config), *scram),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise EmbeddedBrokerError(
                f"formatting Kafka storage in {self.log_dirs} failed:\n{done.stdout}{done.stderr}"
            )
        self._users_file.write_text("\n".join(USERS) + "\n", encoding="utf-8")

    @property
    def _users_file(self) -> Path:
        """The SCRAM users the storage was formatted with (credentials live in the metadata, out of our sight)."""
        return self.data_dir / "scram-users.txt"

    def _check_users(self) -> None:
        """Refuse a data folder whose metadata lacks a principal's credentials: formatted before Kafka was secured
        (issue 25) or before the principal joined `shared.kafka.principals`. Clients would only see refusals."""
        known = set(self._users_file.read_text(encoding="utf-8").split()) if self._users_file.is_file() else set()
        missing = [user for user in USERS if user not in known]
        if missing:
            raise EmbeddedBrokerError(
                f"the Kafka storage in {self.log_dirs} has no SCRAM credentials for {missing} (formatted before "
                "SASL/SCRAM, or before these principals were added): delete that folder to format it again (its "
                "topics and events go with it), or add them with kafka-configs --alter --add-config "
                "'SCRAM-SHA-512=[password=…]' --entity-type users as the admin and list them in "
                f"{self._users_file.name}"
            )

    def _launch(self, java: Path, libs: Path, config: Path, *, lasting: bool = False) -> None:
        """Start `kafka.Kafka` in its own session, so a terminal Ctrl-C reaches only our supervisor."""
        self._spawn(
            [*self._java_command(java, libs, "kafka.Kafka"), str(config)],
            lasting=lasting,
            preexec_fn=child_preexec(signal.SIGTERM if self.die_with_parent else None),
        )

    def _await_listening(self, deadline: float) -> bool:
        """Until our node itself listens on the client port (not whoever may have taken it): True. False when it
        exited having lost the race for a port this launch chose and may try another."""
        while not (  # a cheap TCP poll first; then, once, whose listener answered
            self._proc is not None
            and port_accepts(self.port, self.host, timeout=0.2)
            and listens_on(self._proc.pid, self.port)
        ):
            if self._chosen and self._attempt < PORT_ATTEMPTS and self.lost_port_race():
                return False
            self._fail_if_exited()
            if time.monotonic() > deadline:
                raise EmbeddedBrokerError(f"Kafka not listening on {self.bootstrap_servers} in time")
            time.sleep(0.05)
        return True

    def _wait_ready(self, deadline: float) -> None:
        """Confirm with a real Kafka metadata request, once our node listens."""
        admin = self.client_security()
        run_sync(lambda: wait_for_kafka(self.bootstrap_servers, deadline, admin))
        self._fail_if_exited()

    def _fail_if_exited(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            code = None if self._proc is None else self._proc.returncode
            raise EmbeddedBrokerError(
                f"Kafka exited during startup (exit {code}); log {self.log_path}:\n{log_tail(self.log_path)}"
            )
