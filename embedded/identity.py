"""Keycloak for tests and `make run`: the reference OpenID Connect provider, one node as our child process.

The server comes from Maven Central (`embedded.keycloak_dist`: fetched, built once for `start --optimized`, with
an ahead-of-time class cache on Java 25+). Each instance's state (H2 database, import folder) lives in the data
folder it is given, so users, sessions and signing keys survive a stop and a start on the same folder. The realm
(`embedded.demo_realm`) is imported on the first start; later starts keep it, unless the realm the caller hands over
has changed since (say, a new person in staff.csv), when the instance starts afresh with the new one.

HTTP only, bound to 127.0.0.1: a development and test provider. A utility points the services at its own
provider with `OIDC_ISSUER` instead.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from embedded._process import PORT_ATTEMPTS, ChildServer, child_preexec, find_free_port, log_tail, port_is_free
from embedded.demo_realm import AUDIENCE, REALM, write_realm
from embedded.keycloak_dist import (
    KeycloakDistError,
    aot_cache,
    ensure_keycloak,
    java_for_keycloak,
    jvm_options,
    kc_environment,
    prepare_home,
    start_arguments,
    wait_for_discovery,
)

#: A clean stop takes well under a second; past this it is killed (H2 recovers its file on the next start).
STOP_GRACE_S = 20.0
#: First start on a loaded 2-core machine (database schema, master realm, our realm's import) stays under a
#: minute; the rest is margin for a cold disk.
DEFAULT_START_TIMEOUT_S = 180.0
_IMPORTED = ".imported-sha256"


class EmbeddedKeycloakError(RuntimeError):
    """The embedded Keycloak could not be set up, started or reached."""


class EmbeddedKeycloak(ChildServer):
    """One Keycloak node on host:port serving `realm`, its state in `data_dir`, run as our child process (kc.sh,
    whose child is the JVM)."""

    def __init__(
        self,
        data_dir: Path,
        realm: dict[str, Any],
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        *,
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.realm = realm
        self.host = host
        self.log_path = Path(log_path).expanduser().resolve() if log_path else self.data_dir / "keycloak.log"
        self.die_with_parent = die_with_parent
        self._port = port
        self._import_digest: str | None = None
        #: True when this launch chose the port itself: only such a port is replaced after a lost race.
        self._chosen = False
        self._attempt = 0
        #: True when the last launch replaced an older realm (its database was dropped and the realm imported).
        self.reimported = False

    # -- public API ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """HTTP port; picked on the first launch when none was given, then kept across restarts."""
        if self._port is None:
            raise EmbeddedKeycloakError("port is chosen on start(); Keycloak has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """The server's root URL (the admin console is at /admin, though no admin user exists)."""
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        """The realm's issuer: OIDC_ISSUER for the services, `iss` of every token."""
        return f"{self.base_url}/realms/{self.realm.get('realm', REALM)}"

    @property
    def audience(self) -> str:
        """The audience the services accept (every token of the realm's clients carries it)."""
        return AUDIENCE

    def start(self, timeout: float = DEFAULT_START_TIMEOUT_S) -> None:
        """Launch and wait until the realm's discovery document answers."""
        self.launch()
        self.wait_ready(time.monotonic() + timeout)

    def launch(self) -> None:
        """Start the process without waiting, so a caller can start other things meanwhile (see `wait_ready`).

        The first fetch and build of the distribution happen here, before any timing starts.
        """
        if self.is_running():
            return
        self.stop()  # reap a crashed earlier run of ours and close its log file
        try:
            dist = ensure_keycloak(aot=False)
            java, major = java_for_keycloak()
        except KeycloakDistError as exc:
            raise EmbeddedKeycloakError(str(exc)) from exc
        self._chosen, self._attempt = self._port is None, 1
        self._pick_port()
        prepare_home(self.data_dir, dist)
        self._write_realm()
        self._spawn_server(dist, java, major)

    def wait_ready(self, deadline: float) -> None:
        """Poll the discovery document until `deadline` (monotonic); stop the process and raise if it fails.

        A server that lost the race for the port its launch chose (another process bound it first: Quarkus'
        "Port(s) already bound ... Address already in use") is launched again on another, up to PORT_ATTEMPTS times
        in all. Its issuer then names the new port: read `issuer` after this returns.
        """
        if self._proc is None:
            raise EmbeddedKeycloakError("Keycloak was not launched")
        try:
            document = self._await_discovery(deadline)
            if document.get("issuer") != self.issuer:  # someone else answered on our port
                raise EmbeddedKeycloakError(f"{self.base_url} answered with issuer {document.get('issuer')!r}")
        except (KeycloakDistError, EmbeddedKeycloakError) as exc:
            self.stop()
            raise EmbeddedKeycloakError(f"{exc}; log {self.log_path}:\n{log_tail(self.log_path)}") from exc
        except BaseException:
            self.stop()
            raise
        if self._import_digest is not None:
            (self._import_dir / _IMPORTED).write_text(self._import_digest, encoding="utf-8")
            self._import_digest = None

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        """SIGTERM (Keycloak's graceful shutdown), SIGKILL if it has not exited after `timeout`."""
        self._stop_child(sig=signal.SIGTERM, timeout=timeout, group=True)

    def restart(self, timeout: float = DEFAULT_START_TIMEOUT_S) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start(timeout=timeout)

    def __repr__(self) -> str:
        return f"EmbeddedKeycloak(data_dir={self.data_dir}, port={self._port}, running={self.is_running()})"

    # -- internals -------------------------------------------------------------------------

    @property
    def _import_dir(self) -> Path:
        return self.data_dir / "data" / "import"

    def _spawn_server(self, dist: Path, java: Path, major: int, *, lasting: bool = False) -> None:
        self._spawn(
            [str(dist / "bin" / "kc.sh"), *start_arguments(self.data_dir, self.port, host=self.host)],
            lasting=lasting,
            env=kc_environment(java, jvm_options(major, aot=aot_cache(dist))),
            cwd=self.data_dir,
            preexec_fn=child_preexec(signal.SIGTERM if self.die_with_parent else None),
        )

    def _await_discovery(self, deadline: float) -> dict[str, object]:
        """The realm's discovery document, the server launched again on a new port after each lost port race."""
        while True:
            assert self._proc is not None
            try:
                return wait_for_discovery(
                    f"{self.base_url}/realms/{self.realm.get('realm', REALM)}", self._proc, deadline
                )
            except KeycloakDistError:
                if not (self._chosen and self._attempt < PORT_ATTEMPTS and self.lost_port_race()):
                    raise
            self._launch_again()

    def _launch_again(self) -> None:
        """After a lost port race: a new port, the realm written again (the failed start may have begun importing
        it) and the server spawned from the lasting thread (`wait_ready` may run in a thread that ends first)."""
        self._stop_child(sig=signal.SIGTERM, timeout=STOP_GRACE_S, group=True)
        self._attempt += 1
        self._port = self._choose_port()
        reimported = self.reimported
        self._write_realm()
        self.reimported = reimported  # what the caller was told at launch stays true
        java, major = java_for_keycloak()
        self._spawn_server(ensure_keycloak(aot=False), java, major, lasting=True)

    def _choose_port(self) -> int:
        """A port free right now; the server binds it only at the end of its start (`wait_ready` copes with losing
        it meanwhile)."""
        return find_free_port(self.host)

    def _pick_port(self) -> None:
        if self._port is None:
            self._port = self._choose_port()
        elif not port_is_free(self._port, self.host):
            raise EmbeddedKeycloakError(f"port {self.host}:{self._port} is already in use")

    def _write_realm(self) -> None:
        """Put the realm where `--import-realm` reads it, and make sure the server will serve exactly that realm.

        Keycloak's start-up import skips a realm that exists and has no "overwrite" for it. So when the realm we
        hand over differs from the one imported last (say, a person added to staff.csv), the instance's database
        is dropped and the realm imported afresh: the directory, not Keycloak, is where staff are kept, and the
        only state lost is sign-in sessions and signing keys.
        """
        digest = hashlib.sha256(json.dumps(self.realm, sort_keys=True).encode()).hexdigest()
        write_realm(self._import_dir, self.realm)
        previous = self._import_dir / _IMPORTED
        if previous.is_file() and previous.read_text(encoding="utf-8") == digest:
            self.reimported = False
            return
        database = self.data_dir / "data" / "h2"
        self.reimported = database.exists()
        shutil.rmtree(database, ignore_errors=True)
        shutil.rmtree(self.data_dir / "data" / "transaction-logs", ignore_errors=True)
        previous.unlink(missing_ok=True)
        self._import_digest = digest
